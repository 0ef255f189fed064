package onnx

import (
	"errors"
	"io/fs"
	"reflect"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

const models = "../../testdata/models/"

func TestReadOpset(t *testing.T) {
	for _, name := range []string{"mlp.onnx", "seqmap.onnx", "image.onnx"} {
		t.Run(name, func(t *testing.T) {
			v, err := ReadOpset(models + name)
			if err != nil {
				t.Fatal(err)
			}
			if v != Opset {
				t.Fatalf("opset %d, want %d", v, Opset)
			}
		})
	}
}

func TestReadInfo(t *testing.T) {
	n := bridge.Dim{Size: -1, Name: "N"}
	tests := []struct {
		file    string
		inputs  []bridge.TensorInfo
		outputs []bridge.TensorInfo
	}{
		{"mlp.onnx",
			[]bridge.TensorInfo{{Name: "x", Type: bridge.Float32, Shape: bridge.Shape{n, {Size: 32}}, Kind: "tensor"}},
			[]bridge.TensorInfo{{Name: "probs", Type: bridge.Float32, Shape: bridge.Shape{n, {Size: 8}}, Kind: "tensor"}}},
		{"int64.onnx",
			[]bridge.TensorInfo{
				{Name: "ids", Type: bridge.Int64, Shape: bridge.Shape{n, {Size: 3}}, Kind: "tensor"},
				{Name: "flag", Type: bridge.Bool, Shape: bridge.Shape{n}, Kind: "tensor"},
			},
			[]bridge.TensorInfo{{Name: "out", Type: bridge.Float32, Shape: bridge.Shape{n, {Size: 2}}, Kind: "tensor"}}},
		{"seqmap.onnx",
			[]bridge.TensorInfo{{Name: "x", Type: bridge.Float32, Shape: bridge.Shape{n, {Size: 4}}, Kind: "tensor"}},
			[]bridge.TensorInfo{
				{Name: "label", Type: bridge.Int64, Shape: bridge.Shape{n}, Kind: "tensor"},
				{Name: "probabilities", Type: bridge.Float32, Kind: "sequence"},
			}},
		{"image.onnx",
			[]bridge.TensorInfo{{Name: "img", Type: bridge.Float32, Kind: "tensor",
				Shape: bridge.Shape{n, {Size: 3}, {Size: -1, Name: "H"}, {Size: -1, Name: "W"}}}},
			[]bridge.TensorInfo{{Name: "feat", Type: bridge.Float32, Shape: bridge.Shape{n, {Size: 4}}, Kind: "tensor"}}},
		{"static_batch.onnx",
			[]bridge.TensorInfo{{Name: "x", Type: bridge.Float32, Shape: bridge.Shape{{Size: 8}, {Size: 16}}, Kind: "tensor"}},
			[]bridge.TensorInfo{{Name: "y", Type: bridge.Float32, Shape: bridge.Shape{{Size: 8}, {Size: 4}}, Kind: "tensor"}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			info, err := ReadInfo(models + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(info.Inputs, tc.inputs) {
				t.Errorf("inputs %+v, want %+v", info.Inputs, tc.inputs)
			}
			if !reflect.DeepEqual(info.Outputs, tc.outputs) {
				t.Errorf("outputs %+v, want %+v", info.Outputs, tc.outputs)
			}
			if info.Format != "onnx" || info.Opset != 17 || info.Producer != "pipe-testdata 1" {
				t.Errorf("format %q opset %d producer %q", info.Format, info.Opset, info.Producer)
			}
			if info.Metadata["generator"] != "testdata/gen/models" || info.Description == "" {
				t.Errorf("metadata %v description %q", info.Metadata, info.Description)
			}
		})
	}
}

func TestInfoSkipsInitializerInputs(t *testing.T) {
	m := validModel()
	m.Graph.AddInput(TensorValue("w", Float, Fix(2), Fix(2)))
	info := m.Info()
	if len(info.Inputs) != 1 || info.Inputs[0].Name != "x" {
		t.Fatalf("inputs %+v, want only x", info.Inputs)
	}
}

func TestReadFileErrors(t *testing.T) {
	_, err := ReadFile(models + "corrupt.onnx")
	if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "corrupt.onnx") {
		t.Errorf("corrupt: error %v, want ErrMalformed naming the file", err)
	}
	_, err = ReadInfo(models + "missing.onnx")
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: error %v, want fs.ErrNotExist", err)
	}
	_, err = ReadOpset(models + "corrupt.onnx")
	if !errors.Is(err, ErrMalformed) {
		t.Errorf("ReadOpset corrupt: error %v", err)
	}
}

func TestOpsetDomains(t *testing.T) {
	m := &Model{OpsetImports: []OpsetID{{"ai.onnx", 13}, {"", 11}, {DomainML, 3}}}
	if got := m.Opset(""); got != 13 {
		t.Errorf("Opset(\"\") = %d, want 13", got)
	}
	if got := m.Opset(DomainML); got != 3 {
		t.Errorf("Opset(ml) = %d, want 3", got)
	}
	if got := m.Opset("x"); got != 0 {
		t.Errorf("Opset(x) = %d, want 0", got)
	}
}
