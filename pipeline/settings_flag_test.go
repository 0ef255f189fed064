package pipeline_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/pipeline"
)

// flagJob reads a.csv (written by the test) into a Parquet sink; its
// batch_rows on line 5 is bad when the test replaces it.
const flagJob = `version: 1
stages:
  - id: read
    type: csv_source
    with: {paths: [a.csv], batch_rows: BATCH}
  - {id: out, type: parquet_sink, inputs: [read], with: {path: out}}
`

// TestSetProblemsNameTheFlag checks that a problem with a value given by
// --set is positioned at the flag, not at the job file's line, whether
// decoding (a wrong type, an unknown key, a key under a scalar) or the
// stage's constructor (a value out of range, a missing file) finds it; and
// that a bad value in the file is still positioned in the file when --set
// changes another key.
func TestSetProblemsNameTheFlag(t *testing.T) {
	tests := []struct {
		name  string
		batch string
		set   []string
		want  string
	}{
		{"wrong type", "10", []string{"read.batch_rows=abc"},
			`--set read.batch_rows=abc: stage "read": with.batch_rows: expected an integer, got string "abc"`},
		{"constructor", "10", []string{"read.batch_rows=0"},
			`--set read.batch_rows=0: stage "read": batch_rows must be at least 1, got 0`},
		{"unknown key", "10", []string{"read.bogus=1"},
			`--set read.bogus=1: stage "read": with: unknown key "bogus"; valid keys: batch_bytes, batch_rows, delimiter, header, infer_rows, max_record_bytes, null_values, partition_types, partitioning, partitions, paths, schema`},
		{"under a scalar", "10", []string{"read.header.x=1"},
			`--set read.header.x=1: stage "read": with.header: expected true or false, got a mapping`},
		{"missing file", "10", []string{"read.paths=[gone.csv]"},
			`--set read.paths=[gone.csv]: stage "read": paths: stat DIR/gone.csv: no such file or directory`},
		{"no such stage", "10", []string{"reed.batch_rows=1"},
			`--set reed.batch_rows=1: no stage with id "reed" (did you mean "read"?)`},
		{"file value, other key set", "abc", []string{"read.header=true"},
			`job.yaml:5:40: stage "read": with.batch_rows: expected an integer, got string "abc"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id\n1\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			text := []byte(strings.ReplaceAll(flagJob, "BATCH", tc.batch))
			got := problemsOf(t, text, dir, tc.set)
			want := strings.ReplaceAll(tc.want, "DIR", dir)
			if len(got) != 1 || got[0] != want {
				t.Errorf("problems:\n%q\nwant:\n%q", got, want)
			}
		})
	}
}

// problemsOf loads and builds the job and returns its problems as text.
func problemsOf(t *testing.T, text []byte, dir string, set []string) []string {
	t.Helper()
	job, err := pipeline.Load(text, "job.yaml", dir, pipeline.LoadOptions{Set: set})
	if job != nil {
		var p *pipeline.Pipeline
		p, err = pipeline.Build(job, pipeline.BuildOptions{})
		if err == nil {
			p.Close()
		}
	}
	var ve *pipeline.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v, want a *ValidationError", err)
	}
	var out []string
	for _, pr := range ve.Problems {
		out = append(out, pr.String())
	}
	return out
}
