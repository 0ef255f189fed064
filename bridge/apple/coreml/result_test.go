package coreml

import (
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

func TestResultChunks(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := newResult([]bridge.TensorInfo{{Name: "y"}}, 3)
	// A padded chunk of 4 rows of which 2 are real, then one row alone.
	if err := r.put(0, 0, 2, bridge.Float32, []int64{4, 2}, []int64{2, 1}, f32bytes(1, 2, 3, 4, 0, 0, 0, 0), mem); err != nil {
		t.Fatal(err)
	}
	if err := r.put(0, 2, 1, bridge.Float16, []int64{1, 2}, []int64{2, 1}, f16bytes(5, 6), mem); err != nil {
		t.Fatal(err)
	}
	got := r.tensors[0]
	if got.Type != bridge.Float32 || !reflect.DeepEqual(got.Shape, []int64{3, 2}) || !reflect.DeepEqual(floats(got.Data), []float32{1, 2, 3, 4, 5, 6}) {
		t.Errorf("result = %v %v %v", got.Type, got.Shape, floats(got.Data))
	}
	if err := r.put(0, 2, 1, bridge.Float32, []int64{1, 3}, []int64{3, 1}, f32bytes(1, 2, 3), mem); err == nil {
		t.Errorf("put accepted a chunk of another row shape")
	}
	if err := r.put(0, 3, 1, bridge.Float32, []int64{1, 2}, []int64{2, 1}, f32bytes(1, 2), mem); err == nil {
		t.Errorf("put accepted rows beyond the batch")
	}
	r.free(mem)
}
