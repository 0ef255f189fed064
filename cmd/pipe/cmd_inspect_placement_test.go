package main

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestInspectPlacementUnavailable checks `pipe inspect --backend ane|mps`
// off macOS: a non-zero exit and an error saying the backend is
// unavailable and why, for ONNX and Core ML models alike.
func TestInspectPlacementUnavailable(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("SKIPPED: on macOS the ane and mps backends may be available; this test covers other systems")
	}
	mlp := filepath.Join("..", "..", "testdata", "models", "mlp.onnx")
	tests := []struct {
		backend, path string
	}{
		{"ane", mlp},
		{"mps", mlp},
		{"ane", filepath.Join(t.TempDir(), "model.mlpackage")},
	}
	for _, tt := range tests {
		t.Run(tt.backend+" "+filepath.Ext(tt.path), func(t *testing.T) {
			code, out, errOut := pipe("inspect", "--backend", tt.backend, tt.path)
			if code == 0 {
				t.Fatalf("exit 0, want non-zero; stdout %q", out)
			}
			for _, want := range []string{"backend unavailable", tt.backend + " backend", "not macOS"} {
				if !strings.Contains(errOut, want) {
					t.Errorf("stderr %q does not contain %q", errOut, want)
				}
			}
			if strings.Contains(out, "placement") {
				t.Errorf("stdout has a placement section: %q", out)
			}
		})
	}
}

func TestCoreMLUnits(t *testing.T) {
	for backend, want := range map[string]string{"ane": "CPUAndNeuralEngine", "mps": "CPUAndGPU", "cpu": "", "metal": ""} {
		u, ok := coreMLUnits(backend)
		if ok != (want != "") || (ok && u.String() != want) {
			t.Errorf("coreMLUnits(%q) = %v, %v; want %q", backend, u, ok, want)
		}
	}
}
