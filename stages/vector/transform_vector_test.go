package vector

import (
	"context"
	"encoding/binary"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	_ "github.com/pipe-ml/pipe/bridge/apple/metal" // registers the metal backend (unavailable off macOS)
	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

var inSchema = arrow.NewSchema([]arrow.Field{
	{Name: "id", Type: arrow.PrimitiveTypes.Int64},
	{Name: "x", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32), Nullable: true},
}, nil)

// batch builds rows of x; a nil row is a null vector.
func batch(t *testing.T, mem memory.Allocator, rows ...[]float32) arrow.RecordBatch {
	t.Helper()
	b := array.NewRecordBuilder(mem, inSchema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	lb := b.Field(1).(*array.FixedSizeListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for i, r := range rows {
		ids.Append(int64(i))
		if r == nil {
			lb.AppendNull()
			continue
		}
		lb.Append(true)
		vb.AppendValues(r, nil)
	}
	return b.NewRecordBatch()
}

func floatRows(t *testing.T, col arrow.Array) [][]float32 {
	t.Helper()
	l := col.(*array.FixedSizeList)
	k := int(l.DataType().(*arrow.FixedSizeListType).Len())
	vals := l.ListValues().(*array.Float32).Float32Values()
	out := make([][]float32, l.Len())
	for i := range out {
		if l.IsValid(i) {
			out[i] = vals[(l.Offset()+i)*k : (l.Offset()+i+1)*k]
		}
	}
	return out
}

func near(a, b []float32) bool {
	if (a == nil) != (b == nil) || len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5*math.Max(1, math.Abs(float64(b[i]))) {
			return false
		}
	}
	return true
}

func run(t *testing.T, mem memory.Allocator, with string, rows ...[]float32) (arrow.RecordBatch, stages.Stage) {
	t.Helper()
	s := stagetest.MustBuild(t, nil, mem, "vector", with, t.TempDir(), inSchema)
	in := batch(t, mem, rows...)
	defer in.Release()
	out, err := s.(stages.Transform).Process(context.Background(), in)
	if err != nil {
		t.Fatalf("Process: %v", err)
	}
	return out, s
}

func TestVectorOps(t *testing.T) {
	third := float32(1.0 / 3)
	e := float32(math.E)
	tests := []struct {
		name string
		with string
		rows [][]float32
		col  string
		want [][]float32
	}{
		{"normalize in place", "{column: x, op: normalize, backend: cpu}", [][]float32{{3, 0, 4}, {0, 0, 0}, nil},
			"x", [][]float32{{0.6, 0, 0.8}, {0, 0, 0}, nil}},
		{"softmax into", "{column: x, op: softmax, into: p, backend: auto}", [][]float32{{0, 0, 0}, {1, 0, 0}},
			"p", [][]float32{{third, third, third}, {e / (e + 2), 1 / (e + 2), 1 / (e + 2)}}},
		{"matmul inline", "{column: x, op: matmul, matrix: [[1, 0], [0, 1], [1, 1]], backend: cpu}", [][]float32{{1, 2, 3}, nil, {-1, 0.5, 2}},
			"x_matmul", [][]float32{{4, 5}, nil, {1, 2.5}}},
		{"topk values", "{column: x, op: topk, k: 2, backend: cpu}", [][]float32{{1, 3, 2}, {5, 5, 1}},
			"x_topk", [][]float32{{3, 2}, {5, 5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			out, s := run(t, mem, tt.with, tt.rows...)
			defer out.Release()
			idx := out.Schema().FieldIndices(tt.col)
			if len(idx) != 1 || !out.Schema().Equal(s.Schema()) {
				t.Fatalf("output schema %v lacks %q or differs from Schema()", out.Schema(), tt.col)
			}
			got := floatRows(t, out.Column(idx[0]))
			for i := range tt.want {
				if !near(got[i], tt.want[i]) {
					t.Errorf("row %d = %v, want %v", i, got[i], tt.want[i])
				}
			}
			if out.Column(0).Len() != len(tt.rows) {
				t.Errorf("id column has %d rows", out.Column(0).Len())
			}
		})
	}
}

func TestTopKIndices(t *testing.T) {
	mem := stagetest.Mem(t)
	nan := float32(math.NaN())
	out, _ := run(t, mem, "{column: x, op: topk, k: 2, into: top, indices_into: at, backend: cpu}",
		[]float32{1, 3, 2}, []float32{5, 5, 1}, []float32{nan, 1, 0}, nil)
	defer out.Release()
	at := out.Column(out.Schema().FieldIndices("at")[0]).(*array.FixedSizeList)
	ints := at.ListValues().(*array.Int32).Int32Values()
	want := []int32{1, 2, 0, 1, 1, 2}
	for i, w := range want {
		if ints[i] != w {
			t.Fatalf("indices = %v, want %v then a null row", ints[:6], want)
		}
	}
	if at.IsValid(3) {
		t.Errorf("null vector gave a valid indices row")
	}
	top := floatRows(t, out.Column(out.Schema().FieldIndices("top")[0]))
	if !near(top[2], []float32{1, 0}) {
		t.Errorf("NaN row top = %v, want [1 0]", top[2])
	}
}

func writeNpy(t *testing.T, path, descr string, shape string, vals []float64) {
	t.Helper()
	h := "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }"
	for (10+len(h)+1)%64 != 0 {
		h += " "
	}
	h += "\n"
	b := append([]byte("\x93NUMPY\x01\x00"), byte(len(h)), byte(len(h)>>8))
	b = append(b, h...)
	for _, v := range vals {
		if descr == "<f8" {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		} else {
			b = binary.LittleEndian.AppendUint32(b, math.Float32bits(float32(v)))
		}
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestMatrixFiles(t *testing.T) {
	dir := t.TempDir()
	writeNpy(t, filepath.Join(dir, "w4.npy"), "<f4", "(3, 1)", []float64{1, 2, 3})
	writeNpy(t, filepath.Join(dir, "w8.npy"), "<f8", "(3, 1)", []float64{1, 2, 3})
	writeNpy(t, filepath.Join(dir, "bad.npy"), "<f4", "(2, 1)", []float64{1, 2})
	bin := binary.LittleEndian.AppendUint32(nil, math.Float32bits(1))
	bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(2))
	bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(3))
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), bin, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, with := range []string{
		"{column: x, op: matmul, matrix_file: w4.npy, backend: cpu}",
		"{column: x, op: matmul, matrix_file: w8.npy, backend: cpu}",
		"{column: x, op: matmul, matrix_file: w.bin, matrix_shape: [3, 1], backend: cpu}",
	} {
		t.Run(with, func(t *testing.T) {
			mem := stagetest.Mem(t)
			s := stagetest.MustBuild(t, nil, mem, "vector", with, dir, inSchema)
			in := batch(t, mem, []float32{1, 1, 1}, []float32{0, 1, 0})
			defer in.Release()
			out, err := s.(stages.Transform).Process(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			got := floatRows(t, out.Column(2))
			if !near(got[0], []float32{6}) || !near(got[1], []float32{2}) {
				t.Errorf("matmul = %v, want [[6] [2]]", got)
			}
		})
	}
	t.Run("wrong rows", func(t *testing.T) {
		_, err := stagetest.Build(t, nil, stagetest.Mem(t), "vector", "{column: x, op: matmul, matrix_file: bad.npy}", dir, inSchema)
		if err == nil || !strings.Contains(err.Error(), "2 rows") {
			t.Errorf("error = %v", err)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name, with, want string
	}{
		{"missing column", "{op: normalize}", `missing required key "column"`},
		{"unknown column", "{column: y, op: normalize}", `column "y": not found`},
		{"not a vector", "{column: id, op: normalize}", "fixed_size_list<float32>"},
		{"unknown op", "{column: x, op: relu}", "unknown operation"},
		{"topk k too big", "{column: x, op: topk, k: 4}", "1 <= k <= 3"},
		{"topk without k", "{column: x, op: topk}", "1 <= k <= 3"},
		{"k off topk", "{column: x, op: softmax, k: 2}", "topk only"},
		{"matmul without matrix", "{column: x, op: matmul}", "matrix or matrix_file"},
		{"ragged matrix", "{column: x, op: matmul, matrix: [[1], [2, 3], [4]]}", "row 1 has 2 values"},
		{"matrix off matmul", "{column: x, op: softmax, matrix: [[1]]}", "matmul only"},
		{"bin without shape", "{column: x, op: matmul, matrix_file: w.bin}", "matrix_shape"},
		{"missing file", "{column: x, op: matmul, matrix_file: nope.npy}", "nope.npy"},
		{"unknown backend", "{column: x, op: softmax, backend: tpu}", "unknown backend"},
		{"same topk columns", "{column: x, op: topk, k: 1, into: a, indices_into: a}", "must differ"},
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 12), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stagetest.Build(t, nil, stagetest.Mem(t), "vector", tt.with, dir, inSchema)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestNullElement(t *testing.T) {
	mem := stagetest.Mem(t)
	s := stagetest.MustBuild(t, nil, mem, "vector", "{column: x, op: normalize, backend: cpu}", "", inSchema)
	b := array.NewRecordBuilder(mem, inSchema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{0, 1}, nil)
	lb := b.Field(1).(*array.FixedSizeListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	lb.Append(true)
	vb.AppendValues([]float32{1, 2, 3}, nil)
	lb.Append(true)
	vb.AppendValues([]float32{1, 0, 3}, []bool{true, false, true})
	in := b.NewRecordBatch()
	defer in.Release()
	out, err := s.(stages.Transform).Process(context.Background(), in)
	if out != nil {
		out.Release()
	}
	if err == nil || !strings.Contains(err.Error(), `column "x": row 1: element 1 is null`) {
		t.Errorf("error = %v", err)
	}
}

func TestSlicedInput(t *testing.T) {
	mem := stagetest.Mem(t)
	s := stagetest.MustBuild(t, nil, mem, "vector", "{column: x, op: normalize, into: n, backend: cpu}", "", inSchema)
	in := batch(t, mem, []float32{1, 0, 0}, []float32{0, 3, 4}, []float32{0, 0, 2})
	defer in.Release()
	sl := in.NewSlice(1, 3)
	defer sl.Release()
	out, err := s.(stages.Transform).Process(context.Background(), sl)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	got := floatRows(t, out.Column(2))
	if len(got) != 2 || !near(got[0], []float32{0, 0.6, 0.8}) || !near(got[1], []float32{0, 0, 1}) {
		t.Errorf("sliced normalize = %v", got)
	}
}

// TestBackendSelection: with the job's executor, auto runs on Metal where
// it is usable and on the Go kernels elsewhere; backend metal fails where
// Metal is not usable, naming the key. Without an executor auto falls
// back to the Go kernels.
func TestBackendSelection(t *testing.T) {
	mem := stagetest.Mem(t)
	ex, err := executor.New(executor.Options{HealthInterval: -1, CanaryBackend: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	s := buildWith(t, mem, ex, "{column: x, op: softmax, backend: auto}")
	_, isCPU := s.(*stage).runner.(cpuRunner)
	if metalUsable() == isCPU {
		t.Errorf("auto chose cpu = %v with metal usable = %v", isCPU, metalUsable())
	}
	bare := stagetest.MustBuild(t, nil, mem, "vector", "{column: x, op: softmax, backend: auto}", "", inSchema)
	if _, ok := bare.(*stage).runner.(cpuRunner); !ok {
		t.Errorf("auto without an executor: runner %T, want the Go kernels", bare.(*stage).runner)
	}
	env := &stages.Env{ID: "vec", Inputs: []*arrow.Schema{inSchema}, Mem: mem, Log: slog.New(slog.DiscardHandler), Executor: ex}
	_, err = stagetest.BuildEnv(t, nil, "vector", "{column: x, op: softmax, backend: metal}", env)
	if metalUsable() != (err == nil) {
		t.Errorf("backend metal: error %v with metal usable = %v", err, metalUsable())
	}
	if err != nil && !strings.Contains(err.Error(), "backend: ") {
		t.Errorf("backend metal error does not name the key: %v", err)
	}
}
