package sweep

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"slices"
	"strconv"

	"github.com/pipe-ml/pipe/internal/svgplot"
	"github.com/pipe-ml/pipe/internal/units"
)

// series is one line of a chart: the results of one (instances, threads)
// pair on one backend, by batch size.
type series struct {
	name   string
	points []Result // sorted by batch size
}

// WriteHTML writes a self-contained page (no scripts, no network) with,
// for every backend swept, a chart of rows/s against batch size (one line
// per instances and threads pair, whiskers for the min-max spread) and a
// chart of latency p50 and p99 against batch size, followed by the table.
// Charts are inline SVG elements of class "chart throughput" and "chart
// latency" with a data-backend attribute.
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	e := html.EscapeString
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>pipe bench: %s, stage %s</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
tr.best { background: #e8f5e9; font-weight: bold; }
svg { display: block; margin: 1em 0; }
svg text { font-size: 12px; }
</style>
</head>
<body>
<h1>pipe bench</h1>
<p>Job <code>%s</code>, stage <code>%s</code> (model <code>%s</code>): %d rows, %d warm-up and %d measured runs per combination.</p>
<p class="machine">Machine: %s.</p>
`, e(r.Job), e(r.Stage), e(r.Job), e(r.Stage), e(r.Model), r.Rows, r.Warmup, r.Repeats, e(r.machine()))
	if best, ok := r.Best(); ok {
		fmt.Fprintf(bw, "<p>Best: <strong>%s</strong>, %s rows/s (spread %s).</p>\n", e(best.Combination.String()), units.Rate(best.RowsPerSecond, kilo), e(spread(best)))
	}
	for _, backend := range r.backends() {
		ss := r.series(backend)
		fmt.Fprintf(bw, "<h2>Backend %s</h2>\n", e(backend))
		throughputChart(backend, ss).Write(bw)
		latencyChart(backend, ss).Write(bw)
	}
	bw.WriteString("<h2>All combinations</h2>\n<table>\n<tr><th>backend</th><th>batch</th><th>instances</th><th>threads</th><th>rows/s</th><th>spread</th><th>p50</th><th>p99</th><th></th></tr>\n")
	for _, x := range r.Results {
		class, note := "", x.Error
		if x.Best {
			class, note = ` class="best"`, "best"
		} else if x.WithinNoise {
			note = "within noise of best"
		}
		if x.Error != "" {
			fmt.Fprintf(bw, "<tr%s><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>-</td><td>-</td><td>-</td><td>-</td><td>%s</td></tr>\n",
				class, e(x.Backend), x.Batch, x.Instances, x.Threads, e(note))
			continue
		}
		fmt.Fprintf(bw, "<tr%s><td>%s</td><td>%d</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			class, e(x.Backend), x.Batch, x.Instances, x.Threads, units.Rate(x.RowsPerSecond, kilo), e(spread(x)), units.Seconds(x.P50), units.Seconds(x.P99), e(note))
	}
	bw.WriteString("</table>\n</body>\n</html>\n")
	return bw.Flush()
}

// backends lists the swept backends in the order first seen.
func (r *Report) backends() []string {
	var out []string
	for _, x := range r.Results {
		if !slices.Contains(out, x.Backend) {
			out = append(out, x.Backend)
		}
	}
	return out
}

// series groups a backend's measured results by (instances, threads).
func (r *Report) series(backend string) []series {
	var out []series
	idx := map[string]int{}
	for _, x := range r.Results {
		if x.Backend != backend || x.Error != "" || x.Repeats == 0 {
			continue
		}
		name := fmt.Sprintf("instances %d, threads %d", x.Instances, x.Threads)
		i, ok := idx[name]
		if !ok {
			i = len(out)
			idx[name] = i
			out = append(out, series{name: name})
		}
		out[i].points = append(out[i].points, x)
	}
	for i := range out {
		slices.SortFunc(out[i].points, func(a, b Result) int { return a.Batch - b.Batch })
	}
	return out
}

// batchTicks labels the x axis of a backend's charts: its batch sizes,
// evenly spaced (x is the size's index).
func batchTicks(ss []series) ([]int, []svgplot.Tick) {
	var batches []int
	for _, s := range ss {
		for _, p := range s.points {
			if !slices.Contains(batches, p.Batch) {
				batches = append(batches, p.Batch)
			}
		}
	}
	slices.Sort(batches)
	ticks := make([]svgplot.Tick, len(batches))
	for i, b := range batches {
		ticks[i] = svgplot.Tick{At: float64(i), Label: strconv.Itoa(b)}
	}
	return batches, ticks
}

// throughputChart plots rows/s against batch size, one line per
// (instances, threads) with whiskers for the min-max spread.
func throughputChart(backend string, ss []series) *svgplot.LineChart {
	batches, ticks := batchTicks(ss)
	c := &svgplot.LineChart{Class: "throughput", Title: "rows/s against batch size", XLabel: "batch size (rows)", YLabel: "rows/s",
		Attrs: [][2]string{{"data-backend", backend}}, XTicks: ticks}
	for _, s := range ss {
		var l svgplot.Series
		l.Name = s.name
		for _, p := range s.points {
			l.X = append(l.X, float64(slices.Index(batches, p.Batch)))
			l.Y, l.Lo, l.Hi = append(l.Y, p.RowsPerSecond), append(l.Lo, p.Min), append(l.Hi, p.Max)
		}
		c.Series = append(c.Series, l)
	}
	return c
}

// latencyChart plots latency p50 (solid) and p99 (dashed) against batch
// size on a log scale, so that small latencies stay visible beside large
// ones.
func latencyChart(backend string, ss []series) *svgplot.LineChart {
	batches, ticks := batchTicks(ss)
	c := &svgplot.LineChart{Class: "latency", Title: "batch latency p50 (solid) and p99 (dashed) against batch size, log scale",
		XLabel: "batch size (rows)", YLabel: "ms (log scale)", Attrs: [][2]string{{"data-backend", backend}}, XTicks: ticks, LogY: true}
	for i, s := range ss {
		p50 := svgplot.Series{Name: s.name + " p50", Color: svgplot.Palette(i)}
		p99 := svgplot.Series{Name: s.name + " p99", Color: svgplot.Palette(i), Dashed: true}
		for _, p := range s.points {
			x := float64(slices.Index(batches, p.Batch))
			p50.X, p50.Y = append(p50.X, x), append(p50.Y, p.P50*1e3)
			p99.X, p99.Y = append(p99.X, x), append(p99.Y, p.P99*1e3)
		}
		c.Series = append(c.Series, p50, p99)
	}
	return c
}

// machine names the machine, "unknown" for reports written before it was
// recorded.
func (r *Report) machine() string {
	if r.Machine == "" {
		return "unknown"
	}
	return r.Machine
}
