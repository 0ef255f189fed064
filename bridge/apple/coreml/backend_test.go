package coreml

import (
	"context"
	"errors"
	"maps"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
	"github.com/pipe-ml/pipe/bridge/ort"
)

func TestRegistered(t *testing.T) {
	for _, name := range []string{apple.BackendANE, apple.BackendMPS} {
		t.Run(name, func(t *testing.T) {
			b, err := bridge.Lookup(name)
			if err != nil {
				t.Fatalf("Lookup: %v", err)
			}
			caps := b.Capabilities()
			if !slices.Contains(caps.Formats, ".mlpackage") || !slices.Contains(caps.Formats, ".onnx") {
				t.Errorf("formats = %v", caps.Formats)
			}
			if caps.StaticShapes != (name == apple.BackendANE) {
				t.Errorf("StaticShapes = %v", caps.StaticShapes)
			}
			if runtime.GOOS == "darwin" {
				return // availability depends on the Mac; covered by the darwin tests
			}
			err = b.Available()
			if !errors.Is(err, bridge.ErrUnavailable) || !strings.Contains(err.Error(), "not macOS") {
				t.Errorf("Available() = %v, want unavailable: not macOS", err)
			}
			_, err = b.Open(context.Background(), "m.mlpackage", bridge.Options{})
			if bridge.ClassOf(err) != bridge.ClassUnavailable {
				t.Errorf("Open error = %v, want class unavailable", err)
			}
			if _, err := ComputePlan(context.Background(), "m.mlpackage", apple.CPUAndNeuralEngine); !errors.Is(err, bridge.ErrUnavailable) {
				t.Errorf("ComputePlan error = %v", err)
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]string{"a/m.onnx": ".onnx", "m.mlpackage/": ".mlpackage", "M.MLMODELC": ".mlmodelc", "m": ""} {
		if got := formatOf(path); got != want {
			t.Errorf("formatOf(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestSplitONNXExtra(t *testing.T) {
	in := map[string]string{
		"ep.MLComputeUnits":           "CPUOnly", // a provider option
		"ep":                          "CoreML",  // set by the backend itself
		ExtraComputeUnits:             "CPUOnly",
		ExtraCacheDir:                 "/tmp/c",
		ExtraMaxRows:                  "64",
		ExtraCompileTimeout:           "1m",
		"strict":                      "1", // the executor's strict placement
		"dim.N":                       "8",
		"dim.seq":                     "128",
		"ort.disable_cpu_ep_fallback": "1",
	}
	overrides, pass, key := splitONNXExtra(in)
	if want := map[string]string{"MLComputeUnits": "CPUOnly"}; !maps.Equal(overrides, want) {
		t.Errorf("overrides = %v, want %v", overrides, want)
	}
	wantPass := map[string]string{"strict": "1", "dim.N": "8", "dim.seq": "128", "ort.disable_cpu_ep_fallback": "1"}
	if !maps.Equal(pass, wantPass) {
		t.Errorf("passed to ONNX Runtime = %v, want %v", pass, wantPass)
	}
	// The dimension overrides change the converted model, so they are part
	// of its cache key; strict does not.
	if want := []string{"dim.N=8", "dim.seq=128", "ep.MLComputeUnits=CPUOnly"}; !slices.Equal(key, want) {
		t.Errorf("cache key options = %v, want %v", key, want)
	}
}

// TestSelectionCapabilities checks what the executor selects by: auto tries
// ane, then mps, then ONNX Runtime's cpu; both are accelerators that run
// two calls at once by default.
func TestSelectionCapabilities(t *testing.T) {
	rank := map[string]int{}
	for _, name := range []string{apple.BackendANE, apple.BackendMPS} {
		b, err := bridge.Lookup(name)
		if err != nil {
			t.Fatalf("Lookup: %v", err)
		}
		caps := b.Capabilities()
		if !caps.Accelerator || caps.DefaultConcurrency != 2 || caps.HostCores {
			t.Errorf("%s: Accelerator %v, DefaultConcurrency %d, HostCores %v; want true, 2, false",
				name, caps.Accelerator, caps.DefaultConcurrency, caps.HostCores)
		}
		rank[name] = caps.AutoRank
	}
	cpu := ort.CPUCapabilities().AutoRank
	if !(0 < rank[apple.BackendANE] && rank[apple.BackendANE] < rank[apple.BackendMPS] && rank[apple.BackendMPS] < cpu) {
		t.Errorf("auto ranks ane %d, mps %d, cpu %d; want 0 < ane < mps < cpu", rank[apple.BackendANE], rank[apple.BackendMPS], cpu)
	}
}
