package svgplot

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

func TestLogScaleTicks(t *testing.T) {
	tests := []struct {
		name     string
		lo, hi   float64
		want     []string
		wantLo   float64
		wantHigh float64
	}{
		{"sub-millisecond to seconds", 0.2, 900, []string{"0.1", "1", "10", "100", "1k"}, 0.1, 1000},
		{"one decade gets 2 and 5", 3, 8, []string{"1", "2", "5", "10"}, 1, 10},
		{"nothing positive", 0, 0, []string{"1", "2", "5", "10"}, 1, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := logScale(tc.lo, tc.hi, 300, 0)
			var got []string
			for _, v := range s.ticks {
				got = append(got, s.tickText(v))
			}
			if !slices.Equal(got, tc.want) || s.lo != tc.wantLo || s.hi != tc.wantHigh {
				t.Fatalf("ticks %v over [%g, %g], want %v over [%g, %g]", got, s.lo, s.hi, tc.want, tc.wantLo, tc.wantHigh)
			}
			if s.pos(s.lo) != 300 || s.pos(s.hi) != 0 {
				t.Fatalf("ends at %g and %g, want 300 and 0", s.pos(s.lo), s.pos(s.hi))
			}
		})
	}
}

// points returns the y of each point of the polyline named name.
func points(t *testing.T, svg, name string) []float64 {
	t.Helper()
	m := regexp.MustCompile(`data-name="` + regexp.QuoteMeta(name) + `"[^>]* points="([^"]*)"`).FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no series %q in %s", name, svg)
	}
	var ys []float64
	for _, p := range strings.Fields(m[1]) {
		_, y, _ := strings.Cut(p, ",")
		v, err := strconv.ParseFloat(y, 64)
		if err != nil {
			t.Fatal(err)
		}
		ys = append(ys, v)
	}
	return ys
}

// TestLogLineChartKeepsSmallValuesApart draws 0.5ms and 1ms beside 800ms:
// on a linear axis both would sit on the floor; on the log axis they are
// far apart.
func TestLogLineChartKeepsSmallValuesApart(t *testing.T) {
	c := &LineChart{Class: "latency", Title: "t", LogY: true, Series: []Series{
		{Name: "small", X: []float64{0, 1}, Y: []float64{0.5, 1}},
		{Name: "large", X: []float64{0, 1}, Y: []float64{400, 800}},
	}}
	var buf bytes.Buffer
	if err := c.Write(&buf); err != nil {
		t.Fatal(err)
	}
	wellFormed(t, buf.String())
	small := points(t, buf.String(), "small")
	if gap := small[0] - small[1]; gap < 10 { // a linear axis: 0.15
		t.Errorf("0.5 and 1 drawn %g units apart, want them clearly apart", gap)
	}
	for _, label := range []string{">0.1<", ">1<", ">10<", ">100<", ">1k<"} {
		if !strings.Contains(buf.String(), label) {
			t.Errorf("log axis lacks the tick %s", label)
		}
	}
}

// TestChartsCountTheirMarks checks each chart kind draws one mark per
// datum and stays well-formed with hostile labels.
func TestChartsCountTheirMarks(t *testing.T) {
	tests := []struct {
		name  string
		chart interface{ Write(io.Writer) error }
		class string
		want  int
	}{
		{"line", &LineChart{Series: []Series{{Name: "<a>", X: []float64{1, 2}, Y: []float64{3, 4}}, {Name: "b&c", X: []float64{1}, Y: []float64{2}}, {Name: "empty"}}}, `class="series"`, 2},
		{"bars", &StackedBars{Parts: []string{"busy", "wait"}, Rows: []BarRow{{Label: "a", Values: []float64{1, 2}}, {Label: "b", Values: []float64{0, 1}}}}, `class="segment"`, 3},
		{"histogram", &Histogram{Bins: []Bin{{"≤1", 3}, {"≤2", 0}, {"≤4", 9}}}, `class="bin"`, 3},
		{"timeline", &Timeline{Spans: []Span{{Lane: 0, Start: 0, End: 1}, {Lane: 1, Start: 0.5, End: 2, Failed: true}}}, `class="span"`, 2},
		{"empty line", &LineChart{}, `class="no-data"`, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.chart.Write(&buf); err != nil {
				t.Fatal(err)
			}
			wellFormed(t, buf.String())
			if got := strings.Count(buf.String(), tc.class); got != tc.want {
				t.Fatalf("%d of %s, want %d:\n%s", got, tc.class, tc.want, buf.String())
			}
		})
	}
}

func wellFormed(t *testing.T, svg string) {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("not well-formed XML: %v\n%s", err, svg)
		}
	}
}
