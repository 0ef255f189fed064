package serve

import (
	"errors"
	"strings"
	"testing"
)

func TestValidate(t *testing.T) {
	md := &ModelMetadata{Name: "m",
		Inputs:  []TensorMetadata{{Name: "x", Datatype: "INT64", Shape: []int64{-1, 3}}},
		Outputs: []TensorMetadata{{Name: "y", Datatype: "FP32", Shape: []int64{-1}}}}
	x := func(shape []int64, data any) *InferRequest {
		return &InferRequest{Inputs: []Tensor{{Name: "x", Datatype: "INT64", Shape: shape, Data: data}}}
	}
	for _, tt := range []struct {
		name string
		req  *InferRequest
		want string // "" for valid
	}{
		{"ok", x([]int64{2, 3}, make([]int64, 6)), ""},
		{"any batch", x([]int64{0, 3}, []int64{}), ""},
		{"short data", x([]int64{2, 3}, make([]int64, 5)), `input "x": expected 6 elements for shape [2 3], got 5`},
		{"wrong go type", x([]int64{1, 3}, make([]int32, 3)), `input "x": expected data of type []int64, got []int32`},
		{"fixed dim", x([]int64{1, 4}, make([]int64, 4)), `input "x": expected shape [-1 3]`},
		{"rank", x([]int64{3}, make([]int64, 3)), `input "x": expected shape [-1 3]`},
		{"over limit", x([]int64{100, 3}, make([]int64, 300)), "over the limit of 100 elements"},
		{"output", &InferRequest{Inputs: x([]int64{1, 3}, make([]int64, 3)).Inputs, Outputs: []RequestedOutput{{Name: "z"}}}, `output "z"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := validate(md, tt.req, 100)
			if tt.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrInvalidInput) && !errors.Is(err, ErrTooLarge) {
				t.Errorf("%v wraps no sentinel", err)
			}
		})
	}
}

func TestPickOutputs(t *testing.T) {
	resp := func() *InferResponse {
		return &InferResponse{Outputs: []Tensor{
			{Name: "a", Datatype: "FP32", Shape: []int64{2}, Data: []float32{1, 2}},
			{Name: "b", Datatype: "BYTES", Shape: []int64{1}, Data: [][]byte{nil}},
		}}
	}
	r := resp()
	if err := pickOutputs("m", r, []RequestedOutput{{Name: "b"}}); err != nil || len(r.Outputs) != 1 || r.Outputs[0].Name != "b" {
		t.Errorf("picked %v, %v", r.Outputs, err)
	}
	if err := pickOutputs("m", resp(), []RequestedOutput{{Name: "c"}}); err == nil || !strings.Contains(err.Error(), `requested output "c"`) {
		t.Errorf("missing output: %v", err)
	}
	r = resp()
	r.Outputs[0].Shape = []int64{3}
	if err := pickOutputs("m", r, nil); err == nil || !strings.Contains(err.Error(), `output "a"`) {
		t.Errorf("short output data: %v", err)
	}
}
