package transform

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// isInteger reports whether dt is a signed or unsigned integer type.
func isInteger(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64,
		arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// isFloat reports whether dt is a floating-point type.
func isFloat(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.FLOAT16, arrow.FLOAT32, arrow.FLOAT64:
		return true
	}
	return false
}

// isNumeric reports whether dt is an integer or floating-point type.
func isNumeric(dt arrow.DataType) bool { return isInteger(dt) || isFloat(dt) }

// float64Getter returns a function reading row i of a numeric array as a
// float64 (ignoring validity), or false for other arrays.
func float64Getter(arr arrow.Array) (func(i int) float64, bool) {
	switch a := arr.(type) {
	case *array.Int8:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Int16:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Int32:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Int64:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Uint8:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Uint16:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Uint32:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Uint64:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Float16:
		return func(i int) float64 { return float64(a.Value(i).Float32()) }, true
	case *array.Float32:
		return func(i int) float64 { return float64(a.Value(i)) }, true
	case *array.Float64:
		return a.Value, true
	}
	return nil, false
}
