package ort

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/pipe-ml/pipe/bridge"
)

// Version is the ONNX Runtime release pipe is built and tested against, and
// the one scripts/install-ort.sh installs.
const Version = "1.30.0"

// Keys of [bridge.Options.Extra] this backend reads.
const (
	// ExtraEP names an execution provider to append before the CPU one,
	// such as "CoreML".
	ExtraEP = "ep"
	// ExtraEPPrefix starts the keys of that provider's options:
	// "ep.MLComputeUnits" = "CPUAndNeuralEngine".
	ExtraEPPrefix = "ep."
)

func init() {
	bridge.Register(NewBackend("cpu", nil, CPUCapabilities()))
}

// CPUCapabilities describes ONNX Runtime's CPU execution provider.
func CPUCapabilities() bridge.Capabilities {
	return bridge.Capabilities{
		Formats:   []string{".onnx"},
		ElemTypes: ElemTypes(),
		Devices:   []bridge.Device{{Name: "cpu", Kind: "cpu", Cores: runtime.NumCPU()}},
	}
}

// ElemTypes returns the tensor element types the bridge passes to and from
// ONNX Runtime.
func ElemTypes() []bridge.ElemType {
	return []bridge.ElemType{bridge.Float32, bridge.Float64, bridge.Float16,
		bridge.Int8, bridge.Int16, bridge.Int32, bridge.Int64,
		bridge.Uint8, bridge.Uint16, bridge.Uint32, bridge.Uint64,
		bridge.Bool, bridge.String}
}

func supportedElem(t bridge.ElemType) bool {
	switch t {
	case bridge.Float32, bridge.Float64, bridge.Float16, bridge.Int8, bridge.Int16, bridge.Int32,
		bridge.Int64, bridge.Uint8, bridge.Uint16, bridge.Uint32, bridge.Uint64, bridge.Bool, bridge.String:
		return true
	}
	return false
}

// backend is a [bridge.Backend] that runs ONNX models through ONNX Runtime,
// optionally with an execution provider in front of the CPU one.
type backend struct {
	name  string
	extra map[string]string
	caps  bridge.Capabilities

	availOnce sync.Once
	availErr  error
}

// NewBackend returns a backend named name that opens .onnx models with ONNX
// Runtime. extra holds defaults for [bridge.Options.Extra], such as
// {"ep": "CoreML", "ep.MLComputeUnits": "CPUAndNeuralEngine"}; a session's own
// Extra wins key by key. The Apple bridge builds its `ane` and `mps` backends
// this way. NewBackend does no work: the library is loaded on the first
// Available or Open.
func NewBackend(name string, extra map[string]string, caps bridge.Capabilities) bridge.Backend {
	return &backend{name: name, extra: maps.Clone(extra), caps: caps}
}

// Name returns the name job files use.
func (b *backend) Name() string { return b.name }

// Capabilities describes what the backend takes.
func (b *backend) Capabilities() bridge.Capabilities { return b.caps }

// Available loads the library on first use and, when the backend has an
// execution provider, checks that the library has it. The result is cached.
func (b *backend) Available() error {
	b.availOnce.Do(func() { b.availErr = b.probe() })
	return b.availErr
}

// Open loads the model at path into a new session. ctx is checked before
// the load; ONNX Runtime cannot interrupt a session being created.
func (b *backend) Open(ctx context.Context, path string, opts bridge.Options) (bridge.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, &bridge.Error{Backend: b.name, Op: opLoad, Class: bridge.ClassCanceled, Err: err}
	}
	if err := b.Available(); err != nil {
		return nil, err
	}
	return b.open(path, opts)
}

// sessionConfig is the resolved form of [bridge.Options] for one session.
type sessionConfig struct {
	intra, inter int
	graphOpt     int // ONNX Runtime's GraphOptimizationLevel
	spinning     *bool
	ep           string
	epKeys       []string
	epValues     []string
}

// config resolves opts against the backend's defaults.
func (b *backend) config(opts bridge.Options) (sessionConfig, error) {
	c := sessionConfig{intra: opts.IntraOpThreads, inter: opts.InterOpThreads, spinning: opts.Spinning}
	if c.intra < 0 || c.inter < 0 {
		return c, &bridge.Error{Backend: b.name, Op: opOptions, Err: fmt.Errorf("%w: thread counts must be >= 0 (intra %d, inter %d)", ErrInvalidOption, c.intra, c.inter)}
	}
	level, err := graphOptLevel(opts.GraphOpt)
	if err != nil {
		return c, &bridge.Error{Backend: b.name, Op: opOptions, Err: err}
	}
	c.graphOpt = level
	extra := maps.Clone(b.extra)
	if extra == nil {
		extra = map[string]string{}
	}
	maps.Copy(extra, opts.Extra)
	c.ep = extra[ExtraEP]
	var keys []string
	for k := range extra {
		if strings.HasPrefix(k, ExtraEPPrefix) && len(k) > len(ExtraEPPrefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	if c.ep == "" && len(keys) > 0 {
		return c, &bridge.Error{Backend: b.name, Op: opOptions, Err: fmt.Errorf("%w: %s set without %q naming the execution provider", ErrInvalidOption, keys[0], ExtraEP)}
	}
	for _, k := range keys {
		c.epKeys = append(c.epKeys, strings.TrimPrefix(k, ExtraEPPrefix))
		c.epValues = append(c.epValues, extra[k])
	}
	return c, nil
}

// graphOptLevel maps a [bridge.Options.GraphOpt] name to ONNX Runtime's
// GraphOptimizationLevel.
func graphOptLevel(name string) (int, error) {
	switch strings.ToLower(name) {
	case "", "all":
		return 99, nil
	case "disable", "disabled", "none":
		return 0, nil
	case "basic":
		return 1, nil
	case "extended":
		return 2, nil
	}
	return 0, fmt.Errorf("%w: graph optimization %q (want disable, basic, extended or all)", ErrInvalidOption, name)
}
