//go:build cgo

package ort

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// Run executes the model once; see [bridge.Session.Run]. Input Data is
// wrapped without copying (Go memory is pinned for the call). Outputs that
// are not tensors (sequences, maps) come back as a zero [bridge.Tensor];
// an empty output has nil Data. With a context that can be cancelled, ctx
// being done asks ONNX Runtime to terminate the run (through
// context.AfterFunc); Run waits for that request before returning.
func (s *session) Run(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) ([]bridge.Tensor, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return nil, &bridge.Error{Backend: s.backend, Op: opRun, Err: ErrClosed}
	}
	if err := ctx.Err(); err != nil {
		return nil, s.canceled(err, 0, "")
	}
	if err := s.validate(in); err != nil {
		return nil, err
	}

	var pin runtime.Pinner
	defer pin.Unpin() // after the values that point into Data are released
	values := make([]*C.OrtValue, len(in))
	defer releaseValues(values)
	for i := range in {
		v, err := s.inputValue(&in[i], &pin, s.info.Inputs[i].Name)
		if err != nil {
			return nil, err
		}
		values[i] = v
	}

	outs := make([]*C.OrtValue, len(s.outIndex))
	defer releaseValues(outs)
	if err := s.call(ctx, values, outs); err != nil {
		return nil, err
	}
	return s.collect(outs, mem)
}

func releaseValues(vs []*C.OrtValue) {
	for _, v := range vs {
		C.pipe_ort_value_release(v)
	}
}

// canceled is the error of a run stopped by its context.
func (s *session) canceled(err error, code int, msg string) error {
	return &bridge.Error{Backend: s.backend, Op: opRun, Code: code, Class: bridge.ClassCanceled, Msg: msg, Err: err}
}

// call runs the session on the calling goroutine. With a cancellable ctx it
// creates run options whose terminate flag is set when ctx is done, and
// before returning deregisters that or waits for it to have run.
func (s *session) call(ctx context.Context, values, outs []*C.OrtValue) error {
	var ro *C.OrtRunOptions
	if ctx.Done() != nil {
		if e := C.pipe_ort_runopts_create(&ro); e.msg != nil {
			return takeError(s.backend, opRun, e)
		}
		defer C.pipe_ort_runopts_release(ro)
		// A cancelled context terminates the run. AfterFunc rather than a
		// watching goroutine: the run's end then does not wait for another
		// goroutine to be scheduled, which on a busy machine left the
		// backend idle between calls.
		var terminated sync.WaitGroup
		terminated.Add(1)
		stop := context.AfterFunc(ctx, func() {
			defer terminated.Done()
			e := C.pipe_ort_runopts_terminate(ro)
			C.free(unsafe.Pointer(e.msg))
		})
		defer func() {
			if !stop() {
				terminated.Wait() // the terminate call must be done with ro
			}
		}()
	}
	var inPtr, outPtr **C.OrtValue
	if len(values) > 0 {
		inPtr = &values[0]
	}
	if len(outs) > 0 {
		outPtr = &outs[0]
	}
	e := C.pipe_ort_run(s.ptr, ro, s.inNames, inPtr, C.size_t(len(values)), s.outNames, C.size_t(len(outs)), outPtr)
	if e.msg == nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		msg := C.GoString(e.msg)
		C.free(unsafe.Pointer(e.msg))
		return s.canceled(err, int(e.code), msg)
	}
	return takeError(s.backend, opRun, e)
}

// validate checks in against the model's inputs: count, element type, rank,
// fixed dimensions and data length.
func (s *session) validate(in []bridge.Tensor) error {
	want := s.info.Inputs
	if len(in) != len(want) {
		return inputError(s.backend, fmt.Sprintf("model %s takes %d inputs %v, got %d tensors", s.path, len(want), inputNames(want), len(in)))
	}
	for i := range in {
		t, w := &in[i], &want[i]
		if w.Kind != "tensor" {
			return &bridge.Error{Backend: s.backend, Op: opInput, Class: bridge.ClassUnsupported,
				Msg: fmt.Sprintf("input %q is a %s, not a tensor", w.Name, w.Kind)}
		}
		if !supportedElem(w.Type) {
			return &bridge.Error{Backend: s.backend, Op: opInput, Class: bridge.ClassUnsupported,
				Msg: fmt.Sprintf("input %q has element type %v, which pipe cannot pass", w.Name, w.Type)}
		}
		if t.Type != w.Type {
			return inputError(s.backend, fmt.Sprintf("input %q: element type %v, model wants %v", w.Name, t.Type, w.Type))
		}
		if len(t.Shape) != len(w.Shape) {
			return inputError(s.backend, fmt.Sprintf("input %q: shape %v has rank %d, model wants %v", w.Name, t.Shape, len(t.Shape), w.Shape))
		}
		n := int64(1)
		for d, size := range t.Shape {
			if size < 0 {
				return inputError(s.backend, fmt.Sprintf("input %q: negative dimension in shape %v", w.Name, t.Shape))
			}
			if !w.Shape[d].Dynamic() && w.Shape[d].Size != size {
				return inputError(s.backend, fmt.Sprintf("input %q: shape %v, model wants %v (dimension %d must be %d)", w.Name, t.Shape, w.Shape, d, w.Shape[d].Size))
			}
			if size != 0 && n > math.MaxInt64/size {
				return inputError(s.backend, fmt.Sprintf("input %q: shape %v is too large", w.Name, t.Shape))
			}
			n *= size
		}
		if t.Type == bridge.String {
			if int64(len(t.Strings)) != n {
				return inputError(s.backend, fmt.Sprintf("input %q: shape %v holds %d strings, got %d", w.Name, t.Shape, n, len(t.Strings)))
			}
			for j, str := range t.Strings {
				if strings.IndexByte(str, 0) >= 0 {
					return inputError(s.backend, fmt.Sprintf("input %q: string %d contains a NUL byte, which ONNX Runtime cannot take", w.Name, j))
				}
			}
			continue
		}
		size := int64(t.Type.Size())
		if n > math.MaxInt64/size || int64(len(t.Data)) != n*size {
			return inputError(s.backend, fmt.Sprintf("input %q: shape %v of %v needs %d bytes, got %d", w.Name, t.Shape, t.Type, n*size, len(t.Data)))
		}
	}
	return nil
}

func inputNames(ti []bridge.TensorInfo) []string {
	out := make([]string, len(ti))
	for i, t := range ti {
		out[i] = t.Name
	}
	return out
}

// inputValue wraps t in an OrtValue. Numeric data is wrapped in place (and
// pinned if it is Go memory); strings and empty tensors are copied into a
// tensor ONNX Runtime allocates.
func (s *session) inputValue(t *bridge.Tensor, pin *runtime.Pinner, name string) (*C.OrtValue, error) {
	var shape *C.int64_t
	if len(t.Shape) > 0 {
		shape = (*C.int64_t)(unsafe.Pointer(&t.Shape[0]))
	}
	ndims := C.size_t(len(t.Shape))
	var v *C.OrtValue
	var e C.pipe_ort_err
	switch {
	case t.Type == bridge.String:
		e = C.pipe_ort_tensor_alloc(shape, ndims, C.int(t.Type), &v)
		if e.msg == nil && len(t.Strings) > 0 {
			arr, free := cStrings(t.Strings)
			e = C.pipe_ort_tensor_fill_strings(v, arr, C.size_t(len(t.Strings)))
			free()
		}
	case len(t.Data) == 0:
		e = C.pipe_ort_tensor_alloc(shape, ndims, C.int(t.Type), &v)
	default:
		p := unsafe.Pointer(&t.Data[0])
		pin.Pin(p)
		e = C.pipe_ort_tensor_with_data(s.rt.cpuMem, p, C.size_t(len(t.Data)), shape, ndims, C.int(t.Type), &v)
	}
	if e.msg != nil {
		C.pipe_ort_value_release(v)
		err := takeError(s.backend, opInput, e)
		err.Msg = fmt.Sprintf("input %q: %s", name, err.Msg)
		return nil, err
	}
	return v, nil
}

// collect copies the run's outputs into tensors allocated from mem. On
// error, the buffers already allocated are freed.
func (s *session) collect(outs []*C.OrtValue, mem memory.Allocator) (result []bridge.Tensor, err error) {
	result = make([]bridge.Tensor, len(s.info.Outputs))
	defer func() {
		if err != nil {
			for _, t := range result {
				if t.Data != nil {
					mem.Free(t.Data)
				}
			}
			result = nil
		}
	}()
	for j, v := range outs {
		i := s.outIndex[j]
		t, err := s.output(v, s.info.Outputs[i].Name, mem)
		if err != nil {
			return result, err
		}
		result[i] = t
	}
	return result, nil
}

// output copies one output value.
func (s *session) output(v *C.OrtValue, name string, mem memory.Allocator) (bridge.Tensor, error) {
	var kind, elem C.int
	var ndims C.size_t
	var data unsafe.Pointer
	dims := make([]int64, 8)
	for {
		e := C.pipe_ort_tensor_info(v, &kind, &elem, (*C.int64_t)(unsafe.Pointer(&dims[0])), C.size_t(len(dims)), &ndims, &data)
		if e.msg != nil {
			err := takeError(s.backend, opOutput, e)
			err.Msg = fmt.Sprintf("output %q: %s", name, err.Msg)
			return bridge.Tensor{}, err
		}
		if int(ndims) <= len(dims) {
			break
		}
		dims = make([]int64, int(ndims))
	}
	typ := bridge.ElemType(elem)
	if kind != 1 || !supportedElem(typ) {
		return bridge.Tensor{}, &bridge.Error{Backend: s.backend, Op: opOutput, Class: bridge.ClassUnsupported,
			Msg: fmt.Sprintf("output %q is a %s of %v, which pipe cannot read", name, kindName(int(kind)), typ)}
	}
	t := bridge.Tensor{Type: typ, Shape: dims[:int(ndims):int(ndims)]}
	n := t.NumElements()
	if typ == bridge.String {
		strs, err := s.readStrings(v, n, name)
		t.Strings = strs
		return t, err
	}
	nbytes := n * int64(typ.Size())
	if nbytes == 0 {
		return t, nil
	}
	if data == nil {
		return bridge.Tensor{}, &bridge.Error{Backend: s.backend, Op: opOutput, Msg: fmt.Sprintf("output %q has no data", name)}
	}
	t.Data = mem.Allocate(int(nbytes))
	copy(t.Data, unsafe.Slice((*byte)(data), nbytes))
	return t, nil
}

// readStrings copies the n strings of a string tensor.
func (s *session) readStrings(v *C.OrtValue, n int64, name string) ([]string, error) {
	if n == 0 {
		return []string{}, nil
	}
	var total C.size_t
	e := C.pipe_ort_strings_len(v, &total)
	buf := make([]byte, int(total)+1) // +1: never a zero-length buffer
	offsets := make([]C.size_t, n)
	if e.msg == nil {
		e = C.pipe_ort_strings_read(v, unsafe.Pointer(&buf[0]), total, &offsets[0], C.size_t(n))
	}
	if e.msg != nil {
		err := takeError(s.backend, opOutput, e)
		err.Msg = fmt.Sprintf("output %q: %s", name, err.Msg)
		return nil, err
	}
	out := make([]string, n)
	for i := range out {
		end := int(total)
		if i+1 < len(out) {
			end = int(offsets[i+1])
		}
		out[i] = string(buf[int(offsets[i]):end])
	}
	return out, nil
}
