package bridge

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Backend is a native runtime that can open models.
type Backend interface {
	// Name is the name job files use: cpu, ane, mps, metal.
	Name() string
	// Available reports nil when the backend can run here, or an error
	// wrapping [ErrUnavailable] that says why not. It is cheap after its
	// first call and does no work at init time.
	Available() error
	// Capabilities describes what the backend takes and where it runs.
	Capabilities() Capabilities
	// Open loads the model at path. The returned session is owned by the
	// caller, who closes it.
	Open(ctx context.Context, path string, opts Options) (Session, error)
}

// MemoryOpener is implemented by backends that can load a model from its
// bytes in memory. The executor prefers it for model files: it reads a
// file once per load, checks the bytes against the content hash the run
// pinned, and hands the backend those very bytes, so that a file replaced
// while a job runs can never reach a session.
type MemoryOpener interface {
	// OpenMemory loads the model whose content is data. path is the file
	// the bytes were read from: it gives the format (by extension) and
	// names the model in messages; it is not read. The backend keeps no
	// reference to data after OpenMemory returns.
	OpenMemory(ctx context.Context, path string, data []byte, opts Options) (Session, error)
}

// Session is a loaded model, ready to run.
type Session interface {
	// Info describes the model's inputs, outputs and metadata.
	Info() ModelInfo
	// Run executes the model once. in must hold one tensor per model input,
	// in the order of Info().Inputs; the result holds one tensor per output
	// in the order of Info().Outputs, with Data allocated from mem and owned
	// by the caller.
	Run(ctx context.Context, in []Tensor, mem memory.Allocator) ([]Tensor, error)
	// Close releases the session. It must not be called while Run runs.
	Close() error
}

// ExtraStrict is the [Options.Extra] key, set to "1", by which the executor
// asks for strict placement: a backend that would silently run part of a
// model elsewhere (ONNX Runtime's CPU fallback under an execution provider)
// must fail to open it instead.
const ExtraStrict = "strict"

// Options are the session settings a job can give. Backends ignore those
// that do not apply to them.
type Options struct {
	IntraOpThreads int    // threads inside one operator; 0: the runtime's default
	InterOpThreads int    // threads across operators; 0: the runtime's default
	GraphOpt       string // graph optimization: disable, basic, extended, all ("" = all)
	Spinning       *bool  // busy-wait between operators; nil: the runtime's default
	// Extra holds backend-specific settings, such as Core ML compute units
	// or a model cache folder.
	Extra map[string]string
}

// Capabilities describes a backend to selection and to `pipe backends`.
type Capabilities struct {
	Formats   []string   // model file extensions it opens: ".onnx", ".mlpackage"
	ElemTypes []ElemType // tensor element types it accepts
	// Kernels are built-in operations the backend runs without a model
	// file: Open's path is then the kernel's name ("matmul").
	Kernels []string
	Devices []Device
	// StaticShapes is true when models must have fully static input shapes
	// (the batcher pads to them).
	StaticShapes bool
	// AutoRank is the backend's place in `backends: [auto]`: backends with
	// a positive rank are tried by ascending rank (ties by name); 0 keeps
	// the backend out of auto, as for a backend that opens no model format.
	AutoRank int
	// Accelerator is true for a backend that runs on the GPU or the Neural
	// Engine: the executor scales its concurrency with the machine's
	// thermal state.
	Accelerator bool
	// DefaultConcurrency is the number of runs of the backend the executor
	// lets execute at once when the job does not say; 0: 1. Ignored when
	// HostCores is set.
	DefaultConcurrency int
	// HostCores is true for a backend whose runs keep the host's cores
	// busy: its default concurrency is GOMAXPROCS divided by the cores one
	// run uses (at least 1).
	HostCores bool
}

// Device is one piece of hardware a backend runs on.
type Device struct {
	Name   string // e.g. "cpu", "Apple M2 Neural Engine"
	Kind   string // cpu, gpu, npu
	Cores  int    // 0 when unknown
	Memory int64  // bytes; 0 when unknown or shared
}

var (
	mu       sync.RWMutex
	backends = map[string]Backend{}
)

// Register makes a backend available by its name. It panics on a nil
// backend or a duplicate name: registration happens in init and a duplicate
// is a programming error.
func Register(b Backend) {
	if b == nil {
		panic("bridge: Register of nil backend")
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := backends[b.Name()]; dup {
		panic("bridge: Register called twice for backend " + b.Name())
	}
	backends[b.Name()] = b
}

// Unregister removes a backend; tests use it to clean up fakes.
func Unregister(name string) {
	mu.Lock()
	delete(backends, name)
	mu.Unlock()
}

// Lookup returns the backend registered under name, or an error wrapping
// [ErrUnknownBackend] listing the known names.
func Lookup(name string) (Backend, error) {
	mu.RLock()
	b, ok := backends[name]
	mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q; known backends: %v", ErrUnknownBackend, name, Names())
	}
	return b, nil
}

// Names returns the registered backend names, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(backends))
	for n := range backends {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// ErrUnknownBackend is returned by [Lookup] for a name nobody registered.
var ErrUnknownBackend = errors.New("unknown backend")
