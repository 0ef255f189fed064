package main

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// lastLine is the last non-empty line of s.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// TestFailedRunSaysWhatARerunDoes runs a job of ten work units that fails
// in the second: the run ends saying a rerun resumes, leaves a failed
// metrics.json and report.html and no success marker; the rerun says it
// resumes, once, and nothing contradicting it.
func TestFailedRunSaysWhatARerunDoes(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen.yaml")
	job := filepath.Join(dir, "job.yaml")
	for path, text := range map[string]string{
		gen: `version: 1
stages:
  - {id: gen, type: generate, with: {count: 1000, batch_rows: 100, columns: [{name: id, type: int64}]}}
  - {id: write, type: parquet_sink, inputs: [gen], with: {path: in, max_rows_per_file: 100}}
`,
		job: `version: 1
resources: {unit_rows: 100}
stages:
  - {id: read, type: parquet_source, with: {paths: ["in/part-*.parquet"]}}
  - {id: narrow, type: cast, inputs: [read], with: {columns: {id: int8}}}
  - {id: write, type: parquet_sink, inputs: [narrow], with: {path: out}}
`,
	} {
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if code, _, stderr := pipe("run", "-q", gen); code != 0 {
		t.Fatalf("making the inputs: exit %d\n%s", code, stderr)
	}
	code, _, stderr := pipe("run", job)
	if code != exitFailed || !strings.HasPrefix(lastLine(stderr), "a rerun resumes: ") || !strings.HasSuffix(lastLine(stderr), " of 10 work units are committed") {
		t.Fatalf("failed run: exit %d, want %d ending with what a rerun does\n%s", code, exitFailed, stderr)
	}
	out := filepath.Join(dir, "out")
	data, err := os.ReadFile(filepath.Join(out, pipeline.ReportFile))
	if err != nil {
		t.Fatal(err)
	}
	var rep pipeline.Report
	if err := json.Unmarshal(data, &rep); err != nil || rep.Status != "failed" || !strings.Contains(rep.Error, "narrow") {
		t.Fatalf("metrics.json: %v, status %q error %q; want failed naming the stage", err, rep.Status, rep.Error)
	}
	if _, err := os.Stat(filepath.Join(out, pipeline.HTMLReportFile)); err != nil {
		t.Errorf("no report.html after the failed run: %v", err)
	}
	if _, err := os.Stat(filepath.Join(out, stages.SuccessFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after a failed run: %v", stages.SuccessFile, err)
	}
	// The rerun (still failing: the data does not fit) says it resumes and
	// nothing else about the earlier run's files.
	_, _, stderr = pipe("run", job)
	if strings.Count(stderr, "resuming: ") != 1 || strings.Contains(stderr, "it will be replaced") || strings.Contains(stderr, "will be replaced") {
		t.Errorf("rerun messages, want one resuming line and no replacement:\n%s", stderr)
	}
}

// TestFailedRunBeforeAnyUnit ends with a rerun starting over.
func TestFailedRunBeforeAnyUnit(t *testing.T) {
	job := writeJob(t, `version: 1
stages:
  - {id: gen, type: generate, with: {count: 300, columns: [{name: id, type: int64}]}}
  - {id: c, type: cast, inputs: [gen], with: {columns: {id: int8}}}
  - {id: write, type: parquet_sink, inputs: [c], with: {path: out}}
`)
	code, _, stderr := pipe("run", job)
	if code != exitFailed || lastLine(stderr) != "a rerun starts over: no work unit is committed" {
		t.Fatalf("exit %d, want %d ending with a rerun starting over\n%s", code, exitFailed, stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(job), "out", pipeline.ReportFile)); err != nil {
		t.Errorf("no metrics.json after the failed run: %v", err)
	}
}
