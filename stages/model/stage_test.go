package model_test

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.uber.org/goleak"

	_ "github.com/pipe-ml/pipe/bridge/ort"
	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/model"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var models = filepath.Join("..", "..", "testdata", "models")

// runStage feeds recs (released here) through the stage and returns what it
// emitted.
func runStage(t *testing.T, s stages.Stage, recs ...arrow.RecordBatch) ([]arrow.RecordBatch, error) {
	t.Helper()
	op := s.(stages.Operator)
	in := make(chan arrow.RecordBatch, len(recs))
	for _, r := range recs {
		in <- r
	}
	close(in)
	var out []arrow.RecordBatch
	err := op.Run(context.Background(), []<-chan arrow.RecordBatch{in}, func(ctx context.Context, rec arrow.RecordBatch) error {
		out = append(out, rec)
		return nil
	})
	return out, err
}

// vectors builds a batch with an int64 id column and a fixed_size_list
// column of k float32 values per row.
func vectors(mem memory.Allocator, name string, first, n, k int, seed uint64) arrow.RecordBatch {
	rng := rand.New(rand.NewPCG(seed, 7))
	ids := array.NewInt64Builder(mem)
	defer ids.Release()
	lb := array.NewFixedSizeListBuilder(mem, int32(k), arrow.PrimitiveTypes.Float32)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for i := 0; i < n; i++ {
		ids.Append(int64(first + i))
		lb.Append(true)
		for j := 0; j < k; j++ {
			vb.Append(rng.Float32()*2 - 1)
		}
	}
	a, b := ids.NewArray(), lb.NewArray()
	defer a.Release()
	defer b.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: name, Type: b.DataType()}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{a, b}, int64(n))
}

func flatF32(col arrow.Array) []float32 {
	switch c := col.(type) {
	case *array.FixedSizeList:
		return c.ListValues().(*array.Float32).Float32Values()[c.Offset()*int(c.DataType().(*arrow.FixedSizeListType).Len()):]
	case *array.Float32:
		return c.Float32Values()
	}
	return nil
}

func near(a, b float32) bool {
	// numpy.allclose: relative 1e-5 plus 1e-6 absolute near zero.
	return math.Abs(float64(a)-float64(b)) <= 1e-6+1e-5*math.Abs(float64(b))
}

// TestMLPMatchesReference runs the MLP over batches of awkward sizes with
// two instances and compares every output value with the pure-Go reference.
func TestMLPMatchesReference(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	in := vectors(memory.DefaultAllocator, "x", 0, 1, 32, 1).Schema()
	s := mustBuild(t, mem, `
model: mlp.onnx
inputs: {x: x}
outputs: {probs: p}
keep: [id]
batch: {max_rows: 64, max_delay: 1ms}
instances: 3
`, in)
	var recs []arrow.RecordBatch
	sizes := []int{1, 100, 7, 300, 64, 2}
	first := 0
	for i, n := range sizes {
		recs = append(recs, vectors(mem, "x", first, n, 32, uint64(i)))
		first += n
	}
	// The reference sees the same rows.
	var xs []float32
	for _, r := range recs {
		xs = append(xs, flatF32(r.Column(1))[:r.NumRows()*32]...)
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
	if got := stagetest.Rows(out); got != int64(first) {
		t.Fatalf("rows: got %d want %d", got, first)
	}
	row := 0
	for _, r := range out {
		if r.Schema().Field(0).Name != "id" || r.Schema().Field(1).Name != "p" || r.NumCols() != 2 {
			t.Fatalf("schema %s", r.Schema())
		}
		ids := r.Column(0).(*array.Int64)
		got := flatF32(r.Column(1))
		for i := 0; i < int(r.NumRows()); i++ {
			if ids.Value(i) != int64(row) {
				t.Fatalf("order: row %d has id %d", row, ids.Value(i))
			}
			for j := 0; j < 8; j++ {
				if g, w := got[i*8+j], want["probs"].F32[row*8+j]; !near(g, w) {
					t.Fatalf("row %d output %d: got %g want %g", row, j, g, w)
				}
			}
			row++
		}
	}
}

// TestStaticBatchPads runs a model whose batch dimension is fixed at 8 on
// 21 rows: batches are padded and the padding dropped.
func TestStaticBatchPads(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	rec := vectors(mem, "x", 0, 21, 16, 3)
	s := mustBuild(t, mem, "model: static_batch.onnx\ninputs: {x: x}\nkeep: []\n", rec.Schema())
	xs := append([]float32(nil), flatF32(rec.Column(1))[:21*16]...)
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := onnxref.Load(filepath.Join(models, "static_batch.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for _, r := range out {
		if r.NumRows() > 8 {
			t.Fatalf("batch of %d rows for a model fixed at 8", r.NumRows())
		}
		got = append(got, flatF32(r.Column(0))[:r.NumRows()*4]...)
	}
	if len(got) != 21*4 {
		t.Fatalf("got %d values, want %d", len(got), 21*4)
	}
	for b := 0; b < 3; b++ {
		chunk := make([]float32, 8*16)
		copy(chunk, xs[b*8*16:min(len(xs), (b+1)*8*16)])
		want, err := ref.Run(map[string]onnxref.Tensor{"x": {Shape: []int64{8, 16}, F32: chunk}})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 8*4 && b*32+i < len(got); i++ {
			if !near(got[b*32+i], want["y"].F32[i]) {
				t.Fatalf("batch %d value %d: got %g want %g", b, i, got[b*32+i], want["y"].F32[i])
			}
		}
	}
}

func TestBuildErrors(t *testing.T) {
	stagetest.NeedORT(t)
	x32 := vectors(memory.DefaultAllocator, "x", 0, 1, 32, 1)
	defer x32.Release()
	x4 := vectors(memory.DefaultAllocator, "x", 0, 1, 4, 1)
	defer x4.Release()
	x16 := vectors(memory.DefaultAllocator, "x", 0, 1, 16, 1)
	defer x16.Release()
	for _, tc := range []struct {
		name, with string
		in         *arrow.Schema
		want       string
	}{
		{"missing file", "model: nope.onnx\ninputs: {x: x}", x32.Schema(), "nope.onnx: file not found"},
		{"corrupt", "model: corrupt.onnx\ninputs: {x: x}", x32.Schema(), "corrupt.onnx"},
		{"sha256 pin", "model: mlp.onnx\nsha256: 00ff\ninputs: {x: x}", x32.Schema(), "the job pins 00ff"},
		{"unknown input", "model: mlp.onnx\ninputs: {X: x}", x32.Schema(), `the model has no input "X" (did you mean "x"?)`},
		{"missing column", "model: mlp.onnx\ninputs: {x: feats}", x32.Schema(), `column "feats": not found`},
		{"wrong width", "model: mlp.onnx\ninputs: {x: x}", x4.Schema(), "the model wants 32 values per row"},
		{"wrong type", "model: mlp.onnx\ninputs: {x: id}", x32.Schema(), "the model wants 32 values per row"},
		{"unknown output", "model: mlp.onnx\ninputs: {x: x}\noutputs: {prob: p}", x32.Schema(), `the model has no output "prob" (did you mean "probs"?)`},
		{"output clash", "model: mlp.onnx\ninputs: {x: x}\noutputs: {probs: id}", x32.Schema(), `output column "id"`},
		{"sequence output", "model: seqmap.onnx\ninputs: {x: x}\noutputs: {probabilities: p}", x4.Schema(), "cannot turn into a column"},
		{"unfed input", "model: two_io.onnx\ninputs: {a: x}", x4.Schema(), `model input "b"`},
		{"pad_to mismatch", "model: static_batch.onnx\ninputs: {x: x}\nbatch: {pad_to: 4}", x16.Schema(), "batch dimension is fixed at 8"},
		{"instances", "model: mlp.onnx\ninputs: {x: x}\ninstances: 0", x32.Schema(), "instances: must be at least 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			_, err := build(t, mem, tc.with, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestSeqmapTensorOutputOnly maps only the tensor output of a scikit-learn
// style model: that works, and the default mapping skips the sequence.
func TestSeqmapTensorOutputOnly(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	rec := vectors(mem, "x", 0, 10, 4, 5)
	s := mustBuild(t, mem, "model: seqmap.onnx\ninputs: {x: x}\n", rec.Schema())
	if f := s.Schema().Field(2); f.Name != "label" || f.Type.ID() != arrow.INT64 || s.Schema().NumFields() != 3 {
		t.Fatalf("schema %s", s.Schema())
	}
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil || stagetest.Rows(out) != 10 {
		t.Fatalf("rows %d err %v", stagetest.Rows(out), err)
	}
}

// idsFlags builds rows for int64.onnx: ids as fixed_size_list<int32>[3]
// (converted to the model's int64) and a bool flag, null at nullRow (-1:
// none).
func idsFlags(mem memory.Allocator, n, nullRow int) arrow.RecordBatch {
	lb := array.NewFixedSizeListBuilder(mem, 3, arrow.PrimitiveTypes.Int32)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.Int32Builder)
	fb := array.NewBooleanBuilder(mem)
	defer fb.Release()
	for i := 0; i < n; i++ {
		lb.Append(true)
		vb.AppendValues([]int32{int32(i), int32(2 * i), int32(-i)}, nil)
		if i == nullRow {
			fb.AppendNull()
		} else {
			fb.Append(i%3 == 0)
		}
	}
	a, b := lb.NewArray(), fb.NewArray()
	defer a.Release()
	defer b.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "ids", Type: a.DataType()}, {Name: "flag", Type: arrow.FixedWidthTypes.Boolean, Nullable: true}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{a, b}, int64(n))
}

// TestConvertedInputsMatchReference feeds int32 values to an int64 input
// and a bool column to a bool input, and compares with the reference.
func TestConvertedInputsMatchReference(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	const n = 50
	rec := idsFlags(mem, n, -1)
	s := mustBuild(t, mem, "model: int64.onnx\ninputs: {ids: ids, flag: flag}\nkeep: []\n", rec.Schema())
	if backend, _ := s.(*model.Stage).Placement(); backend != "cpu" {
		t.Fatalf("placed on %q", backend)
	}
	ids := make([]int64, 0, 3*n)
	flags := make([]bool, 0, n)
	for i := 0; i < n; i++ {
		ids = append(ids, int64(i), int64(2*i), int64(-i))
		flags = append(flags, i%3 == 0)
	}
	ref, err := onnxref.Load(filepath.Join(models, "int64.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Run(map[string]onnxref.Tensor{"ids": {Shape: []int64{n, 3}, I64: ids}, "flag": {Shape: []int64{n}, Bool: flags}})
	if err != nil {
		t.Fatal(err)
	}
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for _, r := range out {
		got = append(got, flatF32(r.Column(0))[:r.NumRows()*2]...)
	}
	if len(got) != 2*n {
		t.Fatalf("got %d values", len(got))
	}
	for i := range got {
		if !near(got[i], want["out"].F32[i]) {
			t.Fatalf("value %d: got %g want %g", i, got[i], want["out"].F32[i])
		}
	}
}

// TestNullsNameRow checks that a null in an input column is an error naming
// the column and the row in the stream.
func TestNullsNameRow(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	first := idsFlags(mem, 10, -1)
	second := idsFlags(mem, 10, 6)
	s := mustBuild(t, mem, "model: int64.onnx\ninputs: {ids: ids, flag: flag}\nbatch: {max_rows: 8}\n", first.Schema())
	out, err := runStage(t, s, first, second)
	stagetest.Release(out)
	if err == nil || !strings.Contains(err.Error(), `column "flag", row 16: null value`) {
		t.Fatalf("got %v", err)
	}
}

// TestImageLongForm feeds flattened images through a model whose height and
// width are open, with the per-row shape given in the long form.
func TestImageLongForm(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	const h, w = 5, 7
	rec := vectors(mem, "img", 0, 6, 3*h*w, 9)
	xs := append([]float32(nil), flatF32(rec.Column(1))[:6*3*h*w]...)
	s := mustBuild(t, mem, "model: image.onnx\ninputs: {img: {column: img, shape: [3, 5, 7]}}\noutputs: {feat: [f0, f1, f2, f3]}\nkeep: []\n", rec.Schema())
	if got := s.Schema().NumFields(); got != 4 {
		t.Fatalf("schema %s", s.Schema())
	}
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := onnxref.Load(filepath.Join(models, "image.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Run(map[string]onnxref.Tensor{"img": {Shape: []int64{6, 3, h, w}, F32: xs}})
	if err != nil {
		t.Fatal(err)
	}
	row := 0
	for _, r := range out {
		for i := 0; i < int(r.NumRows()); i++ {
			for j := 0; j < 4; j++ {
				g := r.Column(j).(*array.Float32).Value(i)
				if !near(g, want["feat"].F32[row*4+j]) {
					t.Fatalf("row %d f%d: got %g want %g", row, j, g, want["feat"].F32[row*4+j])
				}
			}
			row++
		}
	}
	// Without the shape the open dimensions cannot be worked out.
	_, err = build(t, mem, "model: image.onnx\ninputs: {img: img}", rec.Schema())
	if err == nil || !strings.Contains(err.Error(), "give the per-row shape") {
		t.Fatalf("got %v", err)
	}
}
