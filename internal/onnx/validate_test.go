package onnx

import (
	"errors"
	"strings"
	"testing"
)

// validModel is a two-node graph that passes Validate.
func validModel() *Model {
	g := NewGraph("g")
	g.AddInput(TensorValue("x", Float, Sym("N"), Fix(2)))
	g.AddInitializer(FloatTensor("w", []int64{2, 2}, []float32{1, 2, 3, 4}))
	g.AddNode("MatMul", []string{"x", "w"}, []string{"h"})
	g.AddNode("Relu", []string{"h"}, []string{"y"})
	g.AddOutput(TensorValue("y", Float, Sym("N"), Fix(2)))
	return NewModel(g)
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(m *Model)
		want   string // "" = valid
	}{
		{"valid", func(*Model) {}, ""},
		{"ai.onnx domain", func(m *Model) { m.OpsetImports[0].Domain = "ai.onnx" }, ""},
		{"initializer as input", func(m *Model) { m.Graph.AddInput(TensorValue("w", Float, Fix(2), Fix(2))) }, ""},
		{"optional input omitted", func(m *Model) { m.Graph.Nodes[1].Inputs = append(m.Graph.Nodes[1].Inputs, "") }, ""},
		{"no graph", func(m *Model) { m.Graph = nil }, "no graph"},
		{"no default opset", func(m *Model) { m.OpsetImports = nil }, "no operator set imported for the default domain"},
		{"opset twice", func(m *Model) { m.OpsetImports = append(m.OpsetImports, OpsetID{Version: 13}) }, "imported twice"},
		{"undefined input", func(m *Model) { m.Graph.Nodes[0].Inputs[1] = "nope" }, `node 0 (MatMul "MatMul_0"): input "nope" is not defined`},
		{"use before definition", func(m *Model) { m.Graph.Nodes[0], m.Graph.Nodes[1] = m.Graph.Nodes[1], m.Graph.Nodes[0] }, `input "h" is not defined before it`},
		{"defined twice", func(m *Model) { m.Graph.Nodes[1].Outputs[0] = "h" }, `value "h" is defined by node 0`},
		{"output not produced", func(m *Model) { m.Graph.Outputs[0].Name = "z" }, `graph output 0 "z" is not produced`},
		{"no outputs", func(m *Model) { m.Graph.Outputs = nil }, "graph has no outputs"},
		{"untyped input", func(m *Model) { m.Graph.Inputs[0].Type = nil }, `graph input 0 "x" has no type`},
		{"domain not imported", func(m *Model) { m.Graph.Nodes[1].Domain = DomainML }, `uses domain "ai.onnx.ml"`},
		{"no op type", func(m *Model) { m.Graph.Nodes[1].OpType = "" }, "has no op_type"},
		{"bad initializer", func(m *Model) { m.Graph.Initializers[0].Dims = []int64{3, 2} }, "has 16 bytes of raw_data, want 24"},
		{"unnamed initializer", func(m *Model) { m.Graph.Initializers = append(m.Graph.Initializers, Int64Tensor("", nil, []int64{1})) }, "has an empty name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := validModel()
			tc.change(m)
			err := Validate(m)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
