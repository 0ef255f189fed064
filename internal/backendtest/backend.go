package backendtest

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/bridge"
)

// Config describes a fake backend. Zero fields take the defaults noted.
type Config struct {
	Name string // the backend name; "fake" when empty
	// Unavailable, when non-nil, is what Available reports (wrapped in a
	// [*bridge.Error] of class unavailable).
	Unavailable error
	Formats     []string          // file extensions it opens; default [".fake", ".onnx"]
	ElemTypes   []bridge.ElemType // default [float32]
	Devices     []bridge.Device   // default one cpu device
	// StaticShapes is reported in Capabilities: such backends need static
	// input shapes.
	StaticShapes bool
	K            int   // the width k of x and y; default 4
	StaticBatch  int64 // when > 0, Info declares N fixed at this size instead of dynamic
	// Marker is the value that makes a row invalid input; NaN when MarkerSet
	// is false.
	Marker    float32
	MarkerSet bool
}

// Backend is a fault-injecting [bridge.Backend]. Create it with [New].
type Backend struct {
	cfg Config

	mu        sync.Mutex
	failFirst int          // calls left to fail with failClass
	failClass bridge.Class // class for failFirst
	failAll   *bridge.Class
	panicMsg  string // non-empty: every run panics with it
	openFail  *bridge.Class
	latency   time.Duration
	gate      <-chan struct{}
	rows      []int // row count of every run, in order of start

	calls, opens, closes, running, peak atomic.Int64
}

var _ bridge.Backend = (*Backend)(nil)

// New returns a fake backend configured by cfg.
func New(cfg Config) *Backend {
	if cfg.Name == "" {
		cfg.Name = "fake"
	}
	if len(cfg.Formats) == 0 {
		cfg.Formats = []string{".fake", ".onnx"}
	}
	if len(cfg.ElemTypes) == 0 {
		cfg.ElemTypes = []bridge.ElemType{bridge.Float32}
	}
	if len(cfg.Devices) == 0 {
		cfg.Devices = []bridge.Device{{Name: "fake cpu", Kind: "cpu", Cores: 1}}
	}
	if cfg.K <= 0 {
		cfg.K = 4
	}
	return &Backend{cfg: cfg}
}

// Register registers b with the bridge registry and unregisters it when t
// ends.
func (b *Backend) Register(t testing.TB) *Backend {
	t.Helper()
	bridge.Register(b)
	t.Cleanup(func() { bridge.Unregister(b.cfg.Name) })
	return b
}

// Name returns the configured name.
func (b *Backend) Name() string { return b.cfg.Name }

// Available returns nil, or a class-unavailable error wrapping
// Config.Unavailable.
func (b *Backend) Available() error {
	if b.cfg.Unavailable != nil {
		return &bridge.Error{Backend: b.cfg.Name, Op: "probe", Class: bridge.ClassUnavailable, Err: b.cfg.Unavailable}
	}
	return nil
}

// Capabilities reports the configured formats, element types and devices.
func (b *Backend) Capabilities() bridge.Capabilities {
	return bridge.Capabilities{
		Formats:      slices.Clone(b.cfg.Formats),
		ElemTypes:    slices.Clone(b.cfg.ElemTypes),
		Devices:      slices.Clone(b.cfg.Devices),
		StaticShapes: b.cfg.StaticShapes,
	}
}

// Open checks the file exists and has a supported extension and returns a
// session. FailOpen makes it fail.
func (b *Backend) Open(ctx context.Context, path string, _ bridge.Options) (bridge.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, &bridge.Error{Backend: b.cfg.Name, Op: "load", Class: bridge.ClassCanceled, Err: err}
	}
	if err := b.Available(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	of := b.openFail
	b.mu.Unlock()
	if of != nil {
		return nil, b.injected("load", *of)
	}
	if !slices.Contains(b.cfg.Formats, filepath.Ext(path)) {
		return nil, &bridge.Error{Backend: b.cfg.Name, Op: "load", Class: bridge.ClassUnsupported,
			Msg: fmt.Sprintf("%s: extension not in %v", path, b.cfg.Formats)}
	}
	if _, err := os.Stat(path); err != nil {
		return nil, &bridge.Error{Backend: b.cfg.Name, Op: "load", Class: bridge.ClassModelCorrupt, Err: err}
	}
	b.opens.Add(1)
	return &session{b: b, info: b.info(path)}, nil
}

func (b *Backend) info(path string) bridge.ModelInfo {
	n := bridge.Dim{Size: -1, Name: "N"}
	if b.cfg.StaticBatch > 0 {
		n = bridge.Dim{Size: b.cfg.StaticBatch}
	}
	k := bridge.Dim{Size: int64(b.cfg.K)}
	return bridge.ModelInfo{
		Format:   filepath.Ext(path),
		Inputs:   []bridge.TensorInfo{{Name: "x", Type: bridge.Float32, Shape: bridge.Shape{n, k}, Kind: "tensor"}},
		Outputs:  []bridge.TensorInfo{{Name: "y", Type: bridge.Float32, Shape: bridge.Shape{n, k}, Kind: "tensor"}},
		Producer: "backendtest",
	}
}

func (b *Backend) injected(op string, c bridge.Class) error {
	return &bridge.Error{Backend: b.cfg.Name, Op: op, Code: 1000 + int(c), Class: c, Msg: "injected"}
}

// FailFirst makes the next k runs fail with class c.
func (b *Backend) FailFirst(k int, c bridge.Class) {
	b.mu.Lock()
	b.failFirst, b.failClass = k, c
	b.mu.Unlock()
}

// FailAlways makes every run fail with class c until [Backend.Heal].
func (b *Backend) FailAlways(c bridge.Class) {
	b.mu.Lock()
	b.failAll = &c
	b.mu.Unlock()
}

// FailOpen makes every Open fail with class c until [Backend.Heal].
func (b *Backend) FailOpen(c bridge.Class) {
	b.mu.Lock()
	b.openFail = &c
	b.mu.Unlock()
}

// PanicAlways makes every run panic with msg until [Backend.Heal], as a
// native library's bug would.
func (b *Backend) PanicAlways(msg string) {
	b.mu.Lock()
	b.panicMsg = msg
	b.mu.Unlock()
}

// Heal removes every injected failure.
func (b *Backend) Heal() {
	b.mu.Lock()
	b.failFirst, b.failAll, b.openFail, b.panicMsg = 0, nil, nil, ""
	b.mu.Unlock()
}

// SetLatency makes every run take at least d (interrupted by its context).
func (b *Backend) SetLatency(d time.Duration) {
	b.mu.Lock()
	b.latency = d
	b.mu.Unlock()
}

// SetGate makes every run wait for a value (or close) on gate before
// computing, or for its context to end. nil removes the gate.
func (b *Backend) SetGate(gate <-chan struct{}) {
	b.mu.Lock()
	b.gate = gate
	b.mu.Unlock()
}

// Calls returns the number of Run calls, failed ones included.
func (b *Backend) Calls() int { return int(b.calls.Load()) }

// Opens returns the number of sessions opened.
func (b *Backend) Opens() int { return int(b.opens.Load()) }

// Closes returns the number of sessions closed.
func (b *Backend) Closes() int { return int(b.closes.Load()) }

// Running returns the number of runs in progress.
func (b *Backend) Running() int { return int(b.running.Load()) }

// Peak returns the largest number of runs that were in progress at once.
func (b *Backend) Peak() int { return int(b.peak.Load()) }

// Rows returns the row count (the first dimension of the first input) of
// every run, in the order they started.
func (b *Backend) Rows() []int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.rows)
}

// isMarker reports whether v is the configured bad-row marker.
func (b *Backend) isMarker(v float32) bool {
	if !b.cfg.MarkerSet {
		return math.IsNaN(float64(v))
	}
	return v == b.cfg.Marker
}
