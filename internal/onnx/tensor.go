package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrTensorData reports a tensor whose stored values do not match its
// dims or data type.
var ErrTensorData = errors.New("bad tensor data")

// Float64s returns the tensor's values converted to float64, whatever
// numeric type they are stored as (float, double, the integer types and
// bool), reading the typed field or raw_data. It checks that the number of
// values equals the product of the dims.
func (t *Tensor) Float64s() ([]float64, error) {
	n, err := t.count()
	if err != nil {
		return nil, err
	}
	switch t.DataType {
	case Float:
		if t.RawData == nil && len(t.FloatData) == n {
			out := make([]float64, n)
			for i, v := range t.FloatData {
				out[i] = float64(v)
			}
			return out, nil
		}
	case Double:
		if t.RawData == nil && len(t.DoubleData) == n {
			return append([]float64(nil), t.DoubleData...), nil
		}
	}
	if t.RawData != nil && (t.DataType == Float || t.DataType == Double) {
		raw, err := t.raw(n)
		if err != nil {
			return nil, err
		}
		out := make([]float64, n)
		for i := range out {
			if t.DataType == Float {
				out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:])))
			} else {
				out[i] = math.Float64frombits(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		return out, nil
	}
	if t.DataType == Float || t.DataType == Double {
		return nil, t.errorf("has %d float_data and %d double_data values for %d elements", len(t.FloatData), len(t.DoubleData), n)
	}
	is, err := t.Int64s()
	if err != nil {
		return nil, err
	}
	out := make([]float64, len(is))
	for i, v := range is {
		if t.DataType == Uint64 {
			out[i] = float64(uint64(v))
		} else {
			out[i] = float64(v)
		}
	}
	return out, nil
}

// Int64s returns the values of an integer or bool tensor as int64 (uint64
// values keep their bits), reading the typed field or raw_data.
func (t *Tensor) Int64s() ([]int64, error) {
	n, err := t.count()
	if err != nil {
		return nil, err
	}
	if t.DataType == Float || t.DataType == Double {
		return nil, t.errorf("is not an integer tensor")
	}
	if t.RawData != nil {
		raw, err := t.raw(n)
		if err != nil {
			return nil, err
		}
		out := make([]int64, n)
		for i := range out {
			switch t.DataType {
			case Int8:
				out[i] = int64(int8(raw[i]))
			case Uint8, Bool:
				out[i] = int64(raw[i])
			case Int16:
				out[i] = int64(int16(binary.LittleEndian.Uint16(raw[2*i:])))
			case Uint16:
				out[i] = int64(binary.LittleEndian.Uint16(raw[2*i:]))
			case Int32:
				out[i] = int64(int32(binary.LittleEndian.Uint32(raw[4*i:])))
			case Uint32:
				out[i] = int64(binary.LittleEndian.Uint32(raw[4*i:]))
			default: // Int64, Uint64
				out[i] = int64(binary.LittleEndian.Uint64(raw[8*i:]))
			}
		}
		return out, nil
	}
	switch t.DataType {
	case Int8, Uint8, Int16, Uint16, Int32, Bool:
		if len(t.Int32Data) != n {
			return nil, t.errorf("has %d int32_data values for %d elements", len(t.Int32Data), n)
		}
		out := make([]int64, n)
		for i, v := range t.Int32Data {
			out[i] = int64(v)
		}
		return out, nil
	case Int64:
		if len(t.Int64Data) != n {
			return nil, t.errorf("has %d int64_data values for %d elements", len(t.Int64Data), n)
		}
		return append([]int64(nil), t.Int64Data...), nil
	}
	return nil, t.errorf("cannot read values without raw_data")
}

// count returns the number of elements, checking the data type is a
// fixed-width numeric or bool one.
func (t *Tensor) count() (int, error) {
	if t.DataType.Size() == 0 || t.DataType == Float16 {
		return 0, t.errorf("data type %v is not supported", t.DataType)
	}
	n := t.NumElements()
	if n < 0 || n > math.MaxInt32 {
		return 0, t.errorf("bad dims %v", t.Dims)
	}
	return int(n), nil
}

func (t *Tensor) raw(n int) ([]byte, error) {
	if want := n * t.DataType.Size(); len(t.RawData) != want {
		return nil, t.errorf("has %d bytes of raw_data, want %d for dims %v", len(t.RawData), want, t.Dims)
	}
	return t.RawData, nil
}

func (t *Tensor) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: tensor %q (%v): %s", ErrTensorData, t.Name, t.DataType, fmt.Sprintf(format, args...))
}
