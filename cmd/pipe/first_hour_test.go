package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestShardOneUnit runs a job whose input is one work unit (one CSV file)
// as two shards: one shard runs the unit, the other has nothing to do, and
// the output ends complete, as the README says. A job of two sources is
// refused.
func TestShardOneUnit(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), []byte("id,v\n1,2\n3,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	job := filepath.Join(dir, "job.yaml")
	text := `version: 1
stages:
  - {id: read, type: csv_source, with: {paths: [a.csv]}}
  - {id: write, type: parquet_sink, inputs: [read], with: {path: out}}
`
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errs := pipe("validate", job)
	if code != 0 || !strings.Contains(out, "work units: 1 (a rerun redoes the whole job; under --shard i/n one shard runs it") {
		t.Fatalf("validate: exit %d\n%s%s", code, out, errs)
	}
	for _, sh := range []string{"0/2", "1/2"} {
		if code, out, errs := pipe("run", "-q", job, "--shard", sh); code != 0 {
			t.Fatalf("--shard %s: exit %d\n%s%s", sh, code, out, errs)
		}
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "out", "part-*.parquet"))
	if len(parts) != 1 {
		t.Errorf("part files %v, want one", parts)
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "_SUCCESS")); err != nil {
		t.Errorf("output not complete: %v", err)
	}

	two := writeJob(t, `version: 1
stages:
  - {id: a, type: generate, with: {count: 3, columns: [{name: id, type: int64}]}}
  - {id: b, type: generate, with: {count: 3, columns: [{name: id, type: int64}]}}
  - {id: both, type: merge, inputs: [a, b]}
  - {id: write, type: parquet_sink, inputs: [both], with: {path: out}}
`)
	code, out, _ = pipe("validate", two)
	if code != 0 || !strings.Contains(out, "--shard i/n with n > 1 is refused") {
		t.Errorf("validate of two sources: exit %d\n%s", code, out)
	}
	if code, out, errs := pipe("run", "-q", two, "--shard", "0/2"); code != 2 || !strings.Contains(out+errs, "it has 2 sources") {
		t.Errorf("two sources under --shard 0/2: exit %d, want 2\n%s%s", code, out, errs)
	}
}

// TestRerunIgnoresSettingsThatKeepBytes runs a model job, then reruns it
// with settings that do not change the output bytes (nothing to do) and
// with settings that do (refused as another job's output).
func TestRerunIgnoresSettingsThatKeepBytes(t *testing.T) {
	stagetest.NeedORT(t)
	job := benchJob(t)
	if code, out, errs := pipe("run", "-q", job); code != 0 {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errs)
	}
	tests := []struct {
		set  []string
		same bool
	}{
		{[]string{"mlp.batch.max_rows=64"}, true},
		{[]string{"mlp.batch.max_delay=50ms", "mlp.batch.preferred_rows=[32]"}, true},
		{[]string{"mlp.threads=1", "mlp.instances=3"}, true},
		{[]string{"mlp.session.inter_op_threads=1"}, true},
		{[]string{"mlp.retry.max_attempts=2", "mlp.circuit_breaker.failures=2", "mlp.batch.adaptive={target_latency: 5ms}"}, true},
		{[]string{"mlp.batch.pad_to=600"}, false},
		{[]string{"mlp.keep=[id]"}, false},
		{[]string{"mlp.backends=[auto]"}, false},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.set, ","), func(t *testing.T) {
			args := []string{"run", job}
			for _, s := range tc.set {
				args = append(args, "--set", s)
			}
			code, out, errs := pipe(args...)
			switch {
			case tc.same && (code != 0 || !strings.Contains(out+errs, "nothing to do")):
				t.Errorf("exit %d, want 0 and nothing to do\n%s%s", code, out, errs)
			case !tc.same && code != 2:
				t.Errorf("exit %d, want 2 (another job's output)\n%s%s", code, out, errs)
			}
		})
	}
}

// TestSummarySaysWhenNoRowsPass checks the lines under the run table: a
// filter that drops every row and a sink that writes none say so, and a
// run whose rows get through says neither.
func TestSummarySaysWhenNoRowsPass(t *testing.T) {
	tests := []struct {
		where string
		want  []string
		not   []string
	}{
		{"id >= 5000", []string{"keep: dropped every row (1000 in, 0 out)", "write: wrote 0 rows"}, nil},
		{"id >= 500", nil, []string{"dropped every row", "wrote 0 rows"}},
	}
	for _, tc := range tests {
		t.Run(tc.where, func(t *testing.T) {
			job := writeJob(t, strings.Replace(goodJob, "id >= 500", tc.where, 1))
			code, out, errs := pipe("run", job)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out, errs)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errs, w) {
					t.Errorf("summary lacks %q:\n%s%s", w, out, errs)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out+errs, w) {
					t.Errorf("summary says %q:\n%s%s", w, out, errs)
				}
			}
		})
	}
}
