//go:build cgo

package ort

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/onnx"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// identityModel writes a model whose output y is its input x, of element
// type elem and shape [N, 2], and returns its path.
func identityModel(t *testing.T, elem bridge.ElemType) string {
	t.Helper()
	g := onnx.NewGraph("identity")
	g.AddInput(onnx.TensorValue("x", onnx.DataType(elem), onnx.Sym("N"), onnx.Fix(2)))
	g.AddOutput(onnx.TensorValue("y", onnx.DataType(elem), onnx.Sym("N"), onnx.Fix(2)))
	g.AddNode("Identity", []string{"x"}, []string{"y"})
	p := filepath.Join(t.TempDir(), "identity_"+elem.String()+".onnx")
	if err := os.WriteFile(p, onnx.NewModel(g).Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestElemTypesRoundTrip passes every element type the bridge supports
// through an Identity model and checks the bytes (or strings) come back.
func TestElemTypesRoundTrip(t *testing.T) {
	b := cpuBackend(t)
	for _, elem := range ElemTypes() {
		t.Run(elem.String(), func(t *testing.T) {
			mem := stagetest.Mem(t)
			s, err := b.Open(context.Background(), identityModel(t, elem), bridge.Options{IntraOpThreads: 1})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			defer s.Close()
			if got := s.Info().Inputs[0].Type; got != elem {
				t.Fatalf("input type %v, want %v", got, elem)
			}
			in := bridge.Tensor{Type: elem, Shape: []int64{3, 2}}
			if elem == bridge.String {
				in.Strings = []string{"a", "", "héllo", "pipe", "x y", "last"}
			} else {
				in.Data = make([]byte, 6*elem.Size())
				for i := range in.Data {
					in.Data[i] = byte(i*37 + 1)
				}
				if elem == bridge.Bool {
					for i := range in.Data {
						in.Data[i] = byte(i % 2)
					}
				}
			}
			out, err := s.Run(context.Background(), []bridge.Tensor{in}, mem)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			defer freeOutputs(mem, out)
			if out[0].Type != elem || !slices.Equal(out[0].Shape, in.Shape) {
				t.Fatalf("output %v %v, want %v %v", out[0].Type, out[0].Shape, elem, in.Shape)
			}
			if !bytes.Equal(out[0].Data, in.Data) || !slices.Equal(out[0].Strings, in.Strings) {
				t.Fatalf("output data %v %q, want %v %q", out[0].Data, out[0].Strings, in.Data, in.Strings)
			}
		})
	}
}

func TestStringWithNULIsInvalid(t *testing.T) {
	b := cpuBackend(t)
	mem := stagetest.Mem(t)
	s, err := b.Open(context.Background(), identityModel(t, bridge.String), bridge.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	defer s.Close()
	in := bridge.Tensor{Type: bridge.String, Shape: []int64{1, 2}, Strings: []string{"ok", "x\x00y"}}
	_, err = s.Run(context.Background(), []bridge.Tensor{in}, mem)
	if bridge.ClassOf(err) != bridge.ClassInvalidInput || !strings.Contains(err.Error(), "string 1 contains a NUL byte") {
		t.Fatalf("Run() = %v, want an invalid-input error about the NUL byte", err)
	}
}
