package pipeline_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// readReport reads the metrics.json of folder out.
func readReport(t *testing.T, out string) *pipeline.Report {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(out, pipeline.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var rep pipeline.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatalf("metrics.json: %v", err)
	}
	return &rep
}

// svgCounts parses a report page as XML and counts, per chart class,
// the elements of each class inside it: counts["throughput"]["series"].
func svgCounts(t *testing.T, page string) map[string]map[string]int {
	t.Helper()
	dec := xml.NewDecoder(strings.NewReader(strings.TrimPrefix(page, "<!DOCTYPE html>\n")))
	dec.Entity = xml.HTMLEntity
	counts := map[string]map[string]int{}
	chart := ""
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return counts
		}
		if err != nil {
			t.Fatalf("report.html is not well-formed: %v", err)
		}
		switch el := tok.(type) {
		case xml.StartElement:
			class := ""
			for _, a := range el.Attr {
				if a.Name.Local == "class" {
					class = a.Value
				}
			}
			if el.Name.Local == "svg" {
				chart = strings.TrimPrefix(class, "chart ")
				if counts[chart] == nil {
					counts[chart] = map[string]int{}
				}
				counts[chart]["svg"]++
			} else if chart != "" && class != "" {
				counts[chart][class]++
			}
		case xml.EndElement:
			if el.Name.Local == "svg" {
				chart = ""
			}
		}
	}
}

func sum[T int64 | float64](v []T) T {
	var s T
	for _, x := range v {
		s += x
	}
	return s
}

// TestRunWritesSeriesAndPage runs a job of five work units and checks the
// time series of metrics.json against the stages' totals and the charts
// of report.html against the job.
func TestRunWritesSeriesAndPage(t *testing.T) {
	dir := t.TempDir()
	p := buildIn(t, dir, unitJob, pipeline.BuildOptions{})
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	rep := readReport(t, out)
	s := rep.Series
	if s == nil || len(s.TSeconds) == 0 || len(s.Stages) != 3 {
		t.Fatalf("series = %+v, want samples of 3 stages", s)
	}
	for i, st := range s.Stages {
		want := rep.Stages[i].RowsOut
		if rep.Stages[i].Kind == "sink" {
			want = rep.Stages[i].RowsIn
		}
		if st.ID != rep.Stages[i].ID || sum(st.Rows) != want || want != 250 {
			t.Errorf("series of %s: rows sum to %d, stage reports %d (want 250)", st.ID, sum(st.Rows), want)
		}
		for name, n := range map[string]int{"rows": len(st.Rows), "rows_per_second": len(st.RowsPerSecond), "busy": len(st.BusySeconds),
			"blocked_in": len(st.BlockedInSeconds), "blocked_out": len(st.BlockedOutSeconds)} {
			if n != len(s.TSeconds) {
				t.Errorf("series %s of %s has %d points, t_seconds %d", name, st.ID, n, len(s.TSeconds))
			}
		}
		if busy := sum(st.BusySeconds); busy > rep.Stages[i].BusySeconds*1.0001+1e-9 || busy < rep.Stages[i].BusySeconds*0.9999-1e-9 {
			t.Errorf("busy of %s sums to %g, stage reports %g", st.ID, busy, rep.Stages[i].BusySeconds)
		}
	}
	if len(rep.Timeline) != 5 {
		t.Fatalf("unit timeline = %+v, want 5 passes", rep.Timeline)
	}
	for _, u := range rep.Timeline {
		if u.Status != "committed" || u.EndSeconds < u.StartSeconds || u.EndSeconds > rep.Seconds {
			t.Errorf("unit span %+v, want committed within the run's %gs", u, rep.Seconds)
		}
	}
	page, err := os.ReadFile(filepath.Join(out, pipeline.HTMLReportFile))
	if err != nil {
		t.Fatal(err)
	}
	counts := svgCounts(t, string(page))
	for _, c := range []struct {
		chart, class string
		want         int
	}{{"throughput", "series", 3}, {"time", "svg", 1}, {"units", "span", 5}} {
		if got := counts[c.chart][c.class]; got != c.want {
			t.Errorf("report.html: chart %s has %d elements of class %s, want %d (%v)", c.chart, got, c.class, c.want, counts)
		}
	}
	if counts["time"]["segment"] == 0 {
		t.Errorf("report.html: no time segments (%v)", counts)
	}
	for _, bad := range []string{"<script", "http://", "https://", "@font-face"} {
		if strings.Contains(strings.ReplaceAll(string(page), "http://www.w3.org/2000/svg", ""), bad) {
			t.Errorf("report.html holds %q: it must be self-contained", bad)
		}
	}
}

// TestFailedRunWritesReport checks that a failed run reports its failure
// into metrics.json and report.html without marking the output complete,
// and says what a rerun does.
func TestFailedRunWritesReport(t *testing.T) {
	dir := t.TempDir()
	passFailAt.Store(170) // in unit 3 (rows 150-199)
	p := buildIn(t, dir, unitJob, pipeline.BuildOptions{})
	ret, err := p.Run(context.Background())
	passFailAt.Store(-1)
	if err == nil {
		t.Fatal("run succeeded, want the injected failure")
	}
	out := filepath.Join(dir, "out")
	rep := readReport(t, out)
	if rep.Status != "failed" || !strings.Contains(rep.Error, "injected failure at 170") {
		t.Fatalf("metrics.json status %q error %q, want failed with the injected error", rep.Status, rep.Error)
	}
	for _, name := range []string{stages.SuccessFile, stages.ManifestFile} {
		if _, err := os.Stat(filepath.Join(out, name)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s present after a failed run (%v)", name, err)
		}
	}
	failed := 0
	for _, u := range rep.Timeline {
		if u.Status == "failed" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("timeline %+v: want exactly one failed unit", rep.Timeline)
	}
	page, err := os.ReadFile(filepath.Join(out, pipeline.HTMLReportFile))
	if err != nil || !strings.Contains(string(page), "injected failure at 170") {
		t.Fatalf("report.html of the failed run lacks the error (%v)", err)
	}
	svgCounts(t, string(page))
	committed := ret.Units.Ran
	if want := "a rerun resumes: " + strconv.Itoa(committed) + " of 5 work units are committed"; ret.Rerun() != want {
		t.Errorf("Rerun() = %q, want %q", ret.Rerun(), want)
	}
	p = buildIn(t, dir, unitJob, pipeline.BuildOptions{})
	rep2, err := p.Run(context.Background())
	if err != nil || rep2.Units.Skipped != committed {
		t.Fatalf("rerun: %v, units %+v; want %d skipped", err, rep2.Units, committed)
	}
}
