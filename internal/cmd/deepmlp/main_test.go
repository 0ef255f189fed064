package main

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-ml/pipe/internal/onnx"
	"github.com/pipe-ml/pipe/internal/onnx/testmodels"
	"github.com/pipe-ml/pipe/internal/onnxref"
)

// TestWritesLoadableModel writes a small deep MLP and checks it with the
// reference interpreter: declared shapes, one weight per layer of the
// stated widths, and a [2, 8] softmax output for two rows.
func TestWritesLoadableModel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "deep.onnx")
	var stdout bytes.Buffer
	if err := run([]string{"-out", path, "-dims", "32,64,48,8"}, &stdout); err != nil {
		t.Fatal(err)
	}
	m, err := onnx.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	if len(info.Inputs) != 1 || info.Inputs[0].Name != "x" || info.Inputs[0].Shape[1].Size != 32 {
		t.Fatalf("inputs = %+v, want x [N, 32]", info.Inputs)
	}
	if len(info.Outputs) != 1 || info.Outputs[0].Name != "probs" || info.Outputs[0].Shape[1].Size != 8 {
		t.Fatalf("outputs = %+v, want probs [N, 8]", info.Outputs)
	}
	wantW := map[string][2]int64{"fc1.weight": {64, 32}, "fc2.weight": {48, 64}, "fc3.weight": {8, 48}}
	for _, init := range m.Graph.Initializers {
		if w, ok := wantW[init.Name]; ok {
			if len(init.Dims) != 2 || init.Dims[0] != w[0] || init.Dims[1] != w[1] {
				t.Errorf("%s dims = %v, want %v", init.Name, init.Dims, w)
			}
			delete(wantW, init.Name)
		}
	}
	if len(wantW) != 0 {
		t.Errorf("missing weights %v", wantW)
	}
	ref, err := onnxref.New(m)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 2*32)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	out, err := ref.Run(map[string]onnxref.Tensor{"x": {Shape: []int64{2, 32}, F32: x}}, "probs")
	if err != nil {
		t.Fatal(err)
	}
	p := out["probs"]
	if len(p.Shape) != 2 || p.Shape[0] != 2 || p.Shape[1] != 8 || len(p.F32) != 16 {
		t.Fatalf("probs shape %v (%d values), want [2 8]", p.Shape, len(p.F32))
	}
	for row := range 2 {
		var sum float64
		for _, v := range p.F32[row*8 : row*8+8] {
			sum += float64(v)
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Errorf("row %d: probs sum to %v, want 1", row, sum)
		}
	}
}

// TestDeterministic checks that the same flags write the same bytes and
// another seed other bytes.
func TestDeterministic(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, args ...string) []byte {
		p := filepath.Join(dir, name)
		if err := run(append([]string{"-out", p, "-dims", "4,6,2"}, args...), &bytes.Buffer{}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a, b, c := write("a.onnx"), write("b.onnx"), write("c.onnx", "-seed", "2")
	if !bytes.Equal(a, b) {
		t.Error("two runs with the same flags wrote different bytes")
	}
	if bytes.Equal(a, c) {
		t.Error("another seed wrote the same bytes")
	}
}

// TestDefaultDims checks the benchmark's widths and weight count: about 34
// MB of float32 weights.
func TestDefaultDims(t *testing.T) {
	want := []int64{32, 2048, 2048, 2048, 8}
	if len(testmodels.DeepDims) != len(want) {
		t.Fatalf("DeepDims = %v, want %v", testmodels.DeepDims, want)
	}
	var weights int64
	for i, d := range want {
		if testmodels.DeepDims[i] != d {
			t.Fatalf("DeepDims = %v, want %v", testmodels.DeepDims, want)
		}
		if i > 0 {
			weights += want[i-1]*d + d
		}
	}
	if mb := float64(4*weights) / 1e6; mb < 33 || mb > 35 {
		t.Errorf("weights take %.1f MB, want about 34", mb)
	}
}

// TestBadInput checks that bad flags are errors, not panics.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want error
	}{
		{"no out", []string{"-dims", "4,2"}, ErrUsage},
		{"not a number", []string{"-out", "x.onnx", "-dims", "4,a"}, ErrUsage},
		{"one width", []string{"-out", "x.onnx", "-dims", "4"}, testmodels.ErrDeepDims},
		{"zero width", []string{"-out", "x.onnx", "-dims", "4,0,2"}, testmodels.ErrDeepDims},
		{"unknown flag", []string{"-nope"}, ErrUsage},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Chdir(t.TempDir())
			err := run(c.args, &bytes.Buffer{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
}
