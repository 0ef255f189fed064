package metal

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func TestKernelSource(t *testing.T) {
	for _, k := range []Kernel{Normalize, MatMul, Softmax, TopK} {
		if !strings.Contains(kernelSource, "kernel void "+k.function()+"(") {
			t.Errorf("kernels.metal has no kernel %s", k.function())
		}
		if got, ok := ParseKernel(k.String()); !ok || got != k {
			t.Errorf("ParseKernel(%q) = %v, %v", k, got, ok)
		}
	}
	if _, ok := ParseKernel("relu"); ok {
		t.Errorf("ParseKernel accepted relu")
	}
}

func TestSpec(t *testing.T) {
	if _, err := parseSpec("relu", bridge.Options{}); !errors.Is(err, bridge.ErrUnsupported) {
		t.Errorf("parseSpec(relu) = %v", err)
	}
	for _, k := range []string{"", "0", "x", "257"} {
		if _, err := parseSpec("topk", bridge.Options{Extra: map[string]string{ExtraK: k}}); err == nil {
			t.Errorf("parseSpec(topk, k=%q) accepted", k)
		}
	}
	sp, err := parseSpec("topk", bridge.Options{Extra: map[string]string{ExtraK: "2"}})
	if err != nil || sp.k != 2 {
		t.Fatalf("parseSpec(topk, 2) = %+v, %v", sp, err)
	}
	if info := sp.info(); len(info.Outputs) != 2 || info.Outputs[1].Type != bridge.Int32 || info.Outputs[0].Shape[1].Size != 2 {
		t.Errorf("topk info = %+v", info)
	}
	x := bridge.Tensor{Type: bridge.Float32, Shape: []int64{2, 3}, Data: make([]byte, 24)}
	if n, k, _, err := sp.dims([]bridge.Tensor{x}); err != nil || n != 2 || k != 3 {
		t.Errorf("dims = %d %d %v", n, k, err)
	}
	mm := spec{kernel: MatMul}
	w := bridge.Tensor{Type: bridge.Float32, Shape: []int64{3, 4}, Data: make([]byte, 48)}
	if _, _, m, err := mm.dims([]bridge.Tensor{x, w}); err != nil || m != 4 {
		t.Errorf("matmul dims = %d %v", m, err)
	}
	bad := [][]bridge.Tensor{
		{x}, // matmul without matrix
		{x, {Type: bridge.Float32, Shape: []int64{2, 4}, Data: make([]byte, 32)}}, // 3 columns vs 2 rows
		{x, {Type: bridge.Float64, Shape: []int64{3, 4}, Data: make([]byte, 96)}},
	}
	for i, in := range bad {
		if _, _, _, err := mm.dims(in); !errors.Is(err, bridge.ErrInvalidInput) {
			t.Errorf("bad matmul input %d: %v", i, err)
		}
	}
	if _, _, _, err := (spec{kernel: TopK, k: 4}).dims([]bridge.Tensor{x}); err == nil {
		t.Errorf("topk with k above the row length accepted")
	}
}

func TestRegistered(t *testing.T) {
	b, err := bridge.Lookup("metal")
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "darwin" {
		return
	}
	if err := b.Available(); !errors.Is(err, bridge.ErrUnavailable) || !strings.Contains(err.Error(), "not macOS") {
		t.Errorf("Available() = %v", err)
	}
	if _, err := b.Open(context.Background(), "softmax", bridge.Options{}); bridge.ClassOf(err) != bridge.ClassUnavailable {
		t.Errorf("Open = %v", err)
	}
}

// TestSelectionCapabilities checks what the executor selects by: metal
// opens no model format, so auto never tries it for a model stage, and it
// is an accelerator that runs two calls at once by default.
func TestSelectionCapabilities(t *testing.T) {
	b, err := bridge.Lookup("metal")
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	caps := b.Capabilities()
	if len(caps.Formats) != 0 || caps.AutoRank != 0 {
		t.Errorf("Formats %v, AutoRank %d; want none, 0", caps.Formats, caps.AutoRank)
	}
	if !caps.Accelerator || caps.DefaultConcurrency != 2 || caps.HostCores {
		t.Errorf("Accelerator %v, DefaultConcurrency %d, HostCores %v; want true, 2, false", caps.Accelerator, caps.DefaultConcurrency, caps.HostCores)
	}
}
