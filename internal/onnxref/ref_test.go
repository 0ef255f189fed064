package onnxref

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/pipe-ml/pipe/internal/onnx"
)

const models = "../../testdata/models/"

// fill returns n deterministic float32 values in [-1.5, 1.5].
func fill(n int, seed float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(1.5 * math.Sin(seed+0.37*float64(i)))
	}
	return out
}

func load(t *testing.T, name string) *Ref {
	t.Helper()
	r, err := Load(models + name)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestModels runs every generated model and checks output shapes and a
// property of the values.
func TestModels(t *testing.T) {
	tests := []struct {
		file   string
		inputs map[string]Tensor
		shapes map[string][]int64
		check  func(t *testing.T, in, out map[string]Tensor)
	}{
		{"mlp.onnx", map[string]Tensor{"x": f32([]int64{3, 32}, fill(96, 1)...)}, map[string][]int64{"probs": {3, 8}},
			func(t *testing.T, _, out map[string]Tensor) { rowsSumToOne(t, out["probs"], 8) }},
		{"head.onnx", map[string]Tensor{"h": f32([]int64{3, 8}, fill(24, 2)...)}, map[string][]int64{"score": {3, 1}},
			func(t *testing.T, _, out map[string]Tensor) {
				for _, v := range out["score"].F32 {
					if v <= 0 || v >= 1 {
						t.Errorf("sigmoid output %v outside (0,1)", v)
					}
				}
			}},
		{"two_io.onnx", map[string]Tensor{"a": f32([]int64{2, 4}, fill(8, 3)...), "b": f32([]int64{2, 4}, fill(8, 4)...)},
			map[string][]int64{"sum": {2, 4}, "proj": {2, 2}},
			func(t *testing.T, in, out map[string]Tensor) {
				for i, v := range out["sum"].F32 {
					if want := in["a"].F32[i] + in["b"].F32[i]; v != want {
						t.Errorf("sum[%d] = %v, want %v", i, v, want)
					}
				}
			}},
		{"static_batch.onnx", map[string]Tensor{"x": f32([]int64{8, 16}, fill(128, 5)...)}, map[string][]int64{"y": {8, 4}}, nil},
		{"image.onnx", map[string]Tensor{"img": f32([]int64{2, 3, 5, 7}, fill(210, 6)...)}, map[string][]int64{"feat": {2, 4}},
			func(t *testing.T, _, out map[string]Tensor) {
				for _, v := range out["feat"].F32 {
					if v < 0 {
						t.Errorf("pooled ReLU output %v is negative", v)
					}
				}
			}},
		{"int64.onnx", map[string]Tensor{
			"ids":  {Shape: []int64{2, 3}, I64: []int64{1, -2, 300, 1, -2, 300}},
			"flag": {Shape: []int64{2}, Bool: []bool{true, false}},
		}, map[string][]int64{"out": {2, 2}},
			func(t *testing.T, _, out map[string]Tensor) {
				o := out["out"].F32 // same ids, flag differs: rows differ by exactly 1
				for j := range 2 {
					if d := o[j] - o[2+j]; math.Abs(float64(d)-1) > 1e-4 {
						t.Errorf("column %d: flagged row minus plain row = %v, want 1", j, d)
					}
				}
			}},
		// An empty batch: 160 layers of 512x512 take seconds under -race;
		// internal/onnx/testmodels evaluates this model at N=1.
		{"slow.onnx", map[string]Tensor{"x": f32([]int64{0, 512})}, map[string][]int64{"y": {0, 512}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			out, err := load(t, tc.file).Run(tc.inputs)
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != len(tc.shapes) {
				t.Fatalf("%d outputs, want %d", len(out), len(tc.shapes))
			}
			for name, shape := range tc.shapes {
				if got := out[name].Shape; !reflect.DeepEqual(got, shape) {
					t.Errorf("output %q shape %v, want %v", name, got, shape)
				}
				for _, v := range out[name].F32 {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("output %q has %v", name, v)
					}
				}
			}
			if tc.check != nil {
				tc.check(t, tc.inputs, out)
			}
		})
	}
}

func rowsSumToOne(t *testing.T, p Tensor, width int) {
	t.Helper()
	for r := 0; r*width < len(p.F32); r++ {
		s := 0.0
		for _, v := range p.F32[r*width : (r+1)*width] {
			if v < 0 || v > 1 {
				t.Errorf("probability %v outside [0,1]", v)
			}
			s += float64(v)
		}
		if math.Abs(s-1) > 1e-6 {
			t.Errorf("row %d sums to %v", r, s)
		}
	}
}

func TestSeqmap(t *testing.T) {
	r := load(t, "seqmap.onnx")
	in := map[string]Tensor{"x": f32([]int64{4, 4}, fill(16, 7)...)}
	_, err := r.Run(in)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "ZipMap") {
		t.Fatalf("Run with all outputs: error %v, want ErrUnsupported naming ZipMap", err)
	}
	out, err := r.Run(in, "label")
	if err != nil {
		t.Fatal(err)
	}
	label := out["label"]
	if !reflect.DeepEqual(label.Shape, []int64{4}) || len(label.I64) != 4 {
		t.Fatalf("label %+v, want int64 [4]", label)
	}
	for _, v := range label.I64 {
		if v < 0 || v > 2 {
			t.Errorf("label %d outside 0..2", v)
		}
	}
}

func TestInputErrors(t *testing.T) {
	tests := []struct {
		file   string
		name   string
		inputs map[string]Tensor
		msg    string
	}{
		{"mlp.onnx", "missing", map[string]Tensor{}, `input "x" is missing`},
		{"mlp.onnx", "unknown", map[string]Tensor{"x": f32([]int64{1, 32}, fill(32, 0)...), "z": f32([]int64{1}, 1)}, `no input "z"`},
		{"mlp.onnx", "wrong width", map[string]Tensor{"x": f32([]int64{1, 31}, fill(31, 0)...)}, "has shape [1 31], model wants [N,32]"},
		{"mlp.onnx", "wrong rank", map[string]Tensor{"x": f32([]int64{32}, fill(32, 0)...)}, "has shape [32]"},
		{"mlp.onnx", "short data", map[string]Tensor{"x": f32([]int64{2, 32}, fill(32, 0)...)}, "32 values for shape [2 32]"},
		{"mlp.onnx", "wrong type", map[string]Tensor{"x": {Shape: []int64{1, 32}, I64: make([]int64, 32)}}, "model wants float data, tensor holds int64"},
		{"mlp.onnx", "negative dim", map[string]Tensor{"x": {Shape: []int64{-1, 32}, F32: []float32{}}}, "negative dimension"},
		{"static_batch.onnx", "batch not 8", map[string]Tensor{"x": f32([]int64{7, 16}, fill(112, 0)...)}, "model wants [8,16]"},
		{"two_io.onnx", "N differs", map[string]Tensor{"a": f32([]int64{1, 4}, fill(4, 0)...), "b": f32([]int64{2, 4}, fill(8, 0)...)}, "dimension N is 2 here and 1"},
		{"int64.onnx", "bool as float", map[string]Tensor{"ids": {Shape: []int64{1, 3}, I64: []int64{1, 2, 3}}, "flag": f32([]int64{1}, 1)}, "model wants bool data"},
	}
	for _, tc := range tests {
		t.Run(tc.file+" "+tc.name, func(t *testing.T) {
			_, err := load(t, tc.file).Run(tc.inputs)
			if !errors.Is(err, ErrInput) {
				t.Fatalf("error %v, want ErrInput", err)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
	_, err := load(t, "mlp.onnx").Run(map[string]Tensor{"x": f32([]int64{1, 32}, fill(32, 0)...)}, "nope")
	if !errors.Is(err, ErrInput) {
		t.Fatalf("unknown output: error %v, want ErrInput", err)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(models + "corrupt.onnx"); !errors.Is(err, onnx.ErrMalformed) {
		t.Errorf("corrupt: error %v, want onnx.ErrMalformed", err)
	}
	g := onnx.NewGraph("g")
	g.AddInput(onnx.TensorValue("x", onnx.Float, onnx.Fix(1)))
	g.AddNode("Selu", []string{"x"}, []string{"y"})
	g.AddOutput(onnx.TensorValue("y", onnx.Float, onnx.Fix(1)))
	_, err := New(onnx.NewModel(g))
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), `"Selu"`) {
		t.Errorf("unknown operator: error %v, want ErrUnsupported naming Selu", err)
	}
	g.Nodes[0].OpType = "Relu"
	g.Nodes[0].Inputs[0] = "undefined"
	if _, err := New(onnx.NewModel(g)); !errors.Is(err, onnx.ErrInvalid) {
		t.Errorf("invalid graph: error %v, want onnx.ErrInvalid", err)
	}
}

// TestDeclaredOutputShape checks that a result contradicting the model's
// declared output shape is reported.
func TestDeclaredOutputShape(t *testing.T) {
	g := onnx.NewGraph("g")
	g.AddInput(onnx.TensorValue("x", onnx.Float, onnx.Fix(2)))
	g.AddNode("Relu", []string{"x"}, []string{"y"})
	g.AddOutput(onnx.TensorValue("y", onnx.Float, onnx.Fix(3)))
	r, err := New(onnx.NewModel(g))
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Run(map[string]Tensor{"x": f32([]int64{2}, 1, 2)})
	if !errors.Is(err, ErrEval) || !strings.Contains(err.Error(), "model declares [3]") {
		t.Fatalf("error %v, want ErrEval about the declared shape", err)
	}
}

func TestConcurrentRun(t *testing.T) {
	r := load(t, "mlp.onnx")
	in := map[string]Tensor{"x": f32([]int64{2, 32}, fill(64, 3)...)}
	want, err := r.Run(in)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			got, err := r.Run(in)
			if err == nil && !reflect.DeepEqual(got, want) {
				err = errors.New("results differ")
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if got := r.String(); !strings.Contains(got, "x tensor(float)[N,32] -> probs") {
		t.Errorf("String() = %q", got)
	}
}
