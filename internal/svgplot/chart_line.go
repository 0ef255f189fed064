package svgplot

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	width, height = 720, 320
	padL, padR    = 70, 180
	padT, padB    = 30, 45
)

// Series is one line of a [LineChart]. X and Y have the same length;
// points whose Y is not positive are left out on a log scale.
type Series struct {
	Name string
	X, Y []float64
	// Lo and Hi, when set (same length as Y), draw a whisker at each point.
	Lo, Hi []float64
	// Dashed draws the line dashed; Color overrides the palette (the
	// series of a pair share one).
	Dashed bool
	Color  string
}

// LineChart plots series against a numeric x axis. Lines are <polyline
// class="series"> elements, one per series with at least one point.
type LineChart struct {
	// Class completes the svg's class: "chart " + Class.
	Class, Title, XLabel, YLabel string
	// Attrs are extra attributes of the svg element (already escaped
	// values are escaped again): data-backend and the like.
	Attrs [][2]string
	// LogY draws the y axis on a log scale with labelled decades.
	LogY bool
	// XTicks, when set, label the x axis at these values (categories);
	// otherwise five ticks span the data.
	XTicks []Tick
	Series []Series
}

// Tick is a labelled position on an axis.
type Tick struct {
	At    float64
	Label string
}

// Write writes the chart as one svg element.
func (c *LineChart) Write(w io.Writer) error {
	bw := bufio.NewWriter(w)
	xmin, xmax, ymin, ymax := c.bounds()
	plotR, plotB := float64(width-padR), float64(height-padB)
	xs := scale{lo: xmin, hi: xmax, p0: padL, p1: plotR}
	ys := linearScale(ymax, plotB, padT)
	if c.LogY {
		ys = logScale(ymin, ymax, plotB, padT)
	}
	open(bw, c.Class, c.Title, c.Attrs, height)
	axes(bw, c.XLabel, c.YLabel, ys)
	ticks := c.XTicks
	if ticks == nil && xmax > xmin {
		for i := 0; i <= 4; i++ {
			v := xmin + (xmax-xmin)*float64(i)/4
			ticks = append(ticks, Tick{At: v, Label: Label(v)})
		}
	}
	for _, t := range ticks {
		fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", xs.pos(t.At), height-padB+16, esc(t.Label))
	}
	drawn := 0
	for i, s := range c.Series {
		color := s.Color
		if color == "" {
			color = Palette(i)
		}
		if c.drawSeries(bw, s, color, xs, ys) {
			legend(bw, drawn, color, s.Name)
			drawn++
		}
	}
	if drawn == 0 {
		noData(bw)
	}
	bw.WriteString("</svg>\n")
	return bw.Flush()
}

// drawSeries draws one line with its points and whiskers; false when it
// has no point to draw.
func (c *LineChart) drawSeries(w *bufio.Writer, s Series, color string, xs, ys scale) bool {
	var pts []string
	for j := range min(len(s.X), len(s.Y)) {
		x, y := s.X[j], s.Y[j]
		if math.IsNaN(y) || (c.LogY && y <= 0) {
			continue
		}
		if j < len(s.Lo) && j < len(s.Hi) && s.Hi[j] >= 0 {
			fmt.Fprintf(w, `<line class="whisker" x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n",
				xs.pos(x), ys.pos(s.Lo[j]), xs.pos(x), ys.pos(s.Hi[j]), color)
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs.pos(x), ys.pos(y)))
		if len(s.X) <= 40 {
			fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"><title>%s: %s at %s</title></circle>`+"\n",
				xs.pos(x), ys.pos(y), color, esc(s.Name), esc(Label(y)), esc(Label(x)))
		}
	}
	if len(pts) == 0 {
		return false
	}
	dash := ""
	if s.Dashed {
		dash = ` stroke-dasharray="5,4"`
	}
	fmt.Fprintf(w, `<polyline class="series" data-name="%s" fill="none" stroke="%s" stroke-width="2"%s points="%s"><title>%s</title></polyline>`+"\n",
		esc(s.Name), color, dash, strings.Join(pts, " "), esc(s.Name))
	return true
}

// bounds returns the data range of every series (y from 0 on a linear
// scale; the smallest positive y on a log scale).
func (c *LineChart) bounds() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax, ymin = math.Inf(1), math.Inf(-1), math.Inf(1)
	for _, t := range c.XTicks {
		xmin, xmax = math.Min(xmin, t.At), math.Max(xmax, t.At)
	}
	for _, s := range c.Series {
		for j := range min(len(s.X), len(s.Y)) {
			xmin, xmax = math.Min(xmin, s.X[j]), math.Max(xmax, s.X[j])
			for _, v := range []float64{s.Y[j], at(s.Lo, j), at(s.Hi, j)} {
				if v > 0 {
					ymin, ymax = math.Min(ymin, v), math.Max(ymax, v)
				}
			}
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 0, 1
	}
	if xmin == xmax {
		xmin, xmax = xmin-1, xmax+1
	}
	if math.IsInf(ymin, 0) {
		ymin = 0
	}
	return xmin, xmax, ymin, ymax
}

func at(v []float64, i int) float64 {
	if i < len(v) {
		return v[i]
	}
	return 0
}

var esc = html.EscapeString

// open writes the svg element's start and the chart's title.
// h is the chart's height.
func open(w *bufio.Writer, class, title string, attrs [][2]string, h int) {
	var extra strings.Builder
	for _, a := range attrs {
		fmt.Fprintf(&extra, ` %s="%s"`, a[0], esc(a[1]))
	}
	fmt.Fprintf(w, `<svg class="chart %s"%s xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">
<title>%s</title>
<text x="%d" y="18" font-weight="bold">%s</text>
`, esc(class), extra.String(), width, h, width, h, esc(title), padL, esc(title))
}

// axes draws both axes, the y grid with its labels and the axis titles.
func axes(w *bufio.Writer, xLabel, yLabel string, ys scale) {
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", padL, padT, padL, height-padB)
	fmt.Fprintf(w, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n", padL, height-padB, width-padR, height-padB)
	for _, v := range ys.ticks {
		y := ys.pos(v)
		fmt.Fprintf(w, `<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/><text class="tick" x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
			padL, y, width-padR, y, padL-6, y+4, esc(ys.tickText(v)))
	}
	plotH := float64(height - padT - padB)
	fmt.Fprintf(w, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", padL+float64(width-padL-padR)/2, height-8, esc(xLabel))
	fmt.Fprintf(w, `<text x="14" y="%.1f" transform="rotate(-90 14 %.1f)" text-anchor="middle">%s</text>`+"\n", padT+plotH/2, padT+plotH/2, esc(yLabel))
}

// legend writes the i-th legend entry right of the plot.
func legend(w *bufio.Writer, i int, color, name string) {
	y := padT + 16*i
	fmt.Fprintf(w, `<rect class="legend" x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d">%s</text>`+"\n",
		width-padR+10, y, color, width-padR+24, y+9, esc(name))
}

func noData(w *bufio.Writer) {
	fmt.Fprintf(w, `<text class="no-data" x="%d" y="%d" text-anchor="middle" fill="#888">no data</text>`+"\n", padL+(width-padL-padR)/2, padT+(height-padT-padB)/2)
}
