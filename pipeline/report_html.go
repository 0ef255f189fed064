package pipeline

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"time"

	"github.com/pipe-ml/pipe/internal/svgplot"
	"github.com/pipe-ml/pipe/internal/units"
)

// HistogramReport is a histogram of a run: Counts[i] observations were at
// most UpperBounds[i] (and above the bound before). Only the buckets from
// the first to the last that holds an observation are kept.
type HistogramReport struct {
	UpperBounds []float64 `json:"upper_bounds"`
	Counts      []int64   `json:"counts"`
}

// histogramReport trims h to its used buckets; nil when h is empty.
func histogramReport(h *Histogram) *HistogramReport {
	upper, counts, total, _ := h.Snapshot()
	if total == 0 {
		return nil
	}
	lo, hi := 0, len(counts)-1
	for counts[lo] == 0 {
		lo++
	}
	for counts[hi] == 0 {
		hi--
	}
	return &HistogramReport{UpperBounds: append([]float64{}, upper[lo:hi+1]...), Counts: append([]int64{}, counts[lo:hi+1]...)}
}

// WriteHTML writes the run report as a self-contained page (inline SVG, no
// scripts, no network): throughput over time per stage, where each stage's
// time went, batch size and latency histograms per model stage, the work
// units' timeline and the table. Charts are svg elements of class "chart
// throughput", "chart time", "chart batch-sizes", "chart latency" (with a
// data-stage attribute) and "chart units".
func (r *Report) WriteHTML(w io.Writer) error {
	bw := bufio.NewWriter(w)
	e := html.EscapeString
	fmt.Fprintf(bw, `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<title>pipe run: %s</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { padding: 0.2em 0.8em; border-bottom: 1px solid #ddd; text-align: right; }
td:first-child, th:first-child { text-align: left; }
.failed, .interrupted { color: #b71c1c; }
svg { display: block; margin: 1em 0; }
svg text { font-size: 12px; }
</style>
</head>
<body>
<h1>pipe run: %s</h1>
<p>Job file <code>%s</code>: <strong class="%s">%s</strong> in %s, started %s; pipe %s, %s, %s/%s.</p>
`, e(r.Job), e(r.Job), e(r.File), e(r.Status), e(r.Status), e(units.Seconds(r.Seconds)),
		e(r.Started.UTC().Format(time.RFC3339)), e(r.Versions.Pipe), e(r.Versions.Go), e(r.Versions.OS), e(r.Versions.Arch))
	if r.Error != "" {
		fmt.Fprintf(bw, "<p class=\"error\">Error: <code>%s</code></p>\n", e(r.Error))
	}
	bw.WriteString("<h2>Throughput over time</h2>\n")
	r.throughputChart().Write(bw)
	bw.WriteString("<h2>Where time went</h2>\n<p>Per stage: time in its own calls (busy), waiting for input from upstream and waiting for downstream to take its output. The stage that is busy while the others wait is the bottleneck. Busy time is summed over instances running at once.</p>\n")
	r.timeChart().Write(bw)
	r.writeModelCharts(bw)
	bw.WriteString("<h2>Work units</h2>\n")
	r.unitsChart().Write(bw)
	r.writeHTMLTable(bw)
	bw.WriteString("</body>\n</html>\n")
	return bw.Flush()
}

// throughputChart plots each stage's rows per second over the run.
func (r *Report) throughputChart() *svgplot.LineChart {
	c := &svgplot.LineChart{Class: "throughput", Title: "rows/s per stage over time", XLabel: "seconds since start", YLabel: "rows/s"}
	if r.Series == nil {
		return c
	}
	for _, s := range r.Series.Stages {
		c.Series = append(c.Series, svgplot.Series{Name: s.ID, X: r.Series.TSeconds, Y: s.RowsPerSecond})
	}
	return c
}

// timeChart draws busy and waiting times per stage.
func (r *Report) timeChart() *svgplot.StackedBars {
	c := &svgplot.StackedBars{Class: "time", Title: "where time went, per stage", Unit: "seconds",
		Parts: []string{"busy", "waiting for input", "waiting for output"}, Colors: []string{"#d62728", "#9e9e9e", "#ffb74d"}}
	for _, s := range r.Stages {
		c.Rows = append(c.Rows, svgplot.BarRow{Label: s.ID, Values: []float64{s.BusySeconds, s.BlockedInSeconds, s.BlockedSeconds}})
	}
	return c
}

// writeModelCharts draws the batch size and latency histograms of every
// model stage.
func (r *Report) writeModelCharts(w io.Writer) {
	for _, s := range r.Stages {
		if s.BatchSizes == nil && s.BatchLatencies == nil {
			continue
		}
		fmt.Fprintf(w, "<h2>Model stage %s</h2>\n", html.EscapeString(s.ID))
		attrs := [][2]string{{"data-stage", s.ID}}
		sizes := &svgplot.Histogram{Class: "batch-sizes", Title: s.ID + ": rows per batch", XLabel: "rows per batch (at most)", Attrs: attrs}
		if h := s.BatchSizes; h != nil {
			for i, c := range h.Counts {
				sizes.Bins = append(sizes.Bins, svgplot.Bin{Label: fmt.Sprintf("≤%.0f", h.UpperBounds[i]), Count: c})
			}
		}
		sizes.Write(w)
		lat := &svgplot.Histogram{Class: "latency", Title: s.ID + ": batch latency", XLabel: "batch latency (at most)", Attrs: attrs}
		if h := s.BatchLatencies; h != nil {
			for i, c := range h.Counts {
				lat.Bins = append(lat.Bins, svgplot.Bin{Label: "≤" + units.Seconds(h.UpperBounds[i]), Count: c})
			}
		}
		lat.Write(w)
	}
}

// unitsChart draws when each work unit's pass ran.
func (r *Report) unitsChart() *svgplot.Timeline {
	c := &svgplot.Timeline{Class: "units", Title: "work units: one lane per pass", XLabel: "seconds since start"}
	for i, s := range r.Timeline {
		c.Spans = append(c.Spans, svgplot.Span{Lane: i, Label: fmt.Sprintf("unit %d (%s), %s", s.Unit, s.Key, s.Status),
			Start: s.StartSeconds, End: s.EndSeconds, Failed: s.Status != "committed"})
	}
	return c
}

// writeHTMLTable writes the per-stage table.
func (r *Report) writeHTMLTable(w io.Writer) {
	e := html.EscapeString
	io.WriteString(w, "<h2>Stages</h2>\n<table>\n<tr><th>stage</th><th>type</th><th>rows in</th><th>rows out</th><th>bytes out</th><th>busy</th><th>wait in</th><th>wait out</th><th>rows/s</th></tr>\n")
	for _, s := range r.Stages {
		fmt.Fprintf(w, "<tr><td>%s</td><td>%s</td><td>%d</td><td>%d</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
			e(s.ID), e(s.Type), s.RowsIn, s.RowsOut, e(humanBytes(s.BytesOut)), e(roundDur(s.BusySeconds)),
			e(roundDur(s.BlockedInSeconds)), e(roundDur(s.BlockedSeconds)), e(humanRate(s.RowsPerSecond)))
	}
	io.WriteString(w, "</table>\n")
}
