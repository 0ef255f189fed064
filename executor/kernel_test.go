package executor

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/backendtest"
)

// TestKernelSpec: a spec names a model file or a backend's kernel, not
// both; a kernel is placed only on backends that list it, and the reason
// says which kernels a backend has.
func TestKernelSpec(t *testing.T) {
	backendtest.New(backendtest.Config{Name: "kfake"}).Register(t)
	e, err := New(Options{HealthInterval: -1, CanaryBackend: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	if _, err := e.Open(ctx, ModelSpec{Stage: "s", Path: "m.onnx", Kernel: "matmul", Backends: []string{"kfake"}}); err == nil ||
		!strings.Contains(err.Error(), "not both") {
		t.Errorf("path and kernel: got %v, want an error saying not both", err)
	}
	_, err = e.Open(ctx, ModelSpec{Stage: "s", Kernel: "matmul", Backends: []string{"kfake"}, Strict: true})
	var pe *PlacementError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "kfake has no kernel matmul") {
		t.Errorf("kernel on a backend without kernels: got %v, want a placement error naming the kernel", err)
	}
}
