package coreml

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// result gathers a batch's outputs, which may arrive in chunks (padded
// batches larger than the model's batch size) or row by row (models with
// batch size 1), into one dense tensor per output.
type result struct {
	tensors []bridge.Tensor
	rows    int
}

func newResult(outputs []bridge.TensorInfo, rows int) *result {
	return &result{tensors: make([]bridge.Tensor, len(outputs)), rows: rows}
}

// put copies the first keep rows of one output chunk (shape, strides in
// elements, over src) into output j at row offset at. The output's memory
// is allocated from mem on the first chunk.
func (r *result) put(j, at, keep int, srcType bridge.ElemType, shape, strides []int64, src []byte, mem memory.Allocator) error {
	if len(shape) == 0 || shape[0] < int64(keep) {
		return fmt.Errorf("output %d: shape %v holds fewer than %d rows", j, shape, keep)
	}
	t := &r.tensors[j]
	rowShape := shape[1:]
	if t.Data == nil {
		t.Type = outType(srcType)
		t.Shape = append([]int64{int64(r.rows)}, rowShape...)
		t.Data = mem.Allocate(int(t.NumElements()) * t.Type.Size())
	} else if !slices.Equal(t.Shape[1:], rowShape) || t.Type != outType(srcType) {
		return fmt.Errorf("output %d: chunk shape %v %s differs from %v %s", j, shape, srcType, t.Shape, t.Type)
	}
	rowBytes := int(t.NumElements()/max(int64(r.rows), 1)) * t.Type.Size()
	if at+keep > r.rows {
		return fmt.Errorf("output %d: rows %d..%d beyond %d", j, at, at+keep, r.rows)
	}
	sub := append([]int64{int64(keep)}, rowShape...)
	return denseCopy(t.Data[at*rowBytes:(at+keep)*rowBytes], src, srcType, sub, strides)
}

// free releases every output allocated so far.
func (r *result) free(mem memory.Allocator) {
	for i := range r.tensors {
		if r.tensors[i].Data != nil {
			mem.Free(r.tensors[i].Data)
			r.tensors[i].Data = nil
		}
	}
}
