package serve

import (
	"encoding/json"
	"os"
	"reflect"
	"testing"
)

// specModel is the model of the spec's example: two inputs, output0 a
// [3, 2] FP32 tensor.
func specModel() *fakeModel {
	m := newFake("mymodel",
		TensorMetadata{Name: "input0", Datatype: "UINT32", Shape: []int64{2, 2}},
		TensorMetadata{Name: "input1", Datatype: "BOOL", Shape: []int64{3}})
	m.md.Outputs = []TensorMetadata{{Name: "output0", Datatype: "FP32", Shape: []int64{3, 2}}}
	m.answer = func(*InferRequest) *InferResponse {
		return &InferResponse{Outputs: []Tensor{
			{Name: "output0", Datatype: "FP32", Shape: []int64{3, 2}, Data: []float32{1.0, 1.1, 2.0, 2.1, 3.0, 3.1}},
		}}
	}
	return m
}

func TestSpecExample(t *testing.T) {
	h := start(t, Options{}, specModel())
	read := func(name string) string {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	t.Run("verbatim refused", func(t *testing.T) {
		code, out := h.infer(t, "mymodel", read("spec_infer_request.json"))
		if code != 400 {
			t.Fatalf("code %d: %v", code, out)
		}
		mustContain(t, errorOf(t, out), `input "input1"`, "expected 3 elements", "got 1")
	})
	t.Run("fixed answers", func(t *testing.T) {
		code, out := h.infer(t, "mymodel", read("spec_infer_request_fixed.json"))
		var want map[string]any
		if err := json.Unmarshal([]byte(read("spec_infer_response.json")), &want); err != nil {
			t.Fatal(err)
		}
		if code != 200 || !reflect.DeepEqual(out, want) {
			t.Errorf("got %d %v\nwant %v", code, out, want)
		}
	})
}
