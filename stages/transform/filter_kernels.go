package transform

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
)

// A predicate's result for one row is a three-valued truth byte.
const (
	vFalse byte = 0
	vTrue  byte = 1
	vNull  byte = 2
)

// Kleene logic over truth bytes, indexed by a*3+b.
var (
	andTable = [9]byte{vFalse, vFalse, vFalse, vFalse, vTrue, vNull, vFalse, vNull, vNull}
	orTable  = [9]byte{vFalse, vTrue, vNull, vTrue, vTrue, vTrue, vNull, vTrue, vNull}
	notTable = [3]byte{vTrue, vFalse, vNull}
)

// number is the set of Go types a comparison kernel works on.
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

func b2u(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// cmpVC compares every value with the constant c in type C.
func cmpVC[T, C number](vals []T, c C, op cmpOp, out []byte) {
	out = out[:len(vals)]
	switch op {
	case opEq:
		for i, v := range vals {
			out[i] = b2u(C(v) == c)
		}
	case opNe:
		for i, v := range vals {
			out[i] = b2u(C(v) != c)
		}
	case opLt:
		for i, v := range vals {
			out[i] = b2u(C(v) < c)
		}
	case opLe:
		for i, v := range vals {
			out[i] = b2u(C(v) <= c)
		}
	case opGt:
		for i, v := range vals {
			out[i] = b2u(C(v) > c)
		}
	case opGe:
		for i, v := range vals {
			out[i] = b2u(C(v) >= c)
		}
	}
}

// cmpVV compares two vectors of the same type element by element.
func cmpVV[T number](a, b []T, op cmpOp, out []byte) {
	out, b = out[:len(a)], b[:len(a)]
	switch op {
	case opEq:
		for i := range a {
			out[i] = b2u(a[i] == b[i])
		}
	case opNe:
		for i := range a {
			out[i] = b2u(a[i] != b[i])
		}
	case opLt:
		for i := range a {
			out[i] = b2u(a[i] < b[i])
		}
	case opLe:
		for i := range a {
			out[i] = b2u(a[i] <= b[i])
		}
	case opGt:
		for i := range a {
			out[i] = b2u(a[i] > b[i])
		}
	case opGe:
		for i := range a {
			out[i] = b2u(a[i] >= b[i])
		}
	}
}

// cmpResult returns the outcome of comparing x with y, where cmp is -1, 0 or 1.
func cmpResult(c int, op cmpOp) bool {
	switch op {
	case opEq:
		return c == 0
	case opNe:
		return c != 0
	case opLt:
		return c < 0
	case opLe:
		return c <= 0
	case opGt:
		return c > 0
	}
	return c >= 0
}

// strArray is a string or large_string array.
type strArray interface {
	*array.String | *array.LargeString
	Value(i int) string
	Len() int
}

func cmpStrC[A strArray](a A, c string, op cmpOp, out []byte) {
	for i := range a.Len() {
		out[i] = b2u(cmpResult(compareStrings(a.Value(i), c), op))
	}
}

func cmpStrV(a, b stringValuer, op cmpOp, out []byte) {
	for i := range a.Len() {
		out[i] = b2u(cmpResult(compareStrings(a.Value(i), b.Value(i)), op))
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpBoolC(a *array.Boolean, c bool, op cmpOp, out []byte) {
	for i := range a.Len() {
		out[i] = b2u(cmpResult(int(b2u(a.Value(i)))-int(b2u(c)), op))
	}
}

func cmpBoolV(a, b *array.Boolean, op cmpOp, out []byte) {
	for i := range a.Len() {
		out[i] = b2u(cmpResult(int(b2u(a.Value(i)))-int(b2u(b.Value(i))), op))
	}
}

// markNulls sets out[i] to null where arr has a null.
func markNulls(arr arrow.Array, out []byte) {
	if arr.NullN() == 0 {
		return
	}
	bits, off := arr.NullBitmapBytes(), arr.Data().Offset()
	if len(bits) == 0 { // a null-typed array
		for i := range out[:arr.Len()] {
			out[i] = vNull
		}
		return
	}
	for i := range out[:arr.Len()] {
		if !bitutil.BitIsSet(bits, off+i) {
			out[i] = vNull
		}
	}
}

// values returns the values of a fixed-width array as []T, zero-copy.
func values[T number](arr arrow.Array) []T {
	v := arrow.GetValues[T](arr.Data(), 1)
	if v == nil {
		return []T{}
	}
	return v
}

// convertInto converts the values of a numeric array to C into dst, grown
// as needed.
func convertInto[C number](arr arrow.Array, dst []C) []C {
	n := arr.Len()
	if cap(dst) < n {
		dst = make([]C, n)
	}
	dst = dst[:n]
	switch arr.DataType().ID() {
	case arrow.INT8:
		convert(values[int8](arr), dst)
	case arrow.INT16:
		convert(values[int16](arr), dst)
	case arrow.INT32, arrow.DATE32:
		convert(values[int32](arr), dst)
	case arrow.INT64, arrow.TIMESTAMP, arrow.DATE64:
		convert(values[int64](arr), dst)
	case arrow.UINT8:
		convert(values[uint8](arr), dst)
	case arrow.UINT16:
		convert(values[uint16](arr), dst)
	case arrow.UINT32:
		convert(values[uint32](arr), dst)
	case arrow.UINT64:
		convert(values[uint64](arr), dst)
	case arrow.FLOAT16:
		for i, v := range arr.(*array.Float16).Values() {
			dst[i] = C(v.Float32())
		}
	case arrow.FLOAT32:
		convert(values[float32](arr), dst)
	case arrow.FLOAT64:
		convert(values[float64](arr), dst)
	}
	return dst
}

func convert[T, C number](src []T, dst []C) {
	for i, v := range src {
		dst[i] = C(v)
	}
}
