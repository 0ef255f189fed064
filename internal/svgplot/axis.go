package svgplot

import (
	"fmt"
	"math"
)

// Palette is the colour of the i-th series, cycling.
func Palette(i int) string {
	colors := []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"}
	return colors[((i%len(colors))+len(colors))%len(colors)]
}

// NiceCeil rounds v up to 1, 2 or 5 times a power of ten; 1 for v <= 0.
func NiceCeil(v float64) float64 {
	if v <= 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}

// Label formats an axis value compactly: 1.5k, 2M, 0.25.
func Label(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e9:
		return fmt.Sprintf("%.3gG", v/1e9)
	case a >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case a >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

// scale maps data values to pixel positions along one axis.
type scale struct {
	lo, hi   float64 // data range; for log scales, positive
	p0, p1   float64 // pixel range
	log      bool
	ticks    []float64
	tickText func(float64) string
}

// linearScale spans 0 to NiceCeil(max) with five ticks.
func linearScale(maxV, p0, p1 float64) scale {
	hi := NiceCeil(maxV)
	s := scale{lo: 0, hi: hi, p0: p0, p1: p1, tickText: Label}
	for i := 0; i <= 4; i++ {
		s.ticks = append(s.ticks, hi*float64(i)/4)
	}
	return s
}

// logScale spans the decades around [minV, maxV] (both > 0; otherwise one
// decade from 1) with a tick at each power of ten, and at 2 and 5 times
// it when the range is short, so that small values stay visible next to
// large ones.
func logScale(minV, maxV, p0, p1 float64) scale {
	if minV <= 0 || maxV <= 0 || math.IsInf(maxV, 0) {
		minV, maxV = 1, 10
	}
	lo := math.Pow(10, math.Floor(math.Log10(minV)))
	hi := math.Pow(10, math.Ceil(math.Log10(maxV)))
	if hi <= lo {
		hi = lo * 10
	}
	s := scale{lo: lo, hi: hi, p0: p0, p1: p1, log: true, tickText: Label}
	decades := math.Round(math.Log10(hi / lo))
	for d := lo; d <= hi*1.0001; d *= 10 {
		s.ticks = append(s.ticks, d)
		if decades <= 3 && d < hi {
			s.ticks = append(s.ticks, 2*d, 5*d)
		}
	}
	return s
}

// pos returns the pixel position of v, clamped to the axis.
func (s scale) pos(v float64) float64 {
	var f float64
	switch {
	case s.hi == s.lo:
		f = 0.5
	case s.log:
		v = math.Max(v, s.lo)
		f = math.Log(v/s.lo) / math.Log(s.hi/s.lo)
	default:
		f = (v - s.lo) / (s.hi - s.lo)
	}
	f = math.Max(0, math.Min(1, f))
	return s.p0 + (s.p1-s.p0)*f
}
