package coreml

import (
	"path/filepath"
	"sort"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
	"github.com/pipe-ml/pipe/bridge/ort"
)

// Model formats the backends open.
var formats = []string{".onnx", ".mlpackage", ".mlmodel", ".mlmodelc"}

// Options.Extra keys the backends read (besides "ep.<key>" for the ONNX
// Runtime CoreML provider).
const (
	// ExtraComputeUnits overrides the compute units within the backend's
	// meaning (ane may narrow to CPUOnly, for reference runs).
	ExtraComputeUnits = "compute_units"
	// ExtraCacheDir overrides the cache root (default
	// ${XDG_CACHE_HOME:-~/.cache}/pipe/coreml).
	ExtraCacheDir = "cache_dir"
	// ExtraMaxRows is the batcher's max_rows, for static-shape planning.
	ExtraMaxRows = "max_rows"
	// ExtraDimPrefix prefixes symbolic dimension sizes: "dim.seq" = "128".
	ExtraDimPrefix = "dim."
	// ExtraCompileTimeout bounds compilation and loading, as a Go duration
	// (default 5m; the first Neural Engine compile can be slow).
	ExtraCompileTimeout = "compile_timeout"
)

// backend is the ane or mps backend; the platform files add Available and
// Open.
type backend struct {
	name  string
	units apple.ComputeUnits
	platform
}

func init() {
	bridge.Register(&backend{name: apple.BackendANE, units: apple.CPUAndNeuralEngine})
	bridge.Register(&backend{name: apple.BackendMPS, units: apple.CPUAndGPU})
}

// autoRank is each backend's place in `backends: [auto]`.
var autoRank = map[string]int{apple.BackendANE: 10, apple.BackendMPS: 20}

// Name returns "ane" or "mps".
func (b *backend) Name() string { return b.name }

// Capabilities describes the backend; devices come from sysctl on macOS.
func (b *backend) Capabilities() bridge.Capabilities {
	c := bridge.Capabilities{
		Formats:      append([]string(nil), formats...),
		ElemTypes:    []bridge.ElemType{bridge.Float32, bridge.Float16, bridge.Int32},
		StaticShapes: b.name == apple.BackendANE,
		// auto tries ane, then mps, before cpu (ort.AutoRankCPU).
		AutoRank:           autoRank[b.name],
		Accelerator:        true,
		DefaultConcurrency: 2,
	}
	if caps, err := apple.Probe(); err == nil {
		for _, d := range caps.Devices() {
			if d.Kind == "cpu" || (d.Kind == "npu") == (b.name == apple.BackendANE) {
				c.Devices = append(c.Devices, d)
			}
		}
	}
	return c
}

// splitONNXExtra sorts a session's Extra for a .onnx model run through
// ONNX Runtime's CoreML provider: overrides are the provider's own options
// ("ep.<Key>" without the prefix); pass goes to the ONNX Runtime backend
// as is (among them "strict", which turns off the CPU fallback, and
// "dim.<name>", which pins symbolic dimensions); keyOpts are the settings
// that change the converted Core ML model, for its cache key: the
// provider options and the dimension overrides, as sorted "k=v".
func splitONNXExtra(in map[string]string) (overrides, pass map[string]string, keyOpts []string) {
	overrides, pass = map[string]string{}, map[string]string{}
	for k, v := range in {
		switch {
		case strings.HasPrefix(k, ort.ExtraEPPrefix):
			overrides[strings.TrimPrefix(k, ort.ExtraEPPrefix)] = v
			keyOpts = append(keyOpts, k+"="+v)
		case k == ort.ExtraEP, k == ExtraComputeUnits, k == ExtraCacheDir, k == ExtraMaxRows, k == ExtraCompileTimeout:
		default:
			if strings.HasPrefix(k, ort.ExtraDimPrefix) {
				keyOpts = append(keyOpts, k+"="+v)
			}
			pass[k] = v
		}
	}
	sort.Strings(keyOpts)
	return overrides, pass, keyOpts
}

// formatOf returns the model format from the path's extension.
func formatOf(path string) string {
	return strings.ToLower(filepath.Ext(strings.TrimRight(path, `/\`)))
}
