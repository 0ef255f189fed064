//go:build cgo

package ort

import (
	"context"
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func sym(name string) bridge.Dim { return bridge.Dim{Size: -1, Name: name} }
func fixed(n int64) bridge.Dim   { return bridge.Dim{Size: n} }

func tensor(name string, typ bridge.ElemType, dims ...bridge.Dim) bridge.TensorInfo {
	return bridge.TensorInfo{Name: name, Type: typ, Shape: dims, Kind: "tensor"}
}

func TestModelInfo(t *testing.T) {
	f32 := bridge.Float32
	tests := []struct {
		model   string
		inputs  []bridge.TensorInfo
		outputs []bridge.TensorInfo
	}{
		{"mlp.onnx", []bridge.TensorInfo{tensor("x", f32, sym("N"), fixed(32))},
			[]bridge.TensorInfo{tensor("probs", f32, sym("N"), fixed(8))}},
		{"head.onnx", []bridge.TensorInfo{tensor("h", f32, sym("N"), fixed(8))},
			[]bridge.TensorInfo{tensor("score", f32, sym("N"), fixed(1))}},
		{"two_io.onnx", []bridge.TensorInfo{tensor("a", f32, sym("N"), fixed(4)), tensor("b", f32, sym("N"), fixed(4))},
			[]bridge.TensorInfo{tensor("sum", f32, sym("N"), fixed(4)), tensor("proj", f32, sym("N"), fixed(2))}},
		{"static_batch.onnx", []bridge.TensorInfo{tensor("x", f32, fixed(8), fixed(16))},
			[]bridge.TensorInfo{tensor("y", f32, fixed(8), fixed(4))}},
		{"image.onnx", []bridge.TensorInfo{tensor("img", f32, sym("N"), fixed(3), sym("H"), sym("W"))},
			[]bridge.TensorInfo{tensor("feat", f32, sym("N"), fixed(4))}},
		{"int64.onnx", []bridge.TensorInfo{tensor("ids", bridge.Int64, sym("N"), fixed(3)), tensor("flag", bridge.Bool, sym("N"))},
			[]bridge.TensorInfo{tensor("out", f32, sym("N"), fixed(2))}},
		{"seqmap.onnx", []bridge.TensorInfo{tensor("x", f32, sym("N"), fixed(4))},
			[]bridge.TensorInfo{tensor("label", bridge.Int64, sym("N")), {Name: "probabilities", Kind: "sequence"}}},
		{"slow.onnx", []bridge.TensorInfo{tensor("x", f32, sym("N"), fixed(512))},
			[]bridge.TensorInfo{tensor("y", f32, sym("N"), fixed(512))}},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			info := openModel(t, tt.model).Info()
			if info.Format != "onnx" || info.Opset != 0 {
				t.Errorf("Format %q Opset %d, want onnx and 0", info.Format, info.Opset)
			}
			if !reflect.DeepEqual(info.Inputs, tt.inputs) {
				t.Errorf("Inputs = %+v\nwant %+v", info.Inputs, tt.inputs)
			}
			if !reflect.DeepEqual(info.Outputs, tt.outputs) {
				t.Errorf("Outputs = %+v\nwant %+v", info.Outputs, tt.outputs)
			}
			if info.Producer != "pipe-testdata" || info.Description == "" {
				t.Errorf("Producer %q Description %q", info.Producer, info.Description)
			}
			if info.Metadata["generator"] != "testdata/gen/models" {
				t.Errorf("Metadata = %v, want generator=testdata/gen/models", info.Metadata)
			}
		})
	}
}

func TestInfoIsACopy(t *testing.T) {
	s := openModel(t, "mlp.onnx")
	info := s.Info()
	info.Inputs[0].Name = "changed"
	info.Inputs[0].Shape[1].Size = 1
	info.Metadata["generator"] = "changed"
	again := s.Info()
	if again.Inputs[0].Name != "x" || again.Inputs[0].Shape[1].Size != 32 || again.Metadata["generator"] == "changed" {
		t.Fatalf("Info() shares memory with the session: %+v", again)
	}
}

func TestOpenBadModel(t *testing.T) {
	b := cpuBackend(t)
	missing := filepath.Join(t.TempDir(), "missing.onnx")
	tests := []struct {
		name string
		path string
		code int
	}{
		{"corrupt", modelPath(t, "corrupt.onnx"), codeInvalidProtobuf},
		{"missing", missing, codeNoSuchFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.Open(context.Background(), tt.path, bridge.Options{})
			if err == nil {
				s.Close()
				t.Fatal("Open() succeeded")
			}
			var be *bridge.Error
			if !errors.As(err, &be) || be.Class != bridge.ClassModelCorrupt || be.Code != tt.code || be.Op != opLoad {
				t.Fatalf("Open() = %v, want a model_corrupt load error with code %d", err, tt.code)
			}
			if !errors.Is(err, bridge.ErrModelCorrupt) || !strings.Contains(err.Error(), tt.path) {
				t.Fatalf("error %q does not name %s or match ErrModelCorrupt", err, tt.path)
			}
		})
	}
}

func TestOpenCanceledContext(t *testing.T) {
	b := cpuBackend(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := b.Open(ctx, modelPath(t, "mlp.onnx"), bridge.Options{})
	if bridge.ClassOf(err) != bridge.ClassCanceled || !errors.Is(err, context.Canceled) {
		t.Fatalf("Open() = %v, want canceled", err)
	}
}
