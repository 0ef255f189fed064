package onnx

import "fmt"

// DataType is an ONNX TensorProto.DataType value: the element type of a
// tensor. The numbering matches bridge.ElemType.
type DataType int32

// Element types used by pipe's models (the full ONNX list has more; unknown
// values decode and print as numbers).
const (
	Undefined DataType = 0
	Float     DataType = 1
	Uint8     DataType = 2
	Int8      DataType = 3
	Uint16    DataType = 4
	Int16     DataType = 5
	Int32     DataType = 6
	Int64     DataType = 7
	String    DataType = 8
	Bool      DataType = 9
	Float16   DataType = 10
	Double    DataType = 11
	Uint32    DataType = 12
	Uint64    DataType = 13
)

var dataTypeNames = map[DataType]string{
	Undefined: "undefined", Float: "float", Uint8: "uint8", Int8: "int8", Uint16: "uint16",
	Int16: "int16", Int32: "int32", Int64: "int64", String: "string", Bool: "bool",
	Float16: "float16", Double: "double", Uint32: "uint32", Uint64: "uint64",
}

func (t DataType) String() string {
	if n, ok := dataTypeNames[t]; ok {
		return n
	}
	return fmt.Sprintf("datatype(%d)", int32(t))
}

// Size returns the width of one element in raw_data, in bytes; 0 for
// strings and unknown types.
func (t DataType) Size() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16:
		return 2
	case Float, Int32, Uint32:
		return 4
	case Double, Int64, Uint64:
		return 8
	}
	return 0
}

// AttrType is an ONNX AttributeProto.AttributeType value.
type AttrType int32

// Attribute types. Graph-valued and sparse attributes are not supported:
// the decoder skips their payload and keeps only the type.
const (
	AttrUndefined AttrType = 0
	AttrFloat     AttrType = 1
	AttrInt       AttrType = 2
	AttrString    AttrType = 3
	AttrTensor    AttrType = 4
	AttrGraph     AttrType = 5
	AttrFloats    AttrType = 6
	AttrInts      AttrType = 7
	AttrStrings   AttrType = 8
)

// Model is an ONNX ModelProto, restricted to the fields pipe reads and
// writes. Fields the decoder does not know are skipped.
type Model struct {
	IRVersion       int64               // field 1
	OpsetImports    []OpsetID           // field 8
	ProducerName    string              // field 2
	ProducerVersion string              // field 3
	Domain          string              // field 4
	ModelVersion    int64               // field 5
	DocString       string              // field 6
	Graph           *Graph              // field 7
	MetadataProps   []StringStringEntry // field 14
}

// OpsetID is an OperatorSetIdProto: an operator-set domain ("" is the
// default ONNX domain, "ai.onnx.ml" the classical-ML one) and its version.
type OpsetID struct {
	Domain  string // field 1
	Version int64  // field 2
}

// StringStringEntry is a StringStringEntryProto, ONNX's map entry.
type StringStringEntry struct {
	Key   string // field 1
	Value string // field 2
}

// Graph is a GraphProto: nodes in topological order, constant initializers,
// and the declared inputs, outputs and intermediate value types.
type Graph struct {
	Nodes        []*Node      // field 1
	Name         string       // field 2
	Initializers []*Tensor    // field 5
	DocString    string       // field 10
	Inputs       []*ValueInfo // field 11
	Outputs      []*ValueInfo // field 12
	ValueInfo    []*ValueInfo // field 13
}

// Node is a NodeProto: one operator application. An empty string in Inputs
// marks an omitted optional input.
type Node struct {
	Inputs     []string     // field 1
	Outputs    []string     // field 2
	Name       string       // field 3
	OpType     string       // field 4
	Attributes []*Attribute // field 5
	DocString  string       // field 6
	Domain     string       // field 7
}

// Attr returns the node's attribute called name, or nil.
func (n *Node) Attr(name string) *Attribute {
	for _, a := range n.Attributes {
		if a.Name == name {
			return a
		}
	}
	return nil
}

// Attribute is an AttributeProto. Type tells which value field is in use.
type Attribute struct {
	Name    string    // field 1
	F       float32   // field 2
	I       int64     // field 3
	S       []byte    // field 4
	T       *Tensor   // field 5
	Floats  []float32 // field 7
	Ints    []int64   // field 8
	Strings [][]byte  // field 9
	Type    AttrType  // field 20
}

// Tensor is a TensorProto. Its values sit in exactly one of the typed
// fields or in RawData (fixed-width little-endian); see [Tensor.Float32s]
// and friends for reading either form.
type Tensor struct {
	Dims       []int64   // field 1
	DataType   DataType  // field 2
	FloatData  []float32 // field 4
	Int32Data  []int32   // field 5
	StringData [][]byte  // field 6
	Int64Data  []int64   // field 7
	Name       string    // field 8
	RawData    []byte    // field 9
	DoubleData []float64 // field 10
}

// NumElements returns the product of the tensor's dims (1 for a scalar),
// or -1 if a dim is negative or the product overflows.
func (t *Tensor) NumElements() int64 {
	return numElements(t.Dims)
}

func numElements(dims []int64) int64 {
	n := int64(1)
	for _, d := range dims {
		if d < 0 {
			return -1
		}
		if d != 0 && n > (1<<62)/d {
			return -1
		}
		n *= d
	}
	return n
}

// ValueInfo is a ValueInfoProto: the name and declared type of a graph
// input, output or intermediate value.
type ValueInfo struct {
	Name      string // field 1
	Type      *Type  // field 2
	DocString string // field 3
}

// Type is a TypeProto; exactly one of its fields is set for a well-formed
// value.
type Type struct {
	Tensor   *TensorType   // field 1
	Sequence *SequenceType // field 4
	Map      *MapType      // field 5
}

// Kind returns "tensor", "sequence", "map", or "unknown".
func (t *Type) Kind() string {
	switch {
	case t == nil:
		return "unknown"
	case t.Tensor != nil:
		return "tensor"
	case t.Sequence != nil:
		return "sequence"
	case t.Map != nil:
		return "map"
	}
	return "unknown"
}

func (t *Type) String() string {
	switch t.Kind() {
	case "tensor":
		s := "tensor(" + t.Tensor.ElemType.String() + ")"
		if t.Tensor.Shape != nil {
			s += t.Tensor.Shape.String()
		}
		return s
	case "sequence":
		return "sequence<" + t.Sequence.Elem.String() + ">"
	case "map":
		return "map<" + t.Map.Key.String() + "," + t.Map.Value.String() + ">"
	}
	return "unknown"
}

// TensorType is TypeProto.Tensor. A nil Shape means the rank is unknown.
type TensorType struct {
	ElemType DataType // field 1
	Shape    *Shape   // field 2
}

// SequenceType is TypeProto.Sequence.
type SequenceType struct {
	Elem *Type // field 1
}

// MapType is TypeProto.Map.
type MapType struct {
	Key   DataType // field 1
	Value *Type    // field 2
}

// Shape is a TensorShapeProto.
type Shape struct {
	Dims []Dim // field 1
}

func (s *Shape) String() string {
	b := []byte{'['}
	for i, d := range s.Dims {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, d.String()...)
	}
	return string(append(b, ']'))
}

// Dim is a TensorShapeProto.Dimension: a fixed size (Value >= 0), a named
// symbolic size (Param != ""), or unknown (Value < 0 and no Param).
type Dim struct {
	Value int64  // field 1; -1 when not set
	Param string // field 2
}

// Fixed reports whether the dimension has a fixed size.
func (d Dim) Fixed() bool { return d.Param == "" && d.Value >= 0 }

func (d Dim) String() string {
	switch {
	case d.Param != "":
		return d.Param
	case d.Value >= 0:
		return fmt.Sprint(d.Value)
	}
	return "?"
}
