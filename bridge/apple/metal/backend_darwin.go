//go:build darwin && cgo

package metal

/*
#cgo CFLAGS: -fobjc-arc -mmacosx-version-min=13.0 -Werror=unguarded-availability-new
#cgo LDFLAGS: -mmacosx-version-min=13.0 -framework Foundation -framework Metal -framework CoreGraphics
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"runtime"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
)

// kernelTimeout bounds one command buffer, in seconds.
const kernelTimeout = 60

type platform struct {
	availOnce sync.Once
	availErr  error
}

// Available checks once that a Metal device exists and the kernels compile.
func (b *backend) Available() error {
	b.availOnce.Do(func() {
		s, err := b.open(spec{kernel: Normalize})
		if err != nil {
			b.availErr = err
			return
		}
		s.Close()
	})
	return b.availErr
}

// Open compiles the named kernel into a session.
func (b *backend) Open(ctx context.Context, path string, opts bridge.Options) (bridge.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, &bridge.Error{Backend: apple.BackendMetal, Op: apple.OpLoad, Class: bridge.ClassCanceled, Err: err}
	}
	sp, err := parseSpec(path, opts)
	if err != nil {
		return nil, err
	}
	return b.open(sp)
}

func (b *backend) open(sp spec) (*session, error) {
	src, fn := C.CString(kernelSource), C.CString(sp.kernel.function())
	defer C.free(unsafe.Pointer(src))
	defer C.free(unsafe.Pointer(fn))
	var e C.ab_error
	h := C.ab_metal_open(src, fn, &e)
	if h == nil {
		return nil, apple.Classify(apple.BackendMetal, apple.OpLoad, apple.Domain(e.domain), int64(e.code), C.GoString(&e.message[0]))
	}
	return &session{spec: sp, h: h}, nil
}

type session struct {
	mu   sync.Mutex
	spec spec
	h    *C.ab_metal
}

func (s *session) Info() bridge.ModelInfo { return s.spec.info() }

func (s *session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h != nil {
		C.ab_metal_release(s.h)
		s.h = nil
	}
	return nil
}

// Run runs the kernel; outputs are allocated from mem.
func (s *session) Run(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) ([]bridge.Tensor, error) {
	n, k, m, err := s.spec.dims(in)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.h == nil {
		return nil, &bridge.Error{Backend: apple.BackendMetal, Op: apple.OpKernel, Msg: "session is closed"}
	}
	if err := ctx.Err(); err != nil {
		return nil, &bridge.Error{Backend: apple.BackendMetal, Op: apple.OpKernel, Class: bridge.ClassCanceled, Err: err}
	}
	cols := k
	switch s.spec.kernel {
	case MatMul:
		cols = m
	case TopK:
		cols = int64(s.spec.k)
	}
	y := bridge.Tensor{Type: bridge.Float32, Shape: []int64{n, cols}}
	y.Data = mem.Allocate(int(n * cols * 4))
	out := []bridge.Tensor{y}
	if s.spec.kernel == TopK {
		idx := bridge.Tensor{Type: bridge.Int32, Shape: []int64{n, cols}}
		idx.Data = mem.Allocate(int(n * cols * 4))
		out = append(out, idx)
	}
	if n == 0 {
		return out, nil
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	ptr := func(b []byte) unsafe.Pointer {
		if len(b) == 0 {
			return nil
		}
		pin.Pin(&b[0])
		return unsafe.Pointer(&b[0])
	}
	x := (*C.float)(ptr(in[0].Data))
	var w *C.float
	if s.spec.kernel == MatMul {
		w = (*C.float)(ptr(in[1].Data))
	}
	var idx *C.int32_t
	if len(out) == 2 {
		idx = (*C.int32_t)(ptr(out[1].Data))
	}
	var e C.ab_error
	rc := C.ab_metal_run(s.h, C.int32_t(s.spec.kernel), x, w, C.uint32_t(n), C.uint32_t(k), C.uint32_t(m),
		C.uint32_t(s.spec.k), (*C.float)(ptr(out[0].Data)), idx, C.double(kernelTimeout), &e)
	if rc != 0 {
		for _, t := range out {
			mem.Free(t.Data)
		}
		return nil, apple.Classify(apple.BackendMetal, apple.OpKernel, apple.Domain(e.domain), int64(e.code), C.GoString(&e.message[0]))
	}
	return out, nil
}
