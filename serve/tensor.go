package serve

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// Datatypes lists the tensor datatypes a [Model] may see, with the Go slice
// type of [Tensor.Data] for each. FP16 is part of the protocol but refused
// by the server (send FP32).
var Datatypes = map[string]string{
	"BOOL": "[]bool", "UINT8": "[]uint8", "UINT16": "[]uint16", "UINT32": "[]uint32", "UINT64": "[]uint64",
	"INT8": "[]int8", "INT16": "[]int16", "INT32": "[]int32", "INT64": "[]int64",
	"FP32": "[]float32", "FP64": "[]float64", "BYTES": "[][]byte",
}

// elemSize is the size in bytes of one element of dt in the binary
// encoding; 0 for BYTES (variable) and -1 for an unknown datatype.
func elemSize(dt string) int {
	switch dt {
	case "BOOL", "UINT8", "INT8":
		return 1
	case "UINT16", "INT16":
		return 2
	case "UINT32", "INT32", "FP32":
		return 4
	case "UINT64", "INT64", "FP64":
		return 8
	case "BYTES":
		return 0
	}
	return -1
}

// checkDatatype refuses datatypes a model cannot receive.
func checkDatatype(input, dt string) error {
	switch {
	case dt == "FP16" || dt == "BF16":
		return inputErr(input, "a datatype other than "+dt, "%s (not supported: send FP32)", dt)
	case elemSize(dt) < 0:
		return inputErr(input, "one of BOOL, UINT8..UINT64, INT8..INT64, FP32, FP64, BYTES", "datatype %q", dt)
	}
	return nil
}

// elements returns the product of shape, refusing negative dimensions and
// products over max before anything is allocated for them.
func elements(input string, shape []int64, max int64) (int64, error) {
	n := int64(1)
	for _, d := range shape {
		if d < 0 {
			return 0, inputErr(input, "non-negative dimensions", "shape %v", shape)
		}
		if d != 0 && n > max/d {
			return 0, fmt.Errorf("%w: input %q: shape %v is over the limit of %d elements", ErrTooLarge, input, shape, max)
		}
		n *= d // n*d <= max: n <= max/d was checked
	}
	if n > max { // only when shape is empty and max < 1
		return 0, fmt.Errorf("%w: input %q: shape %v is over the limit of %d elements", ErrTooLarge, input, shape, max)
	}
	return n, nil
}

// dataLen returns len(data) for a supported slice type, or -1.
func dataLen(data any) int {
	switch d := data.(type) {
	case []bool:
		return len(d)
	case []uint8:
		return len(d)
	case []uint16:
		return len(d)
	case []uint32:
		return len(d)
	case []uint64:
		return len(d)
	case []int8:
		return len(d)
	case []int16:
		return len(d)
	case []int32:
		return len(d)
	case []int64:
		return len(d)
	case []float32:
		return len(d)
	case []float64:
		return len(d)
	case [][]byte:
		return len(d)
	}
	return -1
}

// dataMatches reports whether data is the slice type Datatypes gives for dt.
func dataMatches(dt string, data any) bool {
	return datatypeOf(data) == dt
}

// datatypeOf returns the datatype whose Go type data has, or "".
func datatypeOf(data any) string {
	switch data.(type) {
	case []bool:
		return "BOOL"
	case []uint8:
		return "UINT8"
	case []uint16:
		return "UINT16"
	case []uint32:
		return "UINT32"
	case []uint64:
		return "UINT64"
	case []int8:
		return "INT8"
	case []int16:
		return "INT16"
	case []int32:
		return "INT32"
	case []int64:
		return "INT64"
	case []float32:
		return "FP32"
	case []float64:
		return "FP64"
	case [][]byte:
		return "BYTES"
	}
	return ""
}

// decodeRaw turns the little-endian binary form of n elements of dt into a
// typed slice. BYTES elements are each a 4-byte little-endian length then
// the bytes. The length of raw must fit n exactly.
func decodeRaw(input, dt string, n int64, raw []byte) (any, error) {
	size := elemSize(dt)
	if size == 0 {
		return decodeRawBytes(input, n, raw)
	}
	if int64(len(raw)) != n*int64(size) {
		return nil, inputErr(input, fmt.Sprintf("%d bytes of binary data (%d %s elements)", n*int64(size), n, dt), "%d bytes", len(raw))
	}
	return decodeFixed(dt, raw), nil
}

// decodeFixed decodes raw, whose length is a multiple of dt's size.
func decodeFixed(dt string, raw []byte) any {
	le := binary.LittleEndian
	switch dt {
	case "BOOL":
		out := make([]bool, len(raw))
		for i, b := range raw {
			out[i] = b != 0
		}
		return out
	case "UINT8":
		return slices.Clone(raw)
	case "INT8":
		return fixed(raw, 1, func(b []byte) int8 { return int8(b[0]) })
	case "UINT16":
		return fixed(raw, 2, le.Uint16)
	case "INT16":
		return fixed(raw, 2, func(b []byte) int16 { return int16(le.Uint16(b)) })
	case "UINT32":
		return fixed(raw, 4, le.Uint32)
	case "INT32":
		return fixed(raw, 4, func(b []byte) int32 { return int32(le.Uint32(b)) })
	case "FP32":
		return fixed(raw, 4, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) })
	case "UINT64":
		return fixed(raw, 8, le.Uint64)
	case "INT64":
		return fixed(raw, 8, func(b []byte) int64 { return int64(le.Uint64(b)) })
	case "FP64":
		return fixed(raw, 8, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) })
	}
	return nil
}

// fixed decodes raw as elements of size bytes each with get.
func fixed[T any](raw []byte, size int, get func([]byte) T) []T {
	out := make([]T, len(raw)/size)
	for i := range out {
		out[i] = get(raw[i*size:])
	}
	return out
}

// decodeRawBytes decodes n length-prefixed BYTES elements that fill raw.
func decodeRawBytes(input string, n int64, raw []byte) (any, error) {
	if n > int64(len(raw))/4 {
		return nil, inputErr(input, fmt.Sprintf("%d BYTES elements (4-byte length each)", n), "%d bytes of binary data", len(raw))
	}
	out := make([][]byte, 0, n)
	for len(raw) > 0 {
		if len(raw) < 4 {
			return nil, inputErr(input, "a 4-byte length before each BYTES element", "%d trailing bytes after element %d", len(raw), len(out))
		}
		l := binary.LittleEndian.Uint32(raw)
		raw = raw[4:]
		if uint64(l) > uint64(len(raw)) {
			return nil, inputErr(input, fmt.Sprintf("element %d of %d bytes", len(out), l), "%d bytes left", len(raw))
		}
		if int64(len(out)) == n {
			return nil, inputErr(input, fmt.Sprintf("%d BYTES elements", n), "more")
		}
		out = append(out, raw[:l:l])
		raw = raw[l:]
	}
	if int64(len(out)) != n {
		return nil, inputErr(input, fmt.Sprintf("%d BYTES elements", n), "%d", len(out))
	}
	return out, nil
}

// encodeRaw returns the little-endian binary form of data (see [decodeRaw]).
func encodeRaw(data any) []byte {
	le := binary.LittleEndian
	switch d := data.(type) {
	case []bool:
		out := make([]byte, len(d))
		for i, v := range d {
			if v {
				out[i] = 1
			}
		}
		return out
	case []uint8:
		return d
	case []int8:
		return put(d, 1, func(b []byte, v int8) { b[0] = byte(v) })
	case []uint16:
		return put(d, 2, le.PutUint16)
	case []int16:
		return put(d, 2, func(b []byte, v int16) { le.PutUint16(b, uint16(v)) })
	case []uint32:
		return put(d, 4, le.PutUint32)
	case []int32:
		return put(d, 4, func(b []byte, v int32) { le.PutUint32(b, uint32(v)) })
	case []float32:
		return put(d, 4, func(b []byte, v float32) { le.PutUint32(b, math.Float32bits(v)) })
	case []uint64:
		return put(d, 8, le.PutUint64)
	case []int64:
		return put(d, 8, func(b []byte, v int64) { le.PutUint64(b, uint64(v)) })
	case []float64:
		return put(d, 8, func(b []byte, v float64) { le.PutUint64(b, math.Float64bits(v)) })
	case [][]byte:
		var out []byte
		for _, v := range d {
			out = le.AppendUint32(out, uint32(len(v)))
			out = append(out, v...)
		}
		return out
	}
	return nil
}

// put encodes d with size bytes per element.
func put[T any](d []T, size int, set func([]byte, T)) []byte {
	out := make([]byte, len(d)*size)
	for i, v := range d {
		set(out[i*size:], v)
	}
	return out
}
