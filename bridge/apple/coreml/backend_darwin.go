//go:build darwin && cgo

package coreml

/*
#cgo CFLAGS: -fobjc-arc -mmacosx-version-min=13.0 -Werror=unguarded-availability-new
#cgo LDFLAGS: -mmacosx-version-min=13.0 -framework Foundation -framework CoreML
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
	"github.com/pipe-ml/pipe/bridge/ort"
)

// platform holds the darwin state of a backend.
type platform struct {
	availOnce sync.Once
	availErr  error
	ortOnce   sync.Once
	ortB      bridge.Backend
}

// Available checks once that this Mac can run the backend: native arm64,
// macOS 13 or later, and for ane a Neural Engine.
func (b *backend) Available() error {
	b.availOnce.Do(func() { b.availErr = b.probe() })
	return b.availErr
}

func (b *backend) probe() error {
	caps, err := apple.Probe()
	if err != nil {
		return fmt.Errorf("%w: %s backend: %v", bridge.ErrUnavailable, b.name, err)
	}
	if err := caps.Accelerated(); err != nil {
		return fmt.Errorf("%s backend: %w", b.name, err)
	}
	if b.name == apple.BackendANE {
		if n, _ := apple.NeuralEngineCores(); n == 0 {
			return fmt.Errorf("%w: %s backend: MLAllComputeDevices lists no Neural Engine", bridge.ErrUnavailable, b.name)
		}
	}
	return nil
}

// Open loads a model: .onnx through ONNX Runtime's CoreML provider,
// .mlpackage/.mlmodel (compiled once into the cache) and .mlmodelc through
// Core ML directly.
func (b *backend) Open(ctx context.Context, path string, opts bridge.Options) (bridge.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, &bridge.Error{Backend: b.name, Op: apple.OpLoad, Class: bridge.ClassCanceled, Err: err}
	}
	if err := b.Available(); err != nil {
		return nil, &bridge.Error{Backend: b.name, Op: apple.OpLoad, Class: bridge.ClassUnavailable, Err: err}
	}
	switch formatOf(path) {
	case ".onnx":
		return b.openONNX(ctx, path, opts)
	case ".mlpackage", ".mlmodel", ".mlmodelc":
		return b.openNative(path, opts)
	}
	return nil, &bridge.Error{Backend: b.name, Op: apple.OpLoad, Class: bridge.ClassUnsupported,
		Msg: fmt.Sprintf("%s: unsupported model format (want %s)", path, strings.Join(formats, ", "))}
}

func (b *backend) cacheRoot(opts bridge.Options) (string, error) {
	if d := opts.Extra[ExtraCacheDir]; d != "" {
		return d, nil
	}
	return apple.CacheRoot()
}

func (b *backend) openONNX(ctx context.Context, path string, opts bridge.Options) (bridge.Session, error) {
	fail := func(err error) error {
		return &bridge.Error{Backend: b.name, Op: apple.OpLoad, Class: bridge.ClassUnsupported, Err: err}
	}
	units, err := apple.UnitsFor(b.name, apple.ModelTraits{}, opts.Extra[ExtraComputeUnits])
	if err != nil {
		return nil, fail(err)
	}
	caps, _ := apple.Probe()
	overrides, extra, keyOpts := splitONNXExtra(opts.Extra)
	key, err := apple.CacheKey(path, units, apple.CacheEnv{OSBuild: caps.OSBuild, ORTVersion: ort.Version, Chip: caps.Chip, Options: keyOpts})
	if err != nil {
		return nil, &bridge.Error{Backend: b.name, Op: apple.OpLoad, Class: bridge.ClassModelCorrupt, Err: err}
	}
	root, err := b.cacheRoot(opts)
	if err != nil {
		return nil, fail(err)
	}
	dir := filepath.Join(root, "ort", key)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, &bridge.Error{Backend: b.name, Op: apple.OpLoad, Class: bridge.ClassResourceExhausted, Err: err}
	}
	ep, err := apple.EPOptions(apple.EPConfig{Units: units, CacheDir: dir, StaticShapes: b.name == apple.BackendANE,
		ORTVersion: ort.Version, Overrides: overrides})
	if err != nil {
		return nil, err
	}
	maps.Copy(extra, ep)
	b.ortOnce.Do(func() { b.ortB = ort.NewBackend(b.name, nil, b.Capabilities()) })
	o := opts
	o.Extra = extra
	s, err := b.ortB.Open(ctx, path, o)
	return s, apple.Reclassify(err)
}

// nativeError converts a shim error.
func nativeError(backend, op string, e *C.ab_error) *bridge.Error {
	return apple.Classify(backend, op, apple.Domain(e.domain), int64(e.code), C.GoString(&e.message[0]))
}

func compileTimeout(opts bridge.Options) (time.Duration, error) {
	s := opts.Extra[ExtraCompileTimeout]
	if s == "" {
		return 5 * time.Minute, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s %q: want a positive duration such as 5m", ExtraCompileTimeout, s)
	}
	return d, nil
}

// compiled returns the .mlmodelc to load: the model itself, or its compiled
// form in the cache, compiling it on first use.
func (b *backend) compiled(path string, opts bridge.Options, timeout time.Duration) (string, error) {
	if formatOf(path) == ".mlmodelc" {
		return path, nil
	}
	caps, _ := apple.Probe()
	// The compiled model does not depend on compute units; Core ML
	// specialises it per device at load time and caches that per location.
	key, err := apple.CacheKey(path, apple.All, apple.CacheEnv{OSBuild: caps.OSBuild, Chip: caps.Chip})
	if err != nil {
		return "", &bridge.Error{Backend: b.name, Op: apple.OpCompile, Class: bridge.ClassModelCorrupt, Err: err}
	}
	root, err := b.cacheRoot(opts)
	if err != nil {
		return "", &bridge.Error{Backend: b.name, Op: apple.OpCompile, Class: bridge.ClassUnsupported, Err: err}
	}
	dir := filepath.Join(root, key)
	final := apple.CompiledModelPath(dir, path)
	if _, err := os.Stat(final); err == nil {
		return final, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", &bridge.Error{Backend: b.name, Op: apple.OpCompile, Class: bridge.ClassResourceExhausted, Err: err}
	}
	staging := fmt.Sprintf("%s.tmp-%d-%d", final, os.Getpid(), time.Now().UnixNano())
	csrc, cdst := C.CString(path), C.CString(staging)
	defer C.free(unsafe.Pointer(csrc))
	defer C.free(unsafe.Pointer(cdst))
	var e C.ab_error
	if C.ab_coreml_compile(csrc, cdst, C.double(timeout.Seconds()), &e) != 0 {
		_ = os.RemoveAll(staging)
		return "", nativeError(b.name, apple.OpCompile, &e)
	}
	if err := installCompiled(staging, final); err != nil {
		return "", &bridge.Error{Backend: b.name, Op: apple.OpCompile, Class: bridge.ClassResourceExhausted, Err: err}
	}
	return final, nil
}

func (b *backend) openNative(path string, opts bridge.Options) (bridge.Session, error) {
	fail := func(op string, c bridge.Class, err error) error {
		return &bridge.Error{Backend: b.name, Op: op, Class: c, Err: err}
	}
	units, err := apple.UnitsFor(b.name, apple.ModelTraits{}, opts.Extra[ExtraComputeUnits])
	if err != nil {
		return nil, fail(apple.OpLoad, bridge.ClassUnsupported, err)
	}
	timeout, err := compileTimeout(opts)
	if err != nil {
		return nil, fail(apple.OpLoad, bridge.ClassUnsupported, err)
	}
	policy, err := batchPolicy(opts)
	if err != nil {
		return nil, fail(apple.OpLoad, bridge.ClassUnsupported, err)
	}
	mlmodelc, err := b.compiled(path, opts, timeout)
	if err != nil {
		return nil, err
	}
	cpath := C.CString(mlmodelc)
	defer C.free(unsafe.Pointer(cpath))
	flags := C.int32_t(0)
	if b.name == apple.BackendANE {
		flags = 1 // the batch shape is pinned: hint Infrequent reshapes
	}
	var e C.ab_error
	h := C.ab_coreml_load(cpath, C.int32_t(units), flags, &e)
	if h == nil {
		return nil, nativeError(b.name, apple.OpLoad, &e)
	}
	s := &session{backend: b.name, h: h}
	js := C.ab_coreml_describe(h, &e)
	if js == nil {
		s.Close()
		return nil, nativeError(b.name, apple.OpDescribe, &e)
	}
	info, specs, err := parseDescription([]byte(C.GoString(js)))
	C.ab_free(unsafe.Pointer(js))
	if err != nil {
		s.Close()
		return nil, fail(apple.OpDescribe, bridge.ClassModelCorrupt, err)
	}
	info.Format = strings.TrimPrefix(formatOf(path), ".")
	if _, err := apple.UnitsFor(b.name, apple.ModelTraits{Inputs: info.Inputs}, opts.Extra[ExtraComputeUnits]); err != nil {
		s.Close()
		return nil, err
	}
	plan, err := apple.PlanShapes(specs, policy, b.name != apple.BackendANE)
	if err != nil {
		s.Close()
		return nil, fail(apple.OpLoad, bridge.ClassUnsupported, err)
	}
	s.info, s.plan = info, plan
	if err := s.prewarm(); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// batchPolicy reads max_rows and dim.<name> from Options.Extra.
func batchPolicy(opts bridge.Options) (apple.BatchPolicy, error) {
	p := apple.BatchPolicy{MaxRows: 64, DimSizes: map[string]int64{}}
	if v := opts.Extra[ExtraMaxRows]; v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return p, fmt.Errorf("%s %q: want a positive integer", ExtraMaxRows, v)
		}
		p.MaxRows = n
	}
	for k, v := range opts.Extra {
		if name, ok := strings.CutPrefix(k, ExtraDimPrefix); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n <= 0 {
				return p, fmt.Errorf("%s %q: want a positive integer", k, v)
			}
			p.DimSizes[name] = n
		}
	}
	return p, nil
}

// ComputePlan compiles the model if needed and reports Core ML's expected
// device per operation under units (MLComputePlan, macOS 14.4+).
func ComputePlan(ctx context.Context, path string, units apple.ComputeUnits) (Placement, error) {
	b := &backend{name: "coreml", units: units}
	if err := ctx.Err(); err != nil {
		return Placement{}, err
	}
	if formatOf(path) == ".onnx" {
		return Placement{}, fmt.Errorf("%s: MLComputePlan needs a Core ML model; for .onnx set ep.ProfileComputePlan=1 and read ONNX Runtime's log", path)
	}
	mlmodelc, err := b.compiled(path, bridge.Options{}, 5*time.Minute)
	if err != nil {
		return Placement{}, err
	}
	cpath := C.CString(mlmodelc)
	defer C.free(unsafe.Pointer(cpath))
	var e C.ab_error
	js := C.ab_coreml_plan(cpath, C.int32_t(units), C.double(300), &e)
	if js == nil {
		return Placement{}, nativeError(b.name, apple.OpPlan, &e)
	}
	defer C.ab_free(unsafe.Pointer(js))
	return parsePlacement([]byte(C.GoString(js)))
}
