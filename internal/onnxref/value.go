package onnxref

import (
	"fmt"
	"math"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// value is a tensor during evaluation. Floating types (float, double) keep
// their data in f as float64, integer types in i, bool in b.
type value struct {
	dt    onnx.DataType
	shape []int64
	f     []float64
	i     []int64
	b     []bool
}

// class is how a data type is stored in a value.
type class int

const (
	classNone class = iota
	classFloat
	classInt
	classBool
)

func classOf(dt onnx.DataType) class {
	switch dt {
	case onnx.Float, onnx.Double:
		return classFloat
	case onnx.Int8, onnx.Uint8, onnx.Int16, onnx.Uint16, onnx.Int32, onnx.Uint32, onnx.Int64:
		return classInt
	case onnx.Bool:
		return classBool
	}
	return classNone
}

func newValue(dt onnx.DataType, shape []int64) *value {
	n := size(shape)
	v := &value{dt: dt, shape: shape}
	switch classOf(dt) {
	case classFloat:
		v.f = make([]float64, n)
	case classInt:
		v.i = make([]int64, n)
	case classBool:
		v.b = make([]bool, n)
	}
	return v
}

func (v *value) len() int {
	switch classOf(v.dt) {
	case classFloat:
		return len(v.f)
	case classInt:
		return len(v.i)
	}
	return len(v.b)
}

// fromProto converts an initializer.
func fromProto(t *onnx.Tensor) (*value, error) {
	v := &value{dt: t.DataType, shape: append([]int64{}, t.Dims...)}
	var err error
	switch classOf(t.DataType) {
	case classFloat:
		v.f, err = t.Float64s()
	case classInt:
		v.i, err = t.Int64s()
	case classBool:
		var is []int64
		is, err = t.Int64s()
		v.b = make([]bool, len(is))
		for k, x := range is {
			v.b[k] = x != 0
		}
	default:
		return nil, fmt.Errorf("%w: data type %v", ErrUnsupported, t.DataType)
	}
	return v, err
}

// fromTensor converts a caller's input to the declared element type.
func fromTensor(t Tensor, dt onnx.DataType) (*value, error) {
	for _, d := range t.Shape {
		if d < 0 {
			return nil, fmt.Errorf("negative dimension in shape %v", t.Shape)
		}
	}
	n := size(t.Shape)
	if n < 0 {
		return nil, fmt.Errorf("shape %v is too large", t.Shape)
	}
	v := &value{dt: dt, shape: append([]int64{}, t.Shape...)}
	if n == 0 && t.holds() == "no" {
		return newValue(dt, v.shape), nil // an empty tensor needs no slice
	}
	have := 0
	switch {
	case t.F32 != nil && (dt == onnx.Float || dt == onnx.Double):
		have = len(t.F32)
		v.f = make([]float64, len(t.F32))
		for k, x := range t.F32 {
			v.f[k] = float64(x)
		}
	case t.F64 != nil && (dt == onnx.Double || dt == onnx.Float):
		have = len(t.F64)
		v.f = make([]float64, len(t.F64))
		for k, x := range t.F64 {
			if dt == onnx.Float {
				x = round32(x)
			}
			v.f[k] = x
		}
	case t.I64 != nil && classOf(dt) == classInt:
		have = len(t.I64)
		v.i = append([]int64{}, t.I64...)
	case t.Bool != nil && dt == onnx.Bool:
		have = len(t.Bool)
		v.b = append([]bool{}, t.Bool...)
	default:
		return nil, fmt.Errorf("model wants %v data, tensor holds %s", dt, t.holds())
	}
	if have != n {
		return nil, fmt.Errorf("%d values for shape %v (%d elements)", have, t.Shape, n)
	}
	return v, nil
}

func (t Tensor) holds() string {
	switch {
	case t.F32 != nil:
		return "float32"
	case t.F64 != nil:
		return "float64"
	case t.I64 != nil:
		return "int64"
	case t.Bool != nil:
		return "bool"
	}
	return "no"
}

// tensor converts a result for the caller: float to F32, double to F64,
// integers to I64, bool to Bool.
func (v *value) tensor() Tensor {
	t := Tensor{Shape: append([]int64{}, v.shape...)}
	switch {
	case v.dt == onnx.Float:
		t.F32 = make([]float32, len(v.f))
		for k, x := range v.f {
			t.F32[k] = float32(x)
		}
	case v.dt == onnx.Double:
		t.F64 = append([]float64{}, v.f...)
	case classOf(v.dt) == classInt:
		t.I64 = append([]int64{}, v.i...)
	default:
		t.Bool = append([]bool{}, v.b...)
	}
	return t
}

// size returns the product of shape, or -1 on overflow.
func size(shape []int64) int {
	n := int64(1)
	for _, d := range shape {
		if d < 0 || (d != 0 && n > math.MaxInt32/d) {
			return -1
		}
		n *= d
	}
	return int(n)
}

// broadcastShape returns the multidirectional (numpy) broadcast of a and b.
func broadcastShape(a, b []int64) ([]int64, error) {
	n := max(len(a), len(b))
	out := make([]int64, n)
	for k := range n {
		da, db := int64(1), int64(1)
		if j := k - (n - len(a)); j >= 0 {
			da = a[j]
		}
		if j := k - (n - len(b)); j >= 0 {
			db = b[j]
		}
		switch {
		case da == db:
			out[k] = da
		case da == 1:
			out[k] = db
		case db == 1:
			out[k] = da
		default:
			return nil, fmt.Errorf("%w: shapes %v and %v do not broadcast", ErrEval, a, b)
		}
	}
	return out, nil
}

// broadcastIndex returns, for every element of out (row-major), the index
// of the element of in (whose shape broadcasts to out) it reads.
func broadcastIndex(in, out []int64) []int {
	n := size(out)
	idx := make([]int, n)
	r := len(out)
	strides := make([]int, r) // stride in "in" for each out dim; 0 when broadcast
	s := 1
	for k := r - 1; k >= 0; k-- {
		j := k - (r - len(in))
		if j >= 0 && in[j] != 1 {
			strides[k] = s
		}
		if j >= 0 {
			s *= int(in[j])
		}
	}
	counter := make([]int64, r)
	pos := 0
	for e := range n {
		idx[e] = pos
		for k := r - 1; k >= 0; k-- {
			counter[k]++
			pos += strides[k]
			if counter[k] < out[k] {
				break
			}
			pos -= strides[k] * int(counter[k])
			counter[k] = 0
		}
	}
	return idx
}

// axis normalises a possibly negative axis for a tensor of the given rank.
func axis(a int64, rank int) (int, error) {
	if a < -int64(rank) || a >= int64(rank) {
		return 0, fmt.Errorf("%w: axis %d out of range for rank %d", ErrEval, a, rank)
	}
	if a < 0 {
		a += int64(rank)
	}
	return int(a), nil
}
