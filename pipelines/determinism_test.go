package pipelines_test

import (
	"fmt"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/output"
)

// TestQuickstartDeterministic runs the quickstart job under several
// combinations of model instances, batch sizes, source batch sizes, ONNX
// Runtime threads and GOMAXPROCS, and requires byte-identical Parquet
// output (the same file names with the same SHA-256).
func TestQuickstartDeterministic(t *testing.T) {
	stagetest.NeedORT(t)
	const rows = "3000"
	combos := []struct {
		name       string
		gomaxprocs int
		set        []string
	}{
		{"defaults", 0, nil},
		{"wide", 1, []string{"gen.batch_rows=100", "mlp.instances=4", "mlp.batch.max_rows=64", "head.instances=3", "head.batch.max_rows=96", "mlp.threads=1"}},
		{"ragged", 2, []string{"gen.batch_rows=7", "mlp.instances=2", "mlp.batch.max_rows=1000", "head.batch.max_rows=5", "mlp.threads=2", "head.batch.max_delay=0s"}},
		{"serial", 1, []string{"gen.batch_rows=1024", "mlp.instances=1", "mlp.batch.max_rows=50", "head.instances=1", "head.batch.max_rows=512"}},
	}
	var want map[string]string
	for _, c := range combos {
		t.Run(c.name, func(t *testing.T) {
			if c.gomaxprocs > 0 {
				prev := runtime.GOMAXPROCS(c.gomaxprocs)
				defer runtime.GOMAXPROCS(prev)
			}
			out := filepath.Join(t.TempDir(), "out")
			// Several files of several row groups, the same in every run.
			set := append([]string{"write.max_rows_per_file=1100", "write.row_group_rows=500"}, c.set...)
			rep := runJob(t, "quickstart.yaml", map[string]string{"ROWS": rows, "OUT": out}, set...)
			if got := rep.Stages[len(rep.Stages)-1].RowsIn; fmt.Sprint(got) != rows {
				t.Fatalf("sink got %d rows, want %s", got, rows)
			}
			// VerifyOutput checks the manifest's hashes against the files.
			m, err := output.VerifyOutput(t.Context(), output.Local(out))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, f := range m.Files {
				got[f.Name] = f.SHA256
			}
			if len(got) != 3 {
				t.Fatalf("%d files written, want 3", len(got))
			}
			if want == nil {
				want = got
				return
			}
			for _, name := range sortedKeys(want) {
				if got[name] != want[name] {
					t.Errorf("%s: sha256 %s, want %s (as with %q)", name, got[name], want[name], combos[0].name)
				}
			}
			if len(got) != len(want) {
				t.Errorf("%d files, want %d", len(got), len(want))
			}
		})
	}
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
