//go:build darwin && cgo

package coreml

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
)

// mlType maps bridge element types to MLMultiArrayDataType.
var mlType = map[bridge.ElemType]C.int32_t{
	bridge.Float32: mlFloat32, bridge.Float16: mlFloat16, bridge.Float64: mlFloat64, bridge.Int32: mlInt32,
}

// session is a loaded Core ML model. Run calls are serialised.
type session struct {
	mu      sync.Mutex
	backend string
	h       *C.ab_model
	info    bridge.ModelInfo
	plan    apple.ShapePlan
}

// Info describes the model.
func (s *session) Info() bridge.ModelInfo { return s.info }

// Close releases the model.
func (s *session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		C.ab_coreml_release(s.h)
		s.h = nil
	}
	return nil
}

// prewarm runs one prediction on zeros of the largest planned shape, as
// ExecuTorch does, so that the first real batch does not pay for Core ML's
// lazy set-up.
func (s *session) prewarm() error {
	mem := memory.NewGoAllocator()
	n := s.plan.BatchSizes[len(s.plan.BatchSizes)-1]
	in := make([]bridge.Tensor, len(s.info.Inputs))
	for i, ti := range s.info.Inputs {
		shape := s.plan.Shapes[n][ti.Name]
		if s.plan.Mode == apple.BatchPerRow {
			shape = append([]int64{1}, shape[1:]...)
		}
		t := bridge.Tensor{Type: ti.Type, Shape: shape}
		t.Data = make([]byte, t.NumElements()*int64(ti.Type.Size()))
		in[i] = t
	}
	out, err := s.Run(context.Background(), in, mem)
	for _, t := range out {
		mem.Free(t.Data)
	}
	return err
}

// Run predicts one batch. Inputs are borrowed for the call; outputs are
// allocated from mem and owned by the caller.
func (s *session) Run(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) ([]bridge.Tensor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return nil, &bridge.Error{Backend: s.backend, Op: apple.OpPredict, Class: bridge.ClassUnknown, Msg: "session is closed"}
	}
	rows, rowElems, err := s.check(in)
	if err != nil {
		return nil, err
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	for _, t := range in {
		if len(t.Data) > 0 {
			pin.Pin(&t.Data[0])
		}
	}
	res := newResult(s.info.Outputs, rows)
	chunk := rows
	switch s.plan.Mode {
	case apple.BatchPadded:
		chunk = s.plan.PadTo
	case apple.BatchFlexible:
		chunk = min(rows, s.plan.BatchSizes[0])
	}
	for start := 0; start < rows; start += chunk {
		if err := ctx.Err(); err != nil {
			res.free(mem)
			return nil, &bridge.Error{Backend: s.backend, Op: apple.OpPredict, Class: bridge.ClassCanceled, Err: err}
		}
		count := min(chunk, rows-start)
		if err := s.runChunk(in, rowElems, start, count, res, mem); err != nil {
			res.free(mem)
			return nil, err
		}
	}
	return res.tensors, nil
}

// check validates the inputs against the model and returns the row count
// and the elements per row of each input.
func (s *session) check(in []bridge.Tensor) (int, []int64, error) {
	bad := func(format string, args ...any) error {
		return &bridge.Error{Backend: s.backend, Op: apple.OpPredict, Class: bridge.ClassInvalidInput, Msg: fmt.Sprintf(format, args...)}
	}
	if len(in) != len(s.info.Inputs) {
		return 0, nil, bad("model takes %d inputs, got %d", len(s.info.Inputs), len(in))
	}
	rows := -1
	per := make([]int64, len(in))
	for i, t := range in {
		ti := s.info.Inputs[i]
		if t.Type != ti.Type {
			return 0, nil, bad("input %q: model takes %s, got %s", ti.Name, ti.Type, t.Type)
		}
		if _, ok := mlType[t.Type]; !ok {
			return 0, nil, bad("input %q: element type %s is not supported by Core ML", ti.Name, t.Type)
		}
		if len(t.Shape) == 0 || int64(len(t.Data)) != t.NumElements()*int64(t.Type.Size()) {
			return 0, nil, bad("input %q: shape %v does not match %d bytes", ti.Name, t.Shape, len(t.Data))
		}
		if rows >= 0 && int(t.Shape[0]) != rows {
			return 0, nil, bad("input %q has %d rows, input %q has %d", ti.Name, t.Shape[0], s.info.Inputs[0].Name, rows)
		}
		rows = int(t.Shape[0])
		per[i] = t.NumElements() / max(t.Shape[0], 1)
		want := s.plan.Shapes[s.plan.BatchSizes[0]][ti.Name]
		wantPer := int64(1)
		for _, d := range want[1:] {
			wantPer *= d
		}
		if per[i] != wantPer {
			return 0, nil, bad("input %q: %d values per row, model takes shape %v", ti.Name, per[i], want[1:])
		}
	}
	return rows, per, nil
}

// runChunk predicts rows start..start+count and writes them into res.
func (s *session) runChunk(in []bridge.Tensor, rowElems []int64, start, count int, res *result, mem memory.Allocator) error {
	nIn, nOut := len(in), len(s.info.Outputs)
	nCalls := 1
	if s.plan.Mode == apple.BatchPerRow {
		nCalls = count
	}
	var c cArgs
	defer c.free()
	tensors := s.cInputs(&c, in, rowElems, start, count, nCalls)
	names := unsafe.Slice((**C.char)(c.alloc(nOut, unsafe.Sizeof((*C.char)(nil)))), nOut)
	for j, o := range s.info.Outputs {
		names[j] = c.cstring(o.Name)
	}
	outs := unsafe.Slice((*C.ab_output)(c.alloc(nCalls*nOut, unsafe.Sizeof(C.ab_output{}))), nCalls*nOut)
	var e C.ab_error
	rc := C.ab_coreml_predict(s.h, &tensors[0], C.int32_t(nCalls), C.int32_t(nIn),
		unsafe.SliceData(names), C.int32_t(nOut), unsafe.SliceData(outs), &e)
	if rc != 0 {
		return nativeError(s.backend, apple.OpPredict, &e)
	}
	defer func() {
		for k := range outs {
			C.ab_free(outs[k].data)
		}
	}()
	keep := count
	if nCalls > 1 {
		keep = 1
	}
	for r := 0; r < nCalls; r++ {
		for j := 0; j < nOut; j++ {
			o := &outs[r*nOut+j]
			shape := make([]int64, o.rank)
			strides := make([]int64, o.rank)
			for d := range shape {
				shape[d], strides[d] = int64(o.shape[d]), int64(o.strides[d])
			}
			src := unsafe.Slice((*byte)(o.data), int(o.nbytes))
			if err := res.put(j, start+r, keep, elemOf(int64(o.dtype)), shape, strides, src, mem); err != nil {
				return &bridge.Error{Backend: s.backend, Op: apple.OpPredict, Class: bridge.ClassUnknown, Err: err}
			}
		}
	}
	return nil
}

// cInputs describes rows start..start+count of each input to the shim:
// nCalls*len(in) ab_tensors (row-major by call) in C memory from c. Their
// data points into the pinned Go inputs; the shim copies it into memory
// that Core ML owns during the call, zero-filling padding rows, so nothing
// refers to Go memory once ab_coreml_predict returns.
func (s *session) cInputs(c *cArgs, in []bridge.Tensor, rowElems []int64, start, count, nCalls int) []C.ab_tensor {
	nIn := len(in)
	batch := count
	switch s.plan.Mode {
	case apple.BatchPadded:
		batch, _ = paddedSize(s.plan.BatchSizes, count)
	case apple.BatchPerRow:
		batch = 1
	}
	tensors := unsafe.Slice((*C.ab_tensor)(c.alloc(nCalls*nIn, unsafe.Sizeof(C.ab_tensor{}))), nCalls*nIn)
	for i, t := range in {
		ti := s.info.Inputs[i]
		rowBytes := rowElems[i] * int64(t.Type.Size())
		name := c.cstring(ti.Name)
		shape := append([]int64{int64(batch)}, t.Shape[1:]...)
		if s.plan.Mode != apple.BatchFlexible {
			shape = append([]int64{int64(batch)}, s.plan.Shapes[s.plan.BatchSizes[0]][ti.Name][1:]...)
		}
		strides := denseStrides(shape)
		rows := int64(count) // rows of real data per call; the rest is padding
		if nCalls > 1 {
			rows = 1
		}
		for r := 0; r < nCalls; r++ {
			ct := &tensors[r*nIn+i]
			ct.name = name
			ct.nbytes = C.int64_t(rows * rowBytes)
			if rows*rowBytes > 0 {
				ct.data = unsafe.Pointer(&t.Data[(int64(start)+int64(r))*rowBytes])
			}
			ct.dtype = mlType[t.Type]
			ct.rank = C.int32_t(len(shape))
			for d := range shape {
				ct.shape[d] = C.int64_t(shape[d])
				ct.strides[d] = C.int64_t(strides[d])
			}
		}
	}
	return tensors
}

// cArgs holds the C memory of one shim call, released by free.
type cArgs struct {
	ptrs []unsafe.Pointer
}

// alloc returns n (at least one) zeroed elements of size bytes in C
// memory. It panics when C memory is exhausted, as cgo's C.malloc does.
func (c *cArgs) alloc(n int, size uintptr) unsafe.Pointer {
	p := C.calloc(C.size_t(max(n, 1)), C.size_t(size))
	if p == nil {
		panic("coreml: out of C memory")
	}
	c.ptrs = append(c.ptrs, p)
	return p
}

// cstring returns s as a C string that lives until free.
func (c *cArgs) cstring(s string) *C.char {
	p := C.CString(s)
	c.ptrs = append(c.ptrs, unsafe.Pointer(p))
	return p
}

// free releases everything alloc and cstring returned.
func (c *cArgs) free() {
	for _, p := range c.ptrs {
		C.free(p)
	}
	c.ptrs = nil
}
