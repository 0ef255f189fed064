package units

import (
	"fmt"
	"time"
)

// Bytes writes n bytes exactly below 1 KiB ("512 B"), else in the largest
// binary unit it reaches, with one decimal ("1.5 MiB").
func Bytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// Rate writes a rate (rows per second) in at most a few characters:
// millions with two decimals ("1.25M"), thousands with one ("12.3k") from
// kilo up, whole numbers below kilo. A caller that compares close rates
// (a benchmark sweep) passes a kilo of 1e4, so that rates below 10k keep
// all their digits; a summary table passes 1e3.
func Rate(v, kilo float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= kilo:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

// Seconds writes a duration given in seconds, rounded to what a reader
// can compare: milliseconds from a second up, ten microseconds from a
// millisecond up, microseconds below.
func Seconds(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond).String()
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond).String()
	}
	return d.Round(time.Microsecond).String()
}
