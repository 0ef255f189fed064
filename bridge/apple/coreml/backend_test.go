package coreml

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
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
