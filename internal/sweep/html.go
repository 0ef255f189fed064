package sweep

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/pipe-ml/pipe/internal/units"
)

// Chart geometry, in SVG user units.
const (
	chartW, chartH = 640, 320
	padL, padR     = 70, 160
	padT, padB     = 30, 45
)

var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}

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
`, e(r.Job), e(r.Stage), e(r.Job), e(r.Stage), e(r.Model), r.Rows, r.Warmup, r.Repeats)
	if best, ok := r.Best(); ok {
		fmt.Fprintf(bw, "<p>Best: <strong>%s</strong>, %s rows/s (spread %s).</p>\n", e(best.Combination.String()), units.Rate(best.RowsPerSecond, kilo), e(spread(best)))
	}
	for _, backend := range r.backends() {
		ss := r.series(backend)
		fmt.Fprintf(bw, "<h2>Backend %s</h2>\n", e(backend))
		writeChart(bw, "throughput", backend, "rows/s against batch size", "rows/s", ss,
			func(x Result) (float64, float64, float64) { return x.RowsPerSecond, x.Min, x.Max }, false)
		writeChart(bw, "latency", backend, "batch latency p50 (solid) and p99 (dashed) against batch size", "ms", ss,
			func(x Result) (float64, float64, float64) { return x.P50 * 1e3, x.P99 * 1e3, -1 }, true)
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

// writeChart draws one chart. value returns the plotted value and either
// a whisker range (lo, hi) or, for latency charts (second=true), a second
// line's value in lo.
func writeChart(w *bufio.Writer, class, backend, title, unit string, ss []series, value func(Result) (v, lo, hi float64), second bool) {
	e := html.EscapeString
	var batches []int
	ymax := 0.0
	for _, s := range ss {
		for _, p := range s.points {
			if !slices.Contains(batches, p.Batch) {
				batches = append(batches, p.Batch)
			}
			v, lo, hi := value(p)
			ymax = math.Max(ymax, math.Max(v, math.Max(lo, hi)))
		}
	}
	slices.Sort(batches)
	if ymax <= 0 {
		ymax = 1
	}
	ymax = niceCeil(ymax)
	plotW, plotH := float64(chartW-padL-padR), float64(chartH-padT-padB)
	x := func(batch int) float64 {
		i := slices.Index(batches, batch)
		if len(batches) == 1 {
			return padL + plotW/2
		}
		return padL + plotW*float64(i)/float64(len(batches)-1)
	}
	y := func(v float64) float64 { return padT + plotH*(1-v/ymax) }

	fmt.Fprintf(w, `<svg class="chart %s" data-backend="%s" xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">
<title>%s: %s</title>
<text x="%d" y="18" font-weight="bold">%s</text>
`, class, e(backend), chartW, chartH, chartW, chartH, e(backend), e(title), padL, e(title))
	// Axes, grid and ticks.
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", padL, padT, padL, chartH-padB)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", padL, chartH-padB, chartW-padR, chartH-padB)
	for i := 0; i <= 4; i++ {
		v := ymax * float64(i) / 4
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, y(v), chartW-padR, y(v), padL-6, y(v)+4, e(axisLabel(v)))
	}
	for _, b := range batches {
		fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(b), chartH-padB+16, b)
	}
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">batch size (rows)</text>`+"\n", padL+plotW/2, chartH-8)
	fmt.Fprintf(w, `<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`+"\n", padT+plotH/2, padT+plotH/2, e(unit))
	for i, s := range ss {
		color := palette[i%len(palette)]
		var main, other []string
		for _, p := range s.points {
			v, lo, hi := value(p)
			main = append(main, fmt.Sprintf("%.1f,%.1f", x(p.Batch), y(v)))
			if second {
				other = append(other, fmt.Sprintf("%.1f,%.1f", x(p.Batch), y(lo)))
			} else if hi >= 0 {
				fmt.Fprintf(w, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x(p.Batch), y(lo), x(p.Batch), y(hi), color)
			}
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s batch %d: %s %s</title></circle>`+"\n",
				x(p.Batch), y(v), color, e(s.name), p.Batch, e(axisLabel(v)), e(unit))
		}
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", color, strings.Join(main, " "))
		if second {
			fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="2" stroke-dasharray="5,4" points="%s"/>`+"\n", color, strings.Join(other, " "))
		}
		ly := padT + 14*i
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
			chartW-padR+10, ly, color, chartW-padR+24, ly+9, e(s.name))
	}
	w.WriteString("</svg>\n")
}

// niceCeil rounds v up to 1, 2 or 5 times a power of ten.
func niceCeil(v float64) float64 {
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

func axisLabel(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}
