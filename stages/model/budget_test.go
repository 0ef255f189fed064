package model_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/onnx"
	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages/model"
)

// budgetExecutor returns an executor whose memory budget
// is budget bytes; it is closed when t ends (after the stages built with
// it, whose cleanups run first).
func budgetExecutor(t *testing.T, budget int64) *executor.Executor {
	t.Helper()
	return newExecutor(t, executor.Options{MemoryBudget: budget, HealthInterval: -1, CanaryBackend: "none"})
}

// mlpRows is one row of mlp.onnx in model tensors: x [32] and probs [8]
// float32.
const mlpRows = (32 + 8) * 4

// TestBudgetSplitsBatches: with max_rows far above what fits the budget,
// the stage runs batches that fit, keeps the order, and computes what the
// reference computes.
func TestBudgetSplitsBatches(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	const fit = 50
	// share = budget / (instances 2 + 1) = 50 rows of 160 bytes.
	ex := budgetExecutor(t, 3*fit*mlpRows)
	in := vectors(memory.DefaultAllocator, "x", 0, 1, 32, 1).Schema()
	s := buildRejecting(t, mem, nil, ex, `
model: mlp.onnx
backends: [cpu]
inputs: {x: x}
outputs: {probs: p}
keep: [id]
batch: {max_rows: 100000, max_delay: 1s}
instances: 2
`, in)
	note, warning := s.Estimate()
	for _, want := range []string{"160 bytes a row", "up to 50 rows", "batch.max_rows 100000"} {
		if !strings.Contains(note, want) {
			t.Errorf("estimate %q lacks %q", note, want)
		}
	}
	if !strings.Contains(warning, "batches will be split to 50 rows") || !strings.Contains(warning, "resources.memory_budget") {
		t.Errorf("warning %q does not say batches are split to 50 rows by resources.memory_budget", warning)
	}
	sizes := []int{1, 333, 7, 120, 49, 2}
	var recs []arrow.RecordBatch
	var xs []float32
	first := 0
	for i, n := range sizes {
		r := vectors(mem, "x", first, n, 32, uint64(i))
		xs = append(xs, flatF32(r.Column(1))[:n*32]...)
		recs = append(recs, r)
		first += n
	}
	ref, err := onnxref.Load(filepath.Join(models, "mlp.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Run(map[string]onnxref.Tensor{"x": {Shape: []int64{int64(first), 32}, F32: xs}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runStage(t, s, recs...)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for _, r := range out {
		if r.NumRows() > fit {
			t.Errorf("a batch of %d rows was run; %d fit the budget", r.NumRows(), fit)
		}
		ids := r.Column(0).(*array.Int64)
		got := flatF32(r.Column(1))
		for i := 0; i < int(r.NumRows()); i++ {
			if ids.Value(i) != int64(row) {
				t.Fatalf("order: row %d has id %d", row, ids.Value(i))
			}
			for j := range 8 {
				if g, w := got[i*8+j], want["probs"].F32[row*8+j]; !near(g, w) {
					t.Fatalf("row %d output %d: got %g want %g", row, j, g, w)
				}
			}
			row++
		}
	}
	if row != first {
		t.Fatalf("%d rows out, want %d", row, first)
	}
}

// TestBudgetRowTooLarge: a stage whose smallest batch cannot fit fails
// when it is built, naming the stage, the bytes, the limit and the
// setting.
func TestBudgetRowTooLarge(t *testing.T) {
	stagetest.NeedORT(t)
	tests := []struct {
		name, with string
		budget     int64
		schema     *arrow.Schema
		want       []string
	}{
		{"one row", "model: mlp.onnx\ninputs: {x: x}\n", 2*mlpRows - 2, vectors(memory.DefaultAllocator, "x", 0, 1, 32, 1).Schema(),
			[]string{"one row needs 160 bytes", "resources.memory_budget 318 bytes / (instances 1 + 1)", "raise resources.memory_budget to at least 320 bytes"}},
		// static_batch.onnx: x [8, 16] -> y [8, 4], 80 bytes a row, a batch of 8.
		{"fixed batch", "model: static_batch.onnx\ninputs: {x: x}\n", 2 * 600, vectors(memory.DefaultAllocator, "x", 0, 1, 16, 1).Schema(),
			[]string{"a batch of 8 rows (batch.pad_to, which a static batch dimension sets) needs 640 bytes", "resources.memory_budget"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := buildStage(t, tt.with, tt.schema, budgetExecutor(t, tt.budget))
			var be *model.BudgetError
			if !errors.As(err, &be) || !errors.Is(err, model.ErrOverBudget) || be.Stage != "test" {
				t.Fatalf("build = %v, want a *model.BudgetError of stage test", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err, w)
				}
			}
		})
	}
}

// openW is the weight of openOutputModel's y = x·W.
func openW(i, j int) float32 { return float32((i*4+j)%5) - 2 }

// openOutputModel writes a model with x [N, 4] -> y = x·W [N, 4], and
// z = Tile(x, reps) declared [N, M]: with reps = [1, 16] given as a
// constant, z holds 64 floats a row, a size the model cannot declare.
func openOutputModel(t *testing.T) string {
	t.Helper()
	g := onnx.NewGraph("open")
	g.AddInput(
		onnx.TensorValue("x", onnx.Float, onnx.Sym("N"), onnx.Fix(4)),
		onnx.TensorValue("reps", onnx.Int64, onnx.Fix(2)),
	)
	w := make([]float32, 16)
	for i := range 4 {
		for j := range 4 {
			w[i*4+j] = openW(i, j)
		}
	}
	g.AddInitializer(onnx.FloatTensor("W", []int64{4, 4}, w))
	g.AddNode("MatMul", []string{"x", "W"}, []string{"y"})
	g.AddNode("Tile", []string{"x", "reps"}, []string{"z"})
	g.AddOutput(
		onnx.TensorValue("y", onnx.Float, onnx.Sym("N"), onnx.Fix(4)),
		onnx.TensorValue("z", onnx.Float, onnx.Sym("N"), onnx.Sym("M")),
	)
	m := onnx.NewModel(g, onnx.OpsetID{Domain: "", Version: onnx.Opset})
	if err := onnx.Validate(m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "open.onnx")
	if err := os.WriteFile(p, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// openWith is the `with:` block of a stage running openOutputModel.
func openWith(path, batch string) string {
	return "model: " + path + "\nbackends: [cpu]\ninputs: {x: x}\nconstants: {reps: [1, 16]}\noutputs: {y: y}\nbatch: " + batch + "\n"
}

// TestBudgetMeasuresOpenOutputs: an output the model does not size is
// measured on a first batch of one row; the batches after it fit the
// budget with it counted, and the results match the reference.
func TestBudgetMeasuresOpenOutputs(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	path := openOutputModel(t)
	// A row: x 16 + y 16 declared, z 256 measured = 288 bytes, and reps
	// 16 bytes a call; 20 rows fit.
	const fit = 20
	ex := budgetExecutor(t, 2*(fit*288+16))
	in := vectors(memory.DefaultAllocator, "x", 0, 1, 4, 1).Schema()
	s := buildRejecting(t, mem, nil, ex, openWith(path, "{max_rows: 1000, max_delay: 1s}"), in)
	if note, _ := s.Estimate(); !strings.Contains(note, "does not size output z") {
		t.Errorf("estimate %q does not name the open output z", note)
	}
	const rows = 230
	rec := vectors(mem, "x", 0, rows, 4, 3)
	xs := append([]float32(nil), flatF32(rec.Column(1))[:rows*4]...)
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]float32, rows*4) // y = x·W, computed here
	for r := range rows {
		for j := range 4 {
			var sum float32
			for i := range 4 {
				sum += xs[r*4+i] * openW(i, j)
			}
			want[r*4+j] = sum
		}
	}
	if len(out) < 2 || out[0].NumRows() != 1 || out[1].NumRows() != fit {
		t.Fatalf("%d batches, the first two of %d and %d rows; want 1 row (the measuring call), then %d",
			len(out), out[0].NumRows(), out[len(out)-1].NumRows(), fit)
	}
	row := 0
	for i, r := range out {
		if i > 0 && i < len(out)-1 && r.NumRows() != fit {
			t.Errorf("batch %d has %d rows; after measuring, full batches should hold %d", i, r.NumRows(), fit)
		}
		got := flatF32(r.Column(2))
		for j := range int(r.NumRows()) * 4 {
			if g, w := got[j], want[row*4+j]; !near(g, w) {
				t.Fatalf("row %d: y %v, want %v", row+j/4, g, w)
			}
		}
		row += int(r.NumRows())
	}
	if row != rows {
		t.Fatalf("%d rows out, want %d", row, rows)
	}
}

// TestBudgetOpenOutputTooLarge: when the measured output makes one row
// larger than the share, the run fails after the first call, naming the
// limit and the setting.
func TestBudgetOpenOutputTooLarge(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	path := openOutputModel(t)
	ex := budgetExecutor(t, 2*100) // share 100: x and y fit, z does not
	in := vectors(memory.DefaultAllocator, "x", 0, 1, 4, 1).Schema()
	s := buildRejecting(t, mem, nil, ex, openWith(path, "{max_rows: 512}"), in)
	out, err := runStage(t, s, vectors(mem, "x", 0, 10, 4, 3))
	stagetest.Release(out)
	var be *model.BudgetError
	if !errors.As(err, &be) {
		t.Fatalf("run = %v, want a *model.BudgetError", err)
	}
	for _, w := range []string{"one row needs 304 bytes", "outputs measured: 272 bytes a row", "at least 608 bytes", "resources.memory_budget"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("%q lacks %q", err, w)
		}
	}
}
