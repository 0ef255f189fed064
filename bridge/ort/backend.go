package ort

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"runtime"
	"sort"
	"strconv"
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
	// ExtraDisableCPUFallback = "1" sets the session config entry
	// session.disable_cpu_ep_fallback: creating the session fails when a
	// node cannot run on the execution provider, instead of the node
	// silently running on the CPU one.
	ExtraDisableCPUFallback = "ort.disable_cpu_ep_fallback"
	// ExtraStrict = "1" (or "true") is the executor's strict placement; on a
	// backend with an execution provider it implies
	// [ExtraDisableCPUFallback]. The cpu backend has nothing to fall back
	// from and ignores it.
	ExtraStrict = bridge.ExtraStrict
	// ExtraDimPrefix starts the keys that pin a symbolic dimension to a
	// size (ONNX Runtime's AddFreeDimensionOverrideByName): "dim.N" = "8"
	// makes every input dimension named N static 8, which the Neural
	// Engine needs.
	ExtraDimPrefix = "dim."
)

// dimOverride is one "dim.<name>" = "<size>" setting.
type dimOverride struct {
	name string
	size int64
}

func init() {
	bridge.Register(NewBackend("cpu", nil, CPUCapabilities()))
}

// AutoRankCPU is the cpu backend's place in `backends: [auto]`: last,
// after the Apple backends (ane 10, mps 20).
const AutoRankCPU = 40

// CPUCapabilities describes ONNX Runtime's CPU execution provider.
func CPUCapabilities() bridge.Capabilities {
	return bridge.Capabilities{
		Formats:   []string{".onnx"},
		ElemTypes: ElemTypes(),
		Devices:   []bridge.Device{{Name: "cpu", Kind: "cpu", Cores: runtime.NumCPU()}},
		AutoRank:  AutoRankCPU,
		HostCores: true,
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
	return b.open(path, nil, opts)
}

// OpenMemory loads a model from its bytes (ONNX Runtime's
// CreateSessionFromArray); path only names it in messages. A model that
// keeps its weights in external data files cannot be loaded this way:
// ONNX Runtime reports it as a load error naming the model.
func (b *backend) OpenMemory(ctx context.Context, path string, data []byte, opts bridge.Options) (bridge.Session, error) {
	if err := ctx.Err(); err != nil {
		return nil, &bridge.Error{Backend: b.name, Op: opLoad, Class: bridge.ClassCanceled, Err: err}
	}
	if err := b.Available(); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, &bridge.Error{Backend: b.name, Op: opLoad, Class: bridge.ClassModelCorrupt, Msg: path + ": empty model file"}
	}
	return b.open(path, data, opts)
}

// sessionConfig is the resolved form of [bridge.Options] for one session.
type sessionConfig struct {
	intra, inter int
	graphOpt     int // ONNX Runtime's GraphOptimizationLevel
	spinning     *bool
	ep           string
	epKeys       []string
	epValues     []string
	// noCPUFallback sets session.disable_cpu_ep_fallback = 1.
	noCPUFallback bool
	dims          []dimOverride // sorted by name
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
	if c.noCPUFallback, err = b.fallbackOff(extra, c.ep != ""); err != nil {
		return c, err
	}
	if c.dims, err = b.dimOverrides(extra); err != nil {
		return c, err
	}
	return c, nil
}

// fallbackOff reads [ExtraDisableCPUFallback] and, when the backend has an
// execution provider, [ExtraStrict].
func (b *backend) fallbackOff(extra map[string]string, hasEP bool) (bool, error) {
	off := false
	for _, k := range []string{ExtraDisableCPUFallback, ExtraStrict} {
		v, ok := extra[k]
		if !ok {
			continue
		}
		on, err := flag(v)
		if err != nil {
			return false, &bridge.Error{Backend: b.name, Op: opOptions, Err: fmt.Errorf("%w: %s=%q: %v", ErrInvalidOption, k, v, err)}
		}
		if k == ExtraStrict && !hasEP {
			continue
		}
		off = off || on
	}
	return off, nil
}

// flag reads a boolean option value.
func flag(v string) (bool, error) {
	switch strings.ToLower(v) {
	case "1", "true":
		return true, nil
	case "0", "false", "":
		return false, nil
	}
	return false, errors.New("want 1, true, 0 or false")
}

// dimOverrides reads the "dim.<name>" keys, sorted by name.
func (b *backend) dimOverrides(extra map[string]string) ([]dimOverride, error) {
	var out []dimOverride
	for k, v := range extra {
		name, ok := strings.CutPrefix(k, ExtraDimPrefix)
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if name == "" || err != nil || n <= 0 {
			return nil, &bridge.Error{Backend: b.name, Op: opOptions, Err: fmt.Errorf("%w: %s=%q: want dim.<name> set to a size > 0", ErrInvalidOption, k, v)}
		}
		out = append(out, dimOverride{name: name, size: n})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
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
