package pipeline_test

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/pipeline"
)

// chromium returns the headless browser the report tests render pages
// with: PIPE_CHROMIUM, or chromium on the PATH (scripts/install-chromium.sh
// installs it; make test runs it). Without one the test fails, unless
// PIPE_TEST_NO_BROWSER=1 says to skip.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("PIPE_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("PIPE_TEST_NO_BROWSER") == "1" {
		t.Skip("PIPE_TEST_NO_BROWSER=1: not rendering report.html in a browser")
	}
	t.Fatal("no chromium to render report.html: run scripts/install-chromium.sh (or set PIPE_CHROMIUM), or set PIPE_TEST_NO_BROWSER=1 to skip")
	return ""
}

// renderPage runs the browser headless on page with extra (--dump-dom,
// --screenshot=...) and returns its stdout and stderr.
func renderPage(t *testing.T, browser, page string, extra ...string) (string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + t.TempDir()}, extra...)
	cmd := exec.CommandContext(ctx, browser, append(args, "file://"+page)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", browser, extra, err, stderr.String())
	}
	return stdout.String(), stderr.String()
}

// modelRunReport is a report as a run with a model stage writes it.
func modelRunReport() *pipeline.Report {
	return &pipeline.Report{Job: "embed <docs>", File: "job.yaml", Status: "succeeded", Seconds: 3,
		Stages: []pipeline.StageReport{
			{ID: "src", Type: "parquet", Kind: "source", RowsOut: 3000, BusySeconds: 0.4, BlockedSeconds: 2.1},
			{ID: "embed", Type: "model", Kind: "operator", RowsIn: 3000, RowsOut: 3000, BusySeconds: 2.9, BlockedInSeconds: 0.05,
				BatchSizes:     &pipeline.HistogramReport{UpperBounds: []float64{16, 32, 64}, Counts: []int64{2, 0, 46}},
				BatchLatencies: &pipeline.HistogramReport{UpperBounds: []float64{0.01, 0.012, 0.014, 0.017}, Counts: []int64{3, 20, 20, 5}}},
			{ID: "out", Type: "parquet_sink", Kind: "sink", RowsIn: 3000, RowsOut: 3000, BytesOut: 1 << 20, BusySeconds: 0.2, BlockedInSeconds: 2.7},
		},
		Series: &pipeline.SeriesReport{IntervalSeconds: 1, TSeconds: []float64{1, 2, 3}, Stages: []pipeline.StageSeries{
			{ID: "src", Rows: []int64{1000, 1000, 1000}, RowsPerSecond: []float64{1000, 1000, 1000}},
			{ID: "embed", Rows: []int64{900, 1000, 1100}, RowsPerSecond: []float64{900, 1000, 1100}},
			{ID: "out", Rows: []int64{900, 1000, 1100}, RowsPerSecond: []float64{900, 1000, 1100}},
		}},
		Timeline: []pipeline.UnitSpan{{Unit: 0, Key: "a", EndSeconds: 1.6, Status: "committed"},
			{Unit: 1, Key: "b", StartSeconds: 1.4, EndSeconds: 3, Status: "committed"}},
	}
}

// TestReportRendersInBrowser renders report.html in headless Chromium: no
// console error, every chart in the DOM with one series per stage, bins
// per histogram bucket and spans per unit, and a screenshot that is not
// blank.
func TestReportRendersInBrowser(t *testing.T) {
	browser := chromium(t)
	dir := t.TempDir()
	page := filepath.Join(dir, pipeline.HTMLReportFile)
	var buf bytes.Buffer
	if err := modelRunReport().WriteHTML(&buf); err != nil {
		t.Fatal(err)
	}
	svgCounts(t, buf.String()) // well-formed
	if err := os.WriteFile(page, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	dom, logs := renderPage(t, browser, page, "--dump-dom")
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, ":CONSOLE") {
			t.Errorf("browser console: %s", line)
		}
	}
	for _, c := range []struct {
		what string
		want int
	}{
		{`class="chart throughput"`, 1}, {`class="series"`, 3}, {`class="chart time"`, 1}, {`class="segment"`, 6},
		{`class="chart batch-sizes" data-stage="embed"`, 1}, {`class="chart latency" data-stage="embed"`, 1},
		{`class="bin"`, 3 + 4}, {`class="chart units"`, 1}, {`class="span"`, 2},
	} {
		if got := strings.Count(dom, c.what); got != c.want {
			t.Errorf("rendered DOM holds %d of %s, want %d", got, c.what, c.want)
		}
	}
	shot := filepath.Join(dir, "shot.png")
	renderPage(t, browser, page, "--window-size=1024,2400", "--hide-scrollbars", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	inked, b := 0, img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			if r, g, bl, _ := img.At(x, y).RGBA(); r+g+bl < 3*0xe000 {
				inked++
			}
		}
	}
	if inked < 500 {
		t.Errorf("screenshot %dx%d has %d inked samples: the page looks blank", b.Dx(), b.Dy(), inked)
	}
}
