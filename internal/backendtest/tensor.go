package backendtest

import (
	"encoding/binary"
	"math"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// Input returns an x tensor of rows × k float32 values allocated from mem,
// row i holding i*k, i*k+1, ... The caller frees Data with mem.Free.
func Input(mem memory.Allocator, rows, k int) bridge.Tensor {
	t := bridge.Tensor{Type: bridge.Float32, Shape: []int64{int64(rows), int64(k)}, Data: mem.Allocate(rows * k * 4)}
	for i := range rows * k {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(float32(i)))
	}
	return t
}

// Floats decodes a float32 tensor's Data.
func Floats(t bridge.Tensor) []float32 {
	out := make([]float32, len(t.Data)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Data[4*i:]))
	}
	return out
}

// SetFloat sets element i of a float32 tensor, such as a NaN marker.
func SetFloat(t bridge.Tensor, i int, v float32) {
	binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(v))
}

// Free returns the Data of every tensor to mem.
func Free(mem memory.Allocator, ts []bridge.Tensor) {
	for _, t := range ts {
		if t.Data != nil {
			mem.Free(t.Data)
		}
	}
}
