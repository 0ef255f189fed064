package model_test

import (
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// lists builds one fixed_size_list<elem>[k] column named name from values
// (row-major), converting each value with appendValue.
func lists(mem memory.Allocator, name string, elem arrow.DataType, k int, values []float32) arrow.RecordBatch {
	lb := array.NewFixedSizeListBuilder(mem, int32(k), elem)
	defer lb.Release()
	for i := 0; i < len(values)/k; i++ {
		lb.Append(true)
		for _, v := range values[i*k : (i+1)*k] {
			switch vb := lb.ValueBuilder().(type) {
			case *array.Float64Builder:
				vb.Append(float64(v))
			case *array.Float16Builder:
				vb.Append(float16.New(v))
			case *array.Float32Builder:
				vb.Append(v)
			}
		}
	}
	col := lb.NewArray()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: name, Type: col.DataType()}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{col}, int64(len(values)/k))
}

// TestFloatColumnsConverted feeds float64 and float16 columns to a float32
// model input: they are converted, and the outputs match the reference on
// the converted values.
func TestFloatColumnsConverted(t *testing.T) {
	stagetest.NeedORT(t)
	const n = 40
	vals := make([]float32, n*8)
	for i := range vals {
		// Values exact in float16, so the reference sees what the model sees.
		vals[i] = float32(i%17-8) / 4
	}
	ref, err := onnxref.Load(filepath.Join(models, "head.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Run(map[string]onnxref.Tensor{"h": {Shape: []int64{n, 8}, F32: vals}})
	if err != nil {
		t.Fatal(err)
	}
	for _, elem := range []arrow.DataType{arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Float16} {
		t.Run(elem.String(), func(t *testing.T) {
			mem := stagetest.Mem(t)
			rec := lists(mem, "h", elem, 8, vals)
			s := mustBuild(t, mem, "model: head.onnx\ninputs: {h: h}\nkeep: []\nbatch: {max_rows: 16}\n", rec.Schema())
			out, err := runStage(t, s, rec)
			defer stagetest.Release(out)
			if err != nil {
				t.Fatal(err)
			}
			var got []float32
			for _, r := range out {
				got = append(got, r.Column(0).(*array.Float32).Float32Values()...)
			}
			if len(got) != n {
				t.Fatalf("%d scores", len(got))
			}
			for i := range got {
				if !near(got[i], want["score"].F32[i]) {
					t.Fatalf("row %d: got %g want %g", i, got[i], want["score"].F32[i])
				}
			}
		})
	}
}

// TestConstantsBroadcast feeds one model input from a column and the other
// from a constant repeated for every row.
func TestConstantsBroadcast(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	const n = 30
	a := make([]float32, n*4)
	b := make([]float32, n*4)
	for i := range a {
		a[i] = float32(i%9) - 4
		b[i] = float32(i%4 + 1) // the constant [1, 2, 3, 4] on every row
	}
	rec := lists(mem, "a", arrow.PrimitiveTypes.Float32, 4, a)
	s := mustBuild(t, mem, "model: two_io.onnx\ninputs: {a: a}\nconstants: {b: [1, 2, 3, 4]}\noutputs: {sum: sum, proj: proj}\nkeep: []\n", rec.Schema())
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := onnxref.Load(filepath.Join(models, "two_io.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Run(map[string]onnxref.Tensor{"a": {Shape: []int64{n, 4}, F32: a}, "b": {Shape: []int64{n, 4}, F32: b}})
	if err != nil {
		t.Fatal(err)
	}
	var sum, proj []float32
	for _, r := range out {
		sum = append(sum, flatF32(r.Column(0))[:r.NumRows()*4]...)
		proj = append(proj, flatF32(r.Column(1))[:r.NumRows()*2]...)
	}
	for i := range want["sum"].F32 {
		if !near(sum[i], want["sum"].F32[i]) {
			t.Fatalf("sum[%d]: got %g want %g", i, sum[i], want["sum"].F32[i])
		}
	}
	for i := range want["proj"].F32 {
		if !near(proj[i], want["proj"].F32[i]) {
			t.Fatalf("proj[%d]: got %g want %g", i, proj[i], want["proj"].F32[i])
		}
	}
	// A constant of the wrong length is refused when the stage is built.
	_, err = build(t, mem, "model: two_io.onnx\ninputs: {a: a}\nconstants: {b: [1, 2]}\n", rec.Schema())
	if err == nil {
		t.Fatal("a 2-value constant was accepted for a [N, 4] input")
	}
}
