package coreml

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/float16"

	"github.com/pipe-ml/pipe/bridge"
)

func f32bytes(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func f16bytes(v ...float32) []byte {
	b := make([]byte, 2*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint16(b[2*i:], float16.New(x).Uint16())
	}
	return b
}

func floats(b []byte) []float32 {
	out := make([]float32, len(b)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return out
}

func TestDenseCopy(t *testing.T) {
	tests := []struct {
		name    string
		src     []byte
		typ     bridge.ElemType
		shape   []int64
		strides []int64
		want    []float32
	}{
		{"dense", f32bytes(1, 2, 3, 4, 5, 6), bridge.Float32, []int64{2, 3}, []int64{3, 1}, []float32{1, 2, 3, 4, 5, 6}},
		// Rows padded to 4 elements: the fourth of each row is junk.
		{"padded rows", f32bytes(1, 2, 3, -9, 4, 5, 6, -9), bridge.Float32, []int64{2, 3}, []int64{4, 1}, []float32{1, 2, 3, 4, 5, 6}},
		{"first rows only", f32bytes(1, 2, 3, 4, 5, 6), bridge.Float32, []int64{1, 3}, []int64{3, 1}, []float32{1, 2, 3}},
		{"transposed", f32bytes(1, 4, 2, 5, 3, 6), bridge.Float32, []int64{2, 3}, []int64{1, 2}, []float32{1, 2, 3, 4, 5, 6}},
		{"float16 widened", f16bytes(0.5, -2, 65504, 0), bridge.Float16, []int64{2, 1}, []int64{2, 1}, []float32{0.5, 65504}},
		{"rank 3", f32bytes(1, 2, 3, 4, 5, 6, 7, 8), bridge.Float32, []int64{2, 2, 2}, []int64{4, 2, 1}, []float32{1, 2, 3, 4, 5, 6, 7, 8}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]byte, 4*len(tt.want))
			if err := denseCopy(dst, tt.src, tt.typ, tt.shape, tt.strides); err != nil {
				t.Fatalf("denseCopy: %v", err)
			}
			if got := floats(dst); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("denseCopy = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDenseCopyErrors(t *testing.T) {
	tests := []struct {
		name    string
		dst     int
		src     []byte
		shape   []int64
		strides []int64
	}{
		{"reads past the end", 24, f32bytes(1, 2, 3, 4, 5), []int64{2, 3}, []int64{3, 1}},
		{"stride too big", 16, f32bytes(1, 2, 3, 4), []int64{2, 2}, []int64{4, 1}},
		{"dst too small", 8, f32bytes(1, 2, 3, 4), []int64{2, 2}, []int64{2, 1}},
		{"rank mismatch", 16, f32bytes(1, 2, 3, 4), []int64{2, 2}, []int64{1}},
		{"negative", 16, f32bytes(1, 2, 3, 4), []int64{2, -2}, []int64{2, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := denseCopy(make([]byte, tt.dst), tt.src, bridge.Float32, tt.shape, tt.strides); err == nil {
				t.Errorf("denseCopy accepted %v/%v over %d bytes", tt.shape, tt.strides, len(tt.src))
			}
		})
	}
	if err := denseCopy(nil, nil, bridge.String, []int64{1}, []int64{1}); err == nil {
		t.Errorf("denseCopy accepted strings")
	}
}

func TestPaddedSizeAndStrides(t *testing.T) {
	sizes := []int{1, 8, 32}
	for n, want := range map[int]int{1: 1, 2: 8, 8: 8, 9: 32, 32: 32} {
		if got, ok := paddedSize(sizes, n); !ok || got != want {
			t.Errorf("paddedSize(%d) = %d, %v; want %d", n, got, ok, want)
		}
	}
	if _, ok := paddedSize(sizes, 33); ok {
		t.Errorf("paddedSize(33) fits")
	}
	if got := denseStrides([]int64{2, 3, 4}); !reflect.DeepEqual(got, []int64{12, 4, 1}) {
		t.Errorf("denseStrides = %v", got)
	}
}
