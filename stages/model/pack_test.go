package model_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// scalarColumns builds n rows of 32 scalar feature columns f00..f31; f07 is
// float64, the others float32. It returns the values row-major.
func scalarColumns(mem memory.Allocator, n int) (arrow.RecordBatch, []float32) {
	var fields []arrow.Field
	var cols []arrow.Array
	vals := make([]float32, n*32)
	for j := 0; j < 32; j++ {
		name := fmt.Sprintf("f%02d", j)
		if j == 7 {
			b := array.NewFloat64Builder(mem)
			for i := 0; i < n; i++ {
				v := float32(i*j%13)/8 - 0.75
				vals[i*32+j] = v
				b.Append(float64(v))
			}
			cols = append(cols, b.NewArray())
			b.Release()
			fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float64})
			continue
		}
		b := array.NewFloat32Builder(mem)
		for i := 0; i < n; i++ {
			v := float32((i+3*j)%11)/5 - 1
			vals[i*32+j] = v
			b.Append(v)
		}
		cols = append(cols, b.NewArray())
		b.Release()
		fields = append(fields, arrow.Field{Name: name, Type: arrow.PrimitiveTypes.Float32})
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec, vals
}

// TestPackedColumnsMatchReference feeds the MLP from 32 scalar columns
// packed into its [N, 32] input, and compares with the reference.
func TestPackedColumnsMatchReference(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	const n = 300
	rec, vals := scalarColumns(mem, n)
	names := make([]string, 32)
	for j := range names {
		names[j] = fmt.Sprintf("f%02d", j)
	}
	with := "model: mlp.onnx\ninputs: {x: [" + strings.Join(names, ", ") + "]}\nkeep: [f00]\nbatch: {max_rows: 64}\n"
	s := mustBuild(t, mem, with, rec.Schema())
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := onnxref.Load(filepath.Join(models, "mlp.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := ref.Run(map[string]onnxref.Tensor{"x": {Shape: []int64{n, 32}, F32: vals}})
	if err != nil {
		t.Fatal(err)
	}
	var got []float32
	for _, r := range out {
		got = append(got, flatF32(r.Column(1))[:r.NumRows()*8]...)
	}
	if len(got) != n*8 {
		t.Fatalf("%d values", len(got))
	}
	for i := range got {
		if !near(got[i], want["probs"].F32[i]) {
			t.Fatalf("value %d: got %g want %g", i, got[i], want["probs"].F32[i])
		}
	}
	for _, tc := range []struct{ with, want string }{
		{"model: mlp.onnx\ninputs: {x: [f00, f01]}", "2 columns do not fit"},
		{"model: mlp.onnx\ninputs: {x: [f00, nope]}", `column "nope": not found`},
		{"model: mlp.onnx\ninputs: {x: []}", "at least one column"},
	} {
		if _, err := build(t, mem, tc.with, rec.Schema()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want %q", tc.with, err, tc.want)
		}
	}
}
