//go:build cgo

package ort

/*
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"log/slog"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/pipe-ml/pipe/bridge"
)

// ErrClosed is wrapped by the error of a Run on a closed session.
var ErrClosed = errors.New("session closed")

// session is an ONNX Runtime session behind [bridge.Session].
type session struct {
	backend string
	path    string
	rt      *ortRuntime
	info    bridge.ModelInfo

	// mu is held for reading by every Run and for writing by Close, so
	// Close waits for running calls and a late Run fails cleanly.
	mu  sync.RWMutex
	ptr *C.OrtSession

	inNames  **C.char // C array of len(info.Inputs) input names
	outNames **C.char // C array of the names of the tensor outputs
	outIndex []int    // position in info.Outputs of each entry of outNames
	free     func()   // frees inNames and outNames
}

// open creates the session options, loads the model (from data when it is
// not nil, else from the file at path) and reads its description.
func (b *backend) open(path string, data []byte, opts bridge.Options) (bridge.Session, error) {
	r, err := instance()
	if err != nil {
		return nil, relabel(err, b.name)
	}
	cfg, err := b.config(opts)
	if err != nil {
		return nil, err
	}
	var so *C.OrtSessionOptions
	if e := C.pipe_ort_so_create(&so); e.msg != nil {
		return nil, takeError(b.name, opOptions, e)
	}
	defer C.pipe_ort_so_release(so)
	if err := b.applyOptions(so, cfg); err != nil {
		return nil, err
	}

	var ptr *C.OrtSession
	if e := createSession(r.env, path, data, so, &ptr); e.msg != nil {
		err := takeError(b.name, opLoad, e)
		if !strings.Contains(err.Msg, path) {
			err.Msg = path + ": " + err.Msg
		}
		return nil, err
	}
	s := &session{backend: b.name, path: path, rt: r, ptr: ptr}
	if err := s.describe(); err != nil {
		C.pipe_ort_session_release(ptr)
		err.Msg = path + ": " + err.Msg
		return nil, err
	}
	runtime.SetFinalizer(s, (*session).finalize)
	return s, nil
}

// createSession calls the shim's session constructor: from the bytes when
// data is not nil (ONNX Runtime copies them during the call), else from the
// file.
func createSession(env *C.OrtEnv, path string, data []byte, so *C.OrtSessionOptions, out **C.OrtSession) C.pipe_ort_err {
	if data != nil {
		return C.pipe_ort_session_create_from_array(env, unsafe.Pointer(unsafe.SliceData(data)), C.size_t(len(data)), so, out)
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	return C.pipe_ort_session_create(env, cpath, so, out)
}

// applyOptions sets threads, graph optimization, spinning and the execution
// provider.
func (b *backend) applyOptions(so *C.OrtSessionOptions, cfg sessionConfig) error {
	if e := C.pipe_ort_so_threads(so, C.int(cfg.intra), C.int(cfg.inter)); e.msg != nil {
		return takeError(b.name, opOptions, e)
	}
	if e := C.pipe_ort_so_graph_opt(so, C.int(cfg.graphOpt)); e.msg != nil {
		return takeError(b.name, opOptions, e)
	}
	if cfg.spinning != nil {
		v := "0"
		if *cfg.spinning {
			v = "1"
		}
		for _, k := range []string{"session.intra_op.allow_spinning", "session.inter_op.allow_spinning"} {
			if err := b.configEntry(so, k, v); err != nil {
				return err
			}
		}
	}
	if cfg.noCPUFallback {
		if err := b.configEntry(so, "session.disable_cpu_ep_fallback", "1"); err != nil {
			return err
		}
	}
	for _, d := range cfg.dims {
		if err := b.dimEntry(so, d); err != nil {
			return err
		}
	}
	if cfg.ep != "" {
		if err := b.appendEP(so, cfg); err != nil {
			return err
		}
	}
	return nil
}

// dimEntry pins one symbolic dimension.
func (b *backend) dimEntry(so *C.OrtSessionOptions, d dimOverride) error {
	cn := C.CString(d.name)
	defer C.free(unsafe.Pointer(cn))
	if e := C.pipe_ort_so_dim(so, cn, C.int64_t(d.size)); e.msg != nil {
		err := takeError(b.name, opOptions, e)
		err.Msg = ExtraDimPrefix + d.name + ": " + err.Msg
		return err
	}
	return nil
}

func (b *backend) configEntry(so *C.OrtSessionOptions, key, value string) error {
	ck, cv := C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(ck))
	defer C.free(unsafe.Pointer(cv))
	if e := C.pipe_ort_so_config(so, ck, cv); e.msg != nil {
		return takeError(b.name, opOptions, e)
	}
	return nil
}

// appendEP appends the configured execution provider with its options.
func (b *backend) appendEP(so *C.OrtSessionOptions, cfg sessionConfig) *bridge.Error {
	name := C.CString(cfg.ep)
	defer C.free(unsafe.Pointer(name))
	keys, freeKeys := cStrings(cfg.epKeys)
	defer freeKeys()
	values, freeValues := cStrings(cfg.epValues)
	defer freeValues()
	if e := C.pipe_ort_so_append_ep(so, name, keys, values, C.size_t(len(cfg.epKeys))); e.msg != nil {
		err := takeError(b.name, opOptions, e)
		err.Msg = "execution provider " + cfg.ep + ": " + err.Msg
		return err
	}
	return nil
}

// describe reads the inputs, outputs and metadata, and prepares the name
// arrays Run passes to ONNX Runtime.
func (s *session) describe() *bridge.Error {
	var nin, nout C.size_t
	if e := C.pipe_ort_session_counts(s.ptr, &nin, &nout); e.msg != nil {
		return takeError(s.backend, opInfo, e)
	}
	s.info.Format = "onnx"
	for i := range int(nin) {
		ti, err := s.io(false, i)
		if err != nil {
			return err
		}
		s.info.Inputs = append(s.info.Inputs, ti)
	}
	var runOut []string
	for i := range int(nout) {
		ti, err := s.io(true, i)
		if err != nil {
			return err
		}
		s.info.Outputs = append(s.info.Outputs, ti)
		if ti.Kind == "tensor" {
			runOut = append(runOut, ti.Name)
			s.outIndex = append(s.outIndex, i)
		}
	}
	var meta C.pipe_ort_meta
	if e := C.pipe_ort_session_meta(s.ptr, &meta); e.msg != nil {
		C.pipe_ort_meta_free(&meta)
		return takeError(s.backend, opInfo, e)
	}
	s.info.Producer = C.GoString(meta.producer)
	s.info.Domain = C.GoString(meta.domain)
	s.info.Description = C.GoString(meta.description)
	if s.info.Description == "" {
		s.info.Description = C.GoString(meta.graph_description)
	}
	if n := int(meta.n_custom); n > 0 {
		s.info.Metadata = make(map[string]string, n)
		keys, values := unsafe.Slice(meta.keys, n), unsafe.Slice(meta.values, n)
		for i := range n {
			s.info.Metadata[C.GoString(keys[i])] = C.GoString(values[i])
		}
	}
	C.pipe_ort_meta_free(&meta)

	inNames := make([]string, len(s.info.Inputs))
	for i, ti := range s.info.Inputs {
		inNames[i] = ti.Name
	}
	var freeIn, freeOut func()
	s.inNames, freeIn = cStrings(inNames)
	s.outNames, freeOut = cStrings(runOut)
	s.free = func() { freeIn(); freeOut() }
	return nil
}

// io describes input (output false) or output i.
func (s *session) io(output bool, i int) (bridge.TensorInfo, *bridge.Error) {
	var io C.pipe_ort_io
	which := C.int(0)
	if output {
		which = 1
	}
	e := C.pipe_ort_session_io(s.ptr, which, C.size_t(i), &io)
	defer C.pipe_ort_io_free(&io)
	if e.msg != nil {
		return bridge.TensorInfo{}, takeError(s.backend, opInfo, e)
	}
	ti := bridge.TensorInfo{Name: C.GoString(io.name), Kind: kindName(int(io.onnx_type))}
	if ti.Kind != "tensor" {
		return ti, nil
	}
	ti.Type = bridge.ElemType(io.elem_type)
	n := int(io.ndims)
	ti.Shape = make(bridge.Shape, n)
	if n > 0 {
		dims, names := unsafe.Slice(io.dims, n), unsafe.Slice(io.dim_names, n)
		for d := range n {
			ti.Shape[d] = bridge.Dim{Size: int64(dims[d])}
			if ti.Shape[d].Size < 0 {
				ti.Shape[d] = bridge.Dim{Size: -1, Name: C.GoString(names[d])}
			}
		}
	}
	return ti, nil
}

// kindName names an ONNXType for [bridge.TensorInfo.Kind].
func kindName(t int) string {
	switch t {
	case 1:
		return "tensor"
	case 2:
		return "sequence"
	case 3:
		return "map"
	case 4:
		return "opaque"
	case 5:
		return "sparse_tensor"
	case 6:
		return "optional"
	}
	return "unknown"
}

// Info returns a copy of the model description. Opset is left 0.
func (s *session) Info() bridge.ModelInfo {
	info := s.info
	info.Inputs = cloneInfos(s.info.Inputs)
	info.Outputs = cloneInfos(s.info.Outputs)
	info.Metadata = maps.Clone(s.info.Metadata)
	return info
}

func cloneInfos(in []bridge.TensorInfo) []bridge.TensorInfo {
	out := slices.Clone(in)
	for i := range out {
		out[i].Shape = slices.Clone(out[i].Shape)
	}
	return out
}

// Close releases the session after any running Run has returned. Closing
// twice is a no-op.
func (s *session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr == nil {
		return nil
	}
	runtime.SetFinalizer(s, nil)
	s.release()
	return nil
}

func (s *session) release() {
	C.pipe_ort_session_release(s.ptr)
	s.ptr = nil
	if s.free != nil {
		s.free()
		s.free = nil
	}
}

// finalize reports a session that was never closed, then releases it.
func (s *session) finalize() {
	slog.Warn("onnxruntime session was not closed", "backend", s.backend, "model", s.path)
	s.release()
}
