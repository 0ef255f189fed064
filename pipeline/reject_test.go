package pipeline_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// rejectJob adds 1000 to 0..99 in 4 units of 25 rows; POLICY is replaced
// by the add stage's on_error keys.
const rejectJob = `version: 1
name: reject
resources: {unit_rows: 25}
stages:
  - id: gen
    type: seq
    with: {count: 100, batch_rows: 10}
  - id: add
    type: add
    inputs: [gen]
    with: {add: 1000, fail_every: 17}
    POLICY
  - id: write
    type: parquet_sink
    inputs: [add]
    with: {path: out}
`

// readInt64Column reads column col of every part file of a complete
// output folder, in manifest order.
func readInt64Column(t *testing.T, dir, col string) []int64 {
	t.Helper()
	m, err := output.VerifyOutput(t.Context(), output.Local(dir))
	if err != nil {
		t.Fatal(err)
	}
	var out []int64
	for _, f := range m.Files {
		for _, v := range readColumn(t, filepath.Join(dir, f.Name), col) {
			out = append(out, v.(int64))
		}
	}
	return out
}

// readColumn reads one column of a Parquet file as Go values.
func readColumn(t *testing.T, path, col string) []any {
	t.Helper()
	r, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	idx := tbl.Schema().FieldIndices(col)
	if len(idx) != 1 {
		t.Fatalf("%s has no column %q: %s", path, col, tbl.Schema())
	}
	var out []any
	for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
		switch a := chunk.(type) {
		case *array.Int64:
			for i := range a.Len() {
				out = append(out, a.Value(i))
			}
		case *array.String:
			for i := range a.Len() {
				out = append(out, a.Value(i))
			}
		default:
			t.Fatalf("column %q is %s", col, chunk.DataType())
		}
	}
	return out
}

// goodRows is 1000+i for i in 0..99 not divisible by 17.
func goodRows() []int64 {
	var out []int64
	for i := range int64(100) {
		if i%17 != 0 {
			out = append(out, 1000+i)
		}
	}
	return out
}

func TestOnErrorSkip(t *testing.T) {
	dir := t.TempDir()
	p := buildIn(t, dir, strings.Replace(rejectJob, "POLICY", "on_error: skip", 1), pipeline.BuildOptions{})
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := readInt64Column(t, filepath.Join(dir, "out"), "n"); !slices.Equal(got, goodRows()) {
		t.Fatalf("rows written: %v\nwant %v", got, goodRows())
	}
	add := rep.Stages[1]
	if add.RejectedRows != 6 || add.RowsOut != 94 {
		t.Fatalf("add: %d rejected, %d out; want 6 and 94", add.RejectedRows, add.RowsOut)
	}
	var buf strings.Builder
	if err := rep.WriteTable(&buf); err != nil || !strings.Contains(buf.String(), "add: 6 rows failed and were skipped") {
		t.Fatalf("table: %v\n%s", err, buf.String())
	}
}

func TestOnErrorDeadLetter(t *testing.T) {
	dir := t.TempDir()
	job := strings.Replace(rejectJob, "POLICY", "on_error: dead_letter\n    dead_letter: bad", 1)
	p := buildIn(t, dir, job, pipeline.BuildOptions{})
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := readInt64Column(t, filepath.Join(dir, "out"), "n"); !slices.Equal(got, goodRows()) {
		t.Fatalf("rows written: %v", got)
	}
	bad := filepath.Join(dir, "bad")
	if got, want := readInt64Column(t, bad, "n"), []int64{0, 17, 34, 51, 68, 85}; !slices.Equal(got, want) {
		t.Fatalf("dead-letter rows %v, want the input values %v", got, want)
	}
	m, _ := output.VerifyOutput(t.Context(), output.Local(bad))
	var msgs, stagesCol, units []any
	for _, f := range m.Files {
		msgs = append(msgs, readColumn(t, filepath.Join(bad, f.Name), pipeline.DeadLetterErrorColumn)...)
		stagesCol = append(stagesCol, readColumn(t, filepath.Join(bad, f.Name), pipeline.DeadLetterStageColumn)...)
		units = append(units, readColumn(t, filepath.Join(bad, f.Name), pipeline.DeadLetterUnitColumn)...)
	}
	for i, v := range []int64{0, 17, 34, 51, 68, 85} {
		if msgs[i] != "bad value "+strconv.FormatInt(v, 10) || stagesCol[i] != "add" {
			t.Errorf("dead-letter row %d: stage %v, error %v", i, stagesCol[i], msgs[i])
		}
	}
	if units[0] != "rows 0-24" || units[5] != "rows 75-99" {
		t.Errorf("units %v", units)
	}
	// Every unit held a bad row, so each left one file.
	if len(m.Files) != 4 || m.Stage != "add.dead_letter" {
		t.Errorf("dead-letter manifest: %d files, stage %q", len(m.Files), m.Stage)
	}
	if rep.Stages[1].DeadLetter != bad {
		t.Errorf("report dead_letter %q, want %q", rep.Stages[1].DeadLetter, bad)
	}
}

func TestOnErrorBudget(t *testing.T) {
	tests := []struct {
		name, policy, want string
		ok                 bool
	}{
		{"count spent", "on_error: skip\n    max_errors: 5", "6 rows failed, max_errors is 5", false},
		{"count enough", "on_error: skip\n    max_errors: 6", "", true},
		{"percent spent", "on_error: skip\n    max_errors: 5%", "max_errors is 5%", false},
		{"percent enough", "on_error: dead_letter\n    dead_letter: bad\n    max_errors: 20%", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := buildIn(t, dir, strings.Replace(rejectJob, "POLICY", tc.policy, 1), pipeline.BuildOptions{})
			_, err := p.Run(context.Background())
			if tc.ok {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var se *pipeline.StageError
			if !errors.Is(err, stages.ErrTooManyErrors) || !errors.As(err, &se) || se.Stage != "add" || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "bad value 0") {
				t.Fatalf("Run = %v; want ErrTooManyErrors from stage add saying %q and the first error", err, tc.want)
			}
			if _, serr := os.Stat(filepath.Join(dir, "out", stages.SuccessFile)); !errors.Is(serr, os.ErrNotExist) {
				t.Fatalf("_SUCCESS written after the budget was spent: %v", serr)
			}
		})
	}
}

func TestOnErrorValidation(t *testing.T) {
	tests := []struct{ name, job, want string }{
		{"unknown policy", strings.Replace(rejectJob, "POLICY", "on_error: ignore", 1), `"ignore" is not one of fail, skip, dead_letter`},
		{"dead letter without folder", strings.Replace(rejectJob, "POLICY", "on_error: dead_letter", 1), "needs dead_letter: FOLDER"},
		{"folder without dead letter", strings.Replace(rejectJob, "POLICY", "dead_letter: bad", 1), "only used with on_error: dead_letter"},
		{"budget without policy", strings.Replace(rejectJob, "POLICY", "max_errors: 3", 1), "max_errors needs on_error"},
		{"bad percent", strings.Replace(rejectJob, "POLICY", "on_error: skip\n    max_errors: 120%", 1), "above 0 and at most 100"},
		{"negative count", strings.Replace(rejectJob, "POLICY", "on_error: skip\n    max_errors: -1", 1), "row count (0 or more)"},
		{"on a sink", strings.Replace(strings.Replace(rejectJob, "POLICY", "", 1), "with: {path: out}", "with: {path: out}\n    on_error: skip", 1), "parquet_sink stages cannot set failed rows aside"},
		{"dead letter into the output", strings.Replace(rejectJob, "POLICY", "on_error: dead_letter\n    dead_letter: out", 1), "every sink and dead-letter folder needs its own"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			job, err := pipeline.Load([]byte(tc.job), filepath.Join(dir, "job.yaml"), dir, pipeline.LoadOptions{})
			if err == nil {
				var p *pipeline.Pipeline
				p, err = pipeline.Build(job, pipeline.BuildOptions{Registry: integrityRegistry(t)})
				if err == nil {
					p.Close()
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
