// Package svgplot draws the small charts of pipe's self-contained HTML
// reports (pipe run's report.html, pipe bench --html) as inline SVG: no
// scripts, no fonts, no network. Every chart is one <svg> element of class
// "chart KIND" (KIND chosen by the caller) whose marks carry classes too,
// so that tests can count series, bars and spans.
//
// Values are plain float64s; the caller picks units and labels. A chart
// with nothing to draw still writes its frame and a "no data" note.
package svgplot
