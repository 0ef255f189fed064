package transform

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// handCast converts arr (borrowed) where arrow compute has no kernel. On
// error it returns the index of the offending row (-1 when none).
type handCast func(mem memory.Allocator, arr arrow.Array, safe bool) (out arrow.Array, row int, err error)

// maxFloat16 is the largest finite half-precision value.
const maxFloat16 = 65504

var (
	errFloat16Range = errors.New("out of float16 range")
	errFloat16Exact = errors.New("not exactly representable as float16")
)

// handCastFor returns the hand-written conversion from one type to another,
// or nil when arrow compute should do it (or nothing can).
func handCastFor(from, to arrow.DataType) handCast {
	switch {
	case to.ID() == arrow.FLOAT16 && isNumeric(from):
		return castToFloat16
	case to.ID() == arrow.FLOAT16 && (from.ID() == arrow.STRING || from.ID() == arrow.LARGE_STRING):
		return castToFloat16
	case to.ID() == arrow.FLOAT16 && from.ID() == arrow.BOOL:
		return castToFloat16
	case to.ID() == arrow.STRING && (isNumeric(from) || isTemporalOrBool(from)):
		// arrow-go v18.8.0's kernels for these casts leak a buffer per call.
		return castToString
	case to.ID() == arrow.DATE32 && (from.ID() == arrow.STRING || from.ID() == arrow.LARGE_STRING):
		return castStringToDate32
	}
	return nil
}

// stringValuer is implemented by string and large_string arrays.
type stringValuer interface {
	arrow.Array
	Value(i int) string
}

func castToFloat16(mem memory.Allocator, arr arrow.Array, safe bool) (arrow.Array, int, error) {
	b := array.NewFloat16Builder(mem)
	defer b.Release()
	b.Reserve(arr.Len())
	isInt := isInteger(arr.DataType())
	var get func(i int) (float64, error)
	switch a := arr.(type) {
	case stringValuer:
		get = func(i int) (float64, error) {
			return strconv.ParseFloat(strings.TrimSpace(a.Value(i)), 64)
		}
	case *array.Boolean:
		get = func(i int) (float64, error) {
			if a.Value(i) {
				return 1, nil
			}
			return 0, nil
		}
	default:
		f, ok := float64Getter(arr)
		if !ok {
			return nil, -1, fmt.Errorf("cannot cast %s to float16", arr.DataType())
		}
		get = func(i int) (float64, error) { return f(i), nil }
	}
	for i := range arr.Len() {
		if arr.IsNull(i) {
			b.AppendNull()
			continue
		}
		v, err := get(i)
		if err != nil {
			return nil, i, err
		}
		h := float16.New(float32(v))
		if safe {
			if !math.IsInf(v, 0) && !math.IsNaN(v) && math.Abs(v) > maxFloat16 {
				return nil, i, errFloat16Range
			}
			if isInt && float64(h.Float32()) != v {
				return nil, i, errFloat16Exact
			}
		}
		b.Append(h)
	}
	return b.NewArray(), -1, nil
}

// isTemporalOrBool reports whether dt is bool, a date or a timestamp.
func isTemporalOrBool(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.BOOL, arrow.DATE32, arrow.DATE64, arrow.TIMESTAMP:
		return true
	}
	return false
}

// castToString formats each value as the array's ValueStr does: numbers in
// Go's shortest form, dates as 2024-01-31, timestamps in ISO 8601.
func castToString(mem memory.Allocator, arr arrow.Array, _ bool) (arrow.Array, int, error) {
	b := array.NewStringBuilder(mem)
	defer b.Release()
	b.Reserve(arr.Len())
	for i := range arr.Len() {
		if arr.IsNull(i) {
			b.AppendNull()
			continue
		}
		b.Append(arr.ValueStr(i))
	}
	return b.NewArray(), -1, nil
}

func castStringToDate32(mem memory.Allocator, arr arrow.Array, _ bool) (arrow.Array, int, error) {
	a := arr.(stringValuer)
	b := array.NewDate32Builder(mem)
	defer b.Release()
	b.Reserve(a.Len())
	for i := range a.Len() {
		if a.IsNull(i) {
			b.AppendNull()
			continue
		}
		t, err := time.Parse(time.DateOnly, strings.TrimSpace(a.Value(i)))
		if err != nil {
			return nil, i, fmt.Errorf("expected a date such as 2024-01-31")
		}
		b.Append(arrow.Date32FromTime(t))
	}
	return b.NewArray(), -1, nil
}
