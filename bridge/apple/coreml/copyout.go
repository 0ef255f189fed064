package coreml

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow/float16"

	"github.com/pipe-ml/pipe/bridge"
)

// denseCopy gathers a strided multi-array into dst in row-major order.
// Core ML outputs may be padded (strides larger than the dense ones) and may
// be float16 even for float32 models; float16 is widened to float32, so dst
// holds elements of outType(srcType). shape and strides are in elements.
// A layout that would read outside src is an error, never a panic.
func denseCopy(dst, src []byte, srcType bridge.ElemType, shape, strides []int64) error {
	if len(shape) != len(strides) {
		return fmt.Errorf("output layout: %d dims but %d strides", len(shape), len(strides))
	}
	in := srcType.Size()
	outT := outType(srcType)
	out := outT.Size()
	if in == 0 {
		return fmt.Errorf("output layout: unsupported element type %s", srcType)
	}
	n := int64(1)
	maxOff := int64(0)
	for i, d := range shape {
		if d < 0 || strides[i] < 0 {
			return fmt.Errorf("output layout: negative size or stride in %v / %v", shape, strides)
		}
		if d == 0 {
			return nil
		}
		n *= d
		maxOff += (d - 1) * strides[i]
	}
	if (maxOff+1)*int64(in) > int64(len(src)) {
		return fmt.Errorf("output layout: shape %v strides %v reach element %d of a %d-byte buffer", shape, strides, maxOff, len(src))
	}
	if n*int64(out) != int64(len(dst)) {
		return fmt.Errorf("output layout: %d elements need %d bytes, destination has %d", n, n*int64(out), len(dst))
	}
	idx := make([]int64, len(shape))
	off := int64(0)
	for k := int64(0); k < n; k++ {
		s := src[off*int64(in) : (off+1)*int64(in)]
		d := dst[k*int64(out) : (k+1)*int64(out)]
		if srcType == bridge.Float16 {
			f := float16.FromBits(binary.LittleEndian.Uint16(s)).Float32()
			binary.LittleEndian.PutUint32(d, math.Float32bits(f))
		} else {
			copy(d, s)
		}
		// Advance the multi-index, last dimension fastest.
		for i := len(shape) - 1; i >= 0; i-- {
			idx[i]++
			off += strides[i]
			if idx[i] < shape[i] {
				break
			}
			off -= idx[i] * strides[i]
			idx[i] = 0
		}
	}
	return nil
}

// outType is the element type pipe returns for a Core ML output type:
// float16 becomes float32, everything else stays.
func outType(t bridge.ElemType) bridge.ElemType {
	if t == bridge.Float16 {
		return bridge.Float32
	}
	return t
}

// denseStrides returns the row-major strides of shape, in elements.
func denseStrides(shape []int64) []int64 {
	s := make([]int64, len(shape))
	acc := int64(1)
	for i := len(shape) - 1; i >= 0; i-- {
		s[i] = acc
		acc *= shape[i]
	}
	return s
}

// paddedSize returns the smallest of sizes (ascending) that holds n rows.
func paddedSize(sizes []int, n int) (int, bool) {
	for _, s := range sizes {
		if s >= n {
			return s, true
		}
	}
	return 0, false
}
