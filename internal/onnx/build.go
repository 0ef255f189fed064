package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Default versions written by [NewModel].
const (
	// IRVersion is the IR version of ONNX 1.10 to 1.13, which ONNX Runtime
	// 1.x reads.
	IRVersion = 8
	// Opset is the default-domain operator set pipe's models use.
	Opset = 17
	// DomainML is the classical-ML operator domain (ZipMap and friends).
	DomainML = "ai.onnx.ml"
)

// NewModel returns a model around g with IR version [IRVersion], producer
// "pipe" and the given operator sets; with none, the default domain at
// [Opset].
func NewModel(g *Graph, opsets ...OpsetID) *Model {
	if len(opsets) == 0 {
		opsets = []OpsetID{{Domain: "", Version: Opset}}
	}
	return &Model{IRVersion: IRVersion, OpsetImports: opsets, ProducerName: "pipe", Graph: g}
}

// NewGraph returns an empty graph called name.
func NewGraph(name string) *Graph { return &Graph{Name: name} }

// AddNode appends a node applying opType to inputs, producing outputs, and
// returns it (set Domain on it for non-default operator sets). The node is
// named after its operator and position, such as "Gemm_0".
func (g *Graph) AddNode(opType string, inputs, outputs []string, attrs ...*Attribute) *Node {
	n := &Node{
		Inputs:     inputs,
		Outputs:    outputs,
		Name:       fmt.Sprintf("%s_%d", opType, len(g.Nodes)),
		OpType:     opType,
		Attributes: attrs,
	}
	g.Nodes = append(g.Nodes, n)
	return n
}

// AddInitializer appends constant tensors to the graph.
func (g *Graph) AddInitializer(ts ...*Tensor) { g.Initializers = append(g.Initializers, ts...) }

// AddInput appends graph inputs.
func (g *Graph) AddInput(vs ...*ValueInfo) { g.Inputs = append(g.Inputs, vs...) }

// AddOutput appends graph outputs.
func (g *Graph) AddOutput(vs ...*ValueInfo) { g.Outputs = append(g.Outputs, vs...) }

// Fix returns a fixed dimension of size n.
func Fix(n int64) Dim { return Dim{Value: n} }

// Sym returns a symbolic dimension called name.
func Sym(name string) Dim { return Dim{Value: -1, Param: name} }

// TensorOf returns a tensor type with the given element type and shape.
func TensorOf(elem DataType, dims ...Dim) *Type {
	return &Type{Tensor: &TensorType{ElemType: elem, Shape: &Shape{Dims: dims}}}
}

// SequenceOf returns the type of a sequence of elem.
func SequenceOf(elem *Type) *Type { return &Type{Sequence: &SequenceType{Elem: elem}} }

// MapOf returns the type of a map from key to value.
func MapOf(key DataType, value *Type) *Type { return &Type{Map: &MapType{Key: key, Value: value}} }

// Value returns a value description: a graph input or output.
func Value(name string, t *Type) *ValueInfo { return &ValueInfo{Name: name, Type: t} }

// TensorValue returns the description of a tensor value.
func TensorValue(name string, elem DataType, dims ...Dim) *ValueInfo {
	return Value(name, TensorOf(elem, dims...))
}

// FloatTensor returns a float32 initializer stored as raw little-endian
// bytes, as exporters write weights.
func FloatTensor(name string, dims []int64, data []float32) *Tensor {
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return &Tensor{Name: name, Dims: dims, DataType: Float, RawData: raw}
}

// Int64Tensor returns an int64 initializer stored in int64_data.
func Int64Tensor(name string, dims []int64, data []int64) *Tensor {
	return &Tensor{Name: name, Dims: dims, DataType: Int64, Int64Data: data}
}

// IntAttr returns an INT attribute.
func IntAttr(name string, v int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInt, I: v}
}

// FloatAttr returns a FLOAT attribute.
func FloatAttr(name string, v float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloat, F: v}
}

// StringAttr returns a STRING attribute.
func StringAttr(name, v string) *Attribute {
	return &Attribute{Name: name, Type: AttrString, S: []byte(v)}
}

// IntsAttr returns an INTS attribute.
func IntsAttr(name string, vs ...int64) *Attribute {
	return &Attribute{Name: name, Type: AttrInts, Ints: vs}
}

// FloatsAttr returns a FLOATS attribute.
func FloatsAttr(name string, vs ...float32) *Attribute {
	return &Attribute{Name: name, Type: AttrFloats, Floats: vs}
}

// StringsAttr returns a STRINGS attribute.
func StringsAttr(name string, vs ...string) *Attribute {
	a := &Attribute{Name: name, Type: AttrStrings}
	for _, v := range vs {
		a.Strings = append(a.Strings, []byte(v))
	}
	return a
}

// TensorAttr returns a TENSOR attribute.
func TensorAttr(name string, t *Tensor) *Attribute {
	return &Attribute{Name: name, Type: AttrTensor, T: t}
}
