package onnx

import (
	"errors"
	"reflect"
	"testing"
)

func TestTensorValues(t *testing.T) {
	tests := []struct {
		name   string
		t      *Tensor
		floats []float64
		ints   []int64 // nil: Int64s must fail
	}{
		{"float raw", FloatTensor("w", []int64{2, 2}, []float32{1, -2.5, 0, 3}), []float64{1, -2.5, 0, 3}, nil},
		{"float data", &Tensor{Dims: []int64{2}, DataType: Float, FloatData: []float32{0.5, 2}}, []float64{0.5, 2}, nil},
		{"double raw", &Tensor{Dims: []int64{1}, DataType: Double, RawData: []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f}}, []float64{1}, nil},
		{"double data", &Tensor{Dims: []int64{}, DataType: Double, DoubleData: []float64{-4}}, []float64{-4}, nil},
		{"int64 data", Int64Tensor("a", []int64{3}, []int64{1, -1, 1 << 40}), []float64{1, -1, 1 << 40}, []int64{1, -1, 1 << 40}},
		{"int64 raw", &Tensor{Dims: []int64{1}, DataType: Int64, RawData: []byte{0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}}, []float64{-2}, []int64{-2}},
		{"int32 data", &Tensor{Dims: []int64{2}, DataType: Int32, Int32Data: []int32{-3, 4}}, []float64{-3, 4}, []int64{-3, 4}},
		{"int32 raw", &Tensor{Dims: []int64{1}, DataType: Int32, RawData: []byte{0xff, 0xff, 0xff, 0xff}}, []float64{-1}, []int64{-1}},
		{"int8 raw", &Tensor{Dims: []int64{2}, DataType: Int8, RawData: []byte{0xff, 2}}, []float64{-1, 2}, []int64{-1, 2}},
		{"uint16 raw", &Tensor{Dims: []int64{1}, DataType: Uint16, RawData: []byte{0xff, 0xff}}, []float64{65535}, []int64{65535}},
		{"bool raw", &Tensor{Dims: []int64{2}, DataType: Bool, RawData: []byte{1, 0}}, []float64{1, 0}, []int64{1, 0}},
		{"bool data", &Tensor{Dims: []int64{1}, DataType: Bool, Int32Data: []int32{1}}, []float64{1}, []int64{1}},
		{"empty", &Tensor{Dims: []int64{0, 3}, DataType: Float, RawData: []byte{}}, []float64{}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := tc.t.Float64s()
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f, tc.floats) {
				t.Errorf("Float64s = %v, want %v", f, tc.floats)
			}
			i, err := tc.t.Int64s()
			if tc.ints == nil {
				if !errors.Is(err, ErrTensorData) {
					t.Errorf("Int64s = %v, %v; want ErrTensorData", i, err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(i, tc.ints) {
				t.Errorf("Int64s = %v, %v; want %v", i, err, tc.ints)
			}
		})
	}
}

func TestTensorValueErrors(t *testing.T) {
	tests := []struct {
		name string
		t    *Tensor
	}{
		{"short raw", &Tensor{Name: "w", Dims: []int64{2}, DataType: Float, RawData: []byte{1, 2, 3, 4}}},
		{"missing data", &Tensor{Name: "w", Dims: []int64{2}, DataType: Float}},
		{"short int64", &Tensor{Name: "w", Dims: []int64{2}, DataType: Int64, Int64Data: []int64{1}}},
		{"string", &Tensor{Name: "w", Dims: []int64{1}, DataType: String, StringData: [][]byte{{'a'}}}},
		{"float16", &Tensor{Name: "w", Dims: []int64{1}, DataType: Float16, RawData: []byte{0, 0}}},
		{"negative dim", &Tensor{Name: "w", Dims: []int64{-1}, DataType: Float, RawData: []byte{}}},
		{"huge dims", &Tensor{Name: "w", Dims: []int64{1 << 40, 1 << 40}, DataType: Float, RawData: []byte{}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.t.Float64s()
			if !errors.Is(err, ErrTensorData) {
				t.Fatalf("Float64s error %v, want ErrTensorData", err)
			}
		})
	}
}
