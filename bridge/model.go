package bridge

import (
	"fmt"
	"strings"
)

// ElemType is the element type of a tensor.
type ElemType int

// Element types, with ONNX's numbering where one exists.
const (
	Undefined ElemType = 0
	Float32   ElemType = 1
	Uint8     ElemType = 2
	Int8      ElemType = 3
	Uint16    ElemType = 4
	Int16     ElemType = 5
	Int32     ElemType = 6
	Int64     ElemType = 7
	String    ElemType = 8
	Bool      ElemType = 9
	Float16   ElemType = 10
	Float64   ElemType = 11
	Uint32    ElemType = 12
	Uint64    ElemType = 13
)

var elemNames = map[ElemType]string{
	Float32: "float32", Uint8: "uint8", Int8: "int8", Uint16: "uint16", Int16: "int16",
	Int32: "int32", Int64: "int64", String: "string", Bool: "bool", Float16: "float16",
	Float64: "float64", Uint32: "uint32", Uint64: "uint64",
}

func (t ElemType) String() string {
	if n, ok := elemNames[t]; ok {
		return n
	}
	return fmt.Sprintf("elemtype(%d)", int(t))
}

// Size returns the size of one element in bytes (0 for strings and unknown
// types).
func (t ElemType) Size() int {
	switch t {
	case Uint8, Int8, Bool:
		return 1
	case Uint16, Int16, Float16:
		return 2
	case Float32, Int32, Uint32:
		return 4
	case Float64, Int64, Uint64:
		return 8
	}
	return 0
}

// Dim is one dimension of a declared shape: a fixed size, or a symbolic one
// (Size < 0) with an optional name such as "batch".
type Dim struct {
	Size int64
	Name string
}

// Dynamic reports whether the dimension is not fixed by the model.
func (d Dim) Dynamic() bool { return d.Size < 0 }

func (d Dim) String() string {
	if d.Size >= 0 {
		return fmt.Sprint(d.Size)
	}
	if d.Name != "" {
		return d.Name
	}
	return "?"
}

// Shape is a declared tensor shape.
type Shape []Dim

func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		parts[i] = d.String()
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// TensorInfo describes one model input or output.
type TensorInfo struct {
	Name  string
	Type  ElemType
	Shape Shape
	// Kind is "tensor" for plain tensors; "sequence" or "map" for the non-tensor
	// values some converters emit (scikit-learn's sequence of maps), which
	// pipe cannot turn into columns.
	Kind string
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Format      string // "onnx", "mlpackage", ...
	Inputs      []TensorInfo
	Outputs     []TensorInfo
	Opset       int64 // highest default-domain opset; 0 when not ONNX
	Producer    string
	Domain      string
	Description string
	Metadata    map[string]string
}

// Tensor is a dense tensor in row-major order. Data holds the raw
// little-endian values (len = product of Shape × Type.Size()); string
// tensors use Strings instead.
type Tensor struct {
	Type    ElemType
	Shape   []int64
	Data    []byte
	Strings []string
}

// NumElements returns the product of the shape.
func (t *Tensor) NumElements() int64 {
	n := int64(1)
	for _, d := range t.Shape {
		n *= d
	}
	return n
}
