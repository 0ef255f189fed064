//go:build cgo

package ort

/*
#cgo CFLAGS: -I${SRCDIR}/include -O2
#cgo linux LDFLAGS: -ldl
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/nativelib"
)

// EnvLib is the environment variable that names the ONNX Runtime library
// to load before any other place is searched.
const EnvLib = "PIPE_ORT_LIB"

// ortRuntime is the loaded library and the process-wide objects made from
// it. They live until the process exits.
type ortRuntime struct {
	path    string
	version string
	env     *C.OrtEnv
	cpuMem  *C.OrtMemoryInfo
}

var (
	rtOnce sync.Once
	rt     *ortRuntime
	rtErr  error
)

// instance loads ONNX Runtime and creates the process-wide environment on
// first use, and returns them (or the reason it could not) afterwards.
func instance() (*ortRuntime, error) {
	rtOnce.Do(func() { rt, rtErr = loadRuntime() })
	return rt, rtErr
}

// LibraryVersion loads ONNX Runtime if needed and returns its version, such
// as "1.30.0". The error wraps [bridge.ErrUnavailable].
func LibraryVersion() (string, error) {
	r, err := instance()
	if err != nil {
		return "", err
	}
	return r.version, nil
}

// LibraryPath loads ONNX Runtime if needed and returns the path (or, for a
// library found on the system search path, the name) it was loaded from.
func LibraryPath() (string, error) {
	r, err := instance()
	if err != nil {
		return "", err
	}
	return r.path, nil
}

// LiveObjects is a test hook: the number of ONNX Runtime sessions and values
// that pipe created and has not released yet.
func LiveObjects() (sessions, values int64) {
	var s, v C.int64_t
	C.pipe_ort_live(&s, &v)
	return int64(s), int64(v)
}

// candidate is one place to look for the library.
type candidate = nativelib.Candidate

// candidates lists where to look, in order: $PIPE_ORT_LIB, the user cache
// that scripts/install-ort.sh fills, then the system library search.
func candidates() []candidate {
	return nativelib.Candidates(EnvLib, "onnxruntime", Version, libNames(true), libNames(false))
}

// libNames returns the library file names to try: in the cache, the names
// the installer writes; on the system path, the usual names.
func libNames(cache bool) []string {
	if runtime.GOOS == "darwin" {
		if cache {
			return []string{"libonnxruntime." + Version + ".dylib", "libonnxruntime.dylib"}
		}
		return []string{"libonnxruntime.dylib", "libonnxruntime.1.dylib"}
	}
	return []string{"libonnxruntime.so.1", "libonnxruntime.so"}
}

// errNotFound is wrapped by the error of a search that loaded nothing.
var errNotFound = errors.New("onnxruntime library not found")

// findLibrary tries each candidate with load and returns the first that
// loads. When none does, the error lists every candidate with its reason
// and says how to install the library.
func findLibrary(cands []candidate, load func(string) error) (string, error) {
	path, tried := nativelib.Find(cands, load)
	if path != "" {
		return path, nil
	}
	return "", fmt.Errorf("%w; tried:\n  %s\ninstall it with `make ort` or scripts/install-ort.sh, or set %s to the path of libonnxruntime %s",
		errNotFound, strings.Join(tried, "\n  "), EnvLib, Version)
}

// dlopenLibrary loads the library at path through the shim.
func dlopenLibrary(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var why *C.char
	if C.pipe_ort_load(cpath, &why) != 0 {
		defer C.free(unsafe.Pointer(why))
		return errors.New(C.GoString(why))
	}
	return nil
}

// LogLevelEnv names the environment variable that sets ONNX Runtime's own
// log level: verbose, info, warning, error or fatal (the default). Failed
// runs are reported as errors through the bridge anyway; ONNX Runtime's
// own lines about them would repeat each one on stderr, many times over
// when the model stage bisects a batch to isolate bad rows.
const LogLevelEnv = "PIPE_ORT_LOG_LEVEL"

// logLevel returns the OrtLoggingLevel asked for by [LogLevelEnv].
func logLevel() (C.int, error) {
	levels := []string{"verbose", "info", "warning", "error", "fatal"}
	v := os.Getenv(LogLevelEnv)
	if v == "" {
		return 4, nil
	}
	for i, l := range levels {
		if strings.EqualFold(v, l) {
			return C.int(i), nil
		}
	}
	return 0, fmt.Errorf("%s=%q: want one of %s", LogLevelEnv, v, strings.Join(levels, ", "))
}

// loadRuntime finds and loads the library, then creates the environment
// (logging at [LogLevelEnv]'s level) and the CPU memory description.
func loadRuntime() (*ortRuntime, error) {
	path, err := findLibrary(candidates(), dlopenLibrary)
	if err != nil {
		return nil, &bridge.Error{Backend: "onnxruntime", Op: opLoadLibrary, Class: bridge.ClassUnavailable, Err: err}
	}
	r := &ortRuntime{path: path, version: C.GoString(C.pipe_ort_version())}
	level, err := logLevel()
	if err != nil {
		return nil, &bridge.Error{Backend: "onnxruntime", Op: opLoadLibrary, Class: bridge.ClassUnavailable, Err: err}
	}
	if e := C.pipe_ort_env_create(level, &r.env); e.msg != nil {
		return nil, takeError("onnxruntime", opLoadLibrary, e)
	}
	if e := C.pipe_ort_cpu_meminfo(&r.cpuMem); e.msg != nil {
		return nil, takeError("onnxruntime", opLoadLibrary, e)
	}
	return r, nil
}

// takeError converts and frees a shim error.
func takeError(backend, op string, e C.pipe_ort_err) *bridge.Error {
	msg := C.GoString(e.msg)
	C.free(unsafe.Pointer(e.msg))
	return newError(backend, op, int(e.code), msg)
}

// cStrings copies ss into a C array of C strings; free releases both.
func cStrings(ss []string) (arr **C.char, free func()) {
	if len(ss) == 0 {
		return nil, func() {}
	}
	ptrs := (**C.char)(C.calloc(C.size_t(len(ss)), C.size_t(unsafe.Sizeof((*C.char)(nil)))))
	view := unsafe.Slice(ptrs, len(ss))
	for i, s := range ss {
		view[i] = C.CString(s)
	}
	return ptrs, func() {
		for _, p := range view {
			C.free(unsafe.Pointer(p))
		}
		C.free(unsafe.Pointer(ptrs))
	}
}

// probe checks that the library loads and, for a backend with an execution
// provider, that the library can append it.
func (b *backend) probe() error {
	if _, err := instance(); err != nil {
		return relabel(err, b.name)
	}
	cfg, err := b.config(bridge.Options{})
	if err != nil {
		return &bridge.Error{Backend: b.name, Op: opOptions, Class: bridge.ClassUnavailable, Err: err}
	}
	if cfg.ep == "" {
		return nil
	}
	var so *C.OrtSessionOptions
	if e := C.pipe_ort_so_create(&so); e.msg != nil {
		return takeError(b.name, opOptions, e)
	}
	defer C.pipe_ort_so_release(so)
	if err := b.appendEP(so, cfg); err != nil {
		return &bridge.Error{Backend: b.name, Op: opOptions, Code: err.Code, Class: bridge.ClassUnavailable, Msg: err.Msg}
	}
	return nil
}

// relabel returns a copy of a library error naming backend.
func relabel(err error, backend string) error {
	var be *bridge.Error
	if errors.As(err, &be) {
		c := *be
		c.Backend = backend
		return &c
	}
	return err
}
