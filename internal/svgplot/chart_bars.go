package svgplot

import (
	"bufio"
	"fmt"
	"io"
	"math"
)

// StackedBars draws one horizontal bar per row, split into parts (busy,
// waiting for input, waiting for output): where each row's time went.
// Segments are <rect class="segment"> elements.
type StackedBars struct {
	Class, Title, Unit string
	// Parts name the segments of every bar, in order; each has a colour
	// of the palette unless Colors sets it.
	Parts  []string
	Colors []string
	Rows   []BarRow
}

// BarRow is one bar: a label and one value per part.
type BarRow struct {
	Label  string
	Values []float64
}

// Write writes the chart as one svg element.
func (c *StackedBars) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	total := 0.0
	for _, r := range c.Rows {
		sum := 0.0
		for _, v := range r.Values {
			sum += math.Max(v, 0)
		}
		total = math.Max(total, sum)
	}
	xs := linearScale(total, padL+60, width-padR)
	barH := 22.0
	open(bw, c.Class, c.Title, nil, int(padT+10+float64(max(len(c.Rows), len(c.Parts)))*(barH+8)+40))
	for i, r := range c.Rows {
		y := padT + 10 + float64(i)*(barH+8)
		fmt.Fprintf(bw, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", padL+54, y+barH/2+4, esc(r.Label))
		x := 0.0
		for j, v := range r.Values {
			if v <= 0 || j >= len(c.Parts) {
				continue
			}
			x0, x1 := xs.pos(x), xs.pos(x+v)
			fmt.Fprintf(bw, `<rect class="segment" data-part="%s" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s %s: %s %s</title></rect>`+"\n",
				esc(c.Parts[j]), x0, y, math.Max(x1-x0, 0.5), barH, c.color(j), esc(r.Label), esc(c.Parts[j]), esc(Label(v)), esc(c.Unit))
			x += v
		}
	}
	axisY := padT + 10 + float64(len(c.Rows))*(barH+8)
	for _, v := range xs.ticks {
		fmt.Fprintf(bw, `<text class="tick" x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", xs.pos(v), axisY+14, esc(Label(v)))
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n", xs.pos(xs.hi/2), axisY+30, esc(c.Unit))
	for j, p := range c.Parts {
		legend(bw, j, c.color(j), p)
	}
	if len(c.Rows) == 0 {
		noData(bw)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

func (c *StackedBars) color(j int) string {
	if j < len(c.Colors) {
		return c.Colors[j]
	}
	return Palette(j)
}

// Histogram draws counts per bin as vertical bars (<rect class="bin">),
// bins labelled below.
type Histogram struct {
	Class, Title, XLabel string
	Attrs                [][2]string
	Bins                 []Bin
}

// Bin is one bar of a [Histogram].
type Bin struct {
	Label string
	Count int64
}

// Write writes the chart as one svg element.
func (c *Histogram) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	var top int64
	for _, b := range c.Bins {
		top = max(top, b.Count)
	}
	ys := linearScale(float64(top), height-padB, padT)
	open(bw, c.Class, c.Title, c.Attrs, height)
	axes(bw, c.XLabel, "batches", ys)
	plotW := float64(width - padL - padR)
	step := plotW / math.Max(float64(len(c.Bins)), 1)
	every := max(1, len(c.Bins)/12) // label at most a dozen bins
	for i, b := range c.Bins {
		x := padL + float64(i)*step
		y := ys.pos(float64(b.Count))
		fmt.Fprintf(bw, `<rect class="bin" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %d</title></rect>`+"\n",
			x+1, y, math.Max(step-2, 1), float64(height-padB)-y, Palette(0), esc(b.Label), b.Count)
		if i%every == 0 {
			fmt.Fprintf(bw, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", x+step/2, height-padB+16, esc(b.Label))
		}
	}
	if len(c.Bins) == 0 {
		noData(bw)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// Timeline draws spans on lanes against time (<rect class="span">): the
// work units of a run, one lane per unit.
type Timeline struct {
	Class, Title, XLabel string
	Spans                []Span
}

// Span is one bar of a [Timeline], from Start to End on lane Lane.
type Span struct {
	Lane       int
	Label      string
	Start, End float64
	// Failed colours the span red.
	Failed bool
}

// Write writes the chart as one svg element.
func (c *Timeline) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	end, lanes := 0.0, 0
	for _, s := range c.Spans {
		end, lanes = math.Max(end, s.End), max(lanes, s.Lane+1)
	}
	xs := linearScale(end, padL, width-padR)
	// Lanes of 16 units, thinner past 40 lanes so the chart stays under
	// 700 units high.
	laneH := math.Min(16, 640/math.Max(float64(lanes), 1))
	h := padT + int(math.Ceil(float64(max(lanes, 1))*laneH)) + padB
	open(bw, c.Class, c.Title, nil, h)
	for _, s := range c.Spans {
		x0, x1 := xs.pos(s.Start), xs.pos(s.End)
		color := Palette(2)
		if s.Failed {
			color = Palette(1)
		}
		fmt.Fprintf(bw, `<rect class="span" x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s: %s to %s</title></rect>`+"\n",
			x0, padT+float64(s.Lane)*laneH, math.Max(x1-x0, 1), math.Max(laneH-2, 1), color, esc(s.Label), esc(Label(s.Start)), esc(Label(s.End)))
	}
	for _, v := range xs.ticks {
		fmt.Fprintf(bw, `<text class="tick" x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xs.pos(v), h-padB+16, esc(Label(v)))
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", padL+float64(width-padL-padR)/2, h-8, esc(c.XLabel))
	if len(c.Spans) == 0 {
		noData(bw)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}
