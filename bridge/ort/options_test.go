//go:build cgo

package ort

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestConfigPlacementAndDims checks how the Extra keys for strict placement
// and dimension overrides resolve, without the library.
func TestConfigPlacementAndDims(t *testing.T) {
	tests := []struct {
		name     string
		defaults map[string]string // the backend's own Extra (an EP backend such as ane)
		extra    map[string]string
		noFall   bool
		dims     []dimOverride
		wantErr  string
	}{
		{"nothing set", nil, nil, false, nil, ""},
		{"explicit fallback off", nil, map[string]string{ExtraDisableCPUFallback: "1"}, true, nil, ""},
		{"explicit fallback off, true", nil, map[string]string{ExtraDisableCPUFallback: "true"}, true, nil, ""},
		{"explicit fallback on", nil, map[string]string{ExtraDisableCPUFallback: "0"}, false, nil, ""},
		{"strict on the cpu backend is ignored", nil, map[string]string{ExtraStrict: "1"}, false, nil, ""},
		{"strict on an EP backend", map[string]string{ExtraEP: "CoreML"}, map[string]string{ExtraStrict: "1"}, true, nil, ""},
		{"not strict on an EP backend", map[string]string{ExtraEP: "CoreML"}, map[string]string{ExtraStrict: "0"}, false, nil, ""},
		{"dims sorted", nil, map[string]string{"dim.seq": "128", "dim.N": "8"}, false, []dimOverride{{"N", 8}, {"seq", 128}}, ""},
		{"bad fallback value", nil, map[string]string{ExtraDisableCPUFallback: "yes"}, false, nil, `ort.disable_cpu_ep_fallback="yes"`},
		{"bad strict value", nil, map[string]string{ExtraStrict: "always"}, false, nil, `strict="always"`},
		{"dim not a number", nil, map[string]string{"dim.N": "eight"}, false, nil, `dim.N="eight"`},
		{"dim zero", nil, map[string]string{"dim.N": "0"}, false, nil, `dim.N="0"`},
		{"dim negative", nil, map[string]string{"dim.N": "-1"}, false, nil, `dim.N="-1"`},
		{"dim without a name", nil, map[string]string{"dim.": "8"}, false, nil, `dim.="8"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBackend("t-ort", tt.defaults, CPUCapabilities()).(*backend)
			c, err := b.config(bridge.Options{Extra: tt.extra})
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidOption) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("config() = %v, want ErrInvalidOption naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("config() = %v", err)
			}
			if c.noCPUFallback != tt.noFall {
				t.Errorf("noCPUFallback = %v, want %v", c.noCPUFallback, tt.noFall)
			}
			if !reflect.DeepEqual(c.dims, tt.dims) {
				t.Errorf("dims = %+v, want %+v", c.dims, tt.dims)
			}
		})
	}
}

// TestDisableCPUFallbackEntry shows that the config entry reaches ONNX
// Runtime: on the CPU provider alone every node is a CPU "fallback", so
// session creation fails, classified unsupported (the executor's strict
// placement error keeps that class). The same options without the entry,
// or with strict on the cpu backend, open normally.
func TestDisableCPUFallbackEntry(t *testing.T) {
	b := cpuBackend(t)
	tests := []struct {
		name  string
		extra map[string]string
		fails bool
	}{
		{"fallback disabled", map[string]string{ExtraDisableCPUFallback: "1"}, true},
		{"fallback allowed", map[string]string{ExtraDisableCPUFallback: "0"}, false},
		{"strict on cpu", map[string]string{ExtraStrict: "1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.Open(context.Background(), modelPath(t, "mlp.onnx"), bridge.Options{IntraOpThreads: 1, Extra: tt.extra})
			if !tt.fails {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded, want session creation to refuse the CPU fallback")
			}
			if !errors.Is(err, bridge.ErrUnsupported) || !strings.Contains(err.Error(), "fallback to CPU EP has been explicitly disabled") {
				t.Fatalf("Open = %v (class %v), want unsupported quoting ONNX Runtime", err, bridge.ClassOf(err))
			}
		})
	}
}

// TestDimOverride pins mlp.onnx's batch dimension N to 8: the session
// reports a static [8 32] input, runs 8 rows and rejects 5.
func TestDimOverride(t *testing.T) {
	b := cpuBackend(t)
	s, err := b.Open(context.Background(), modelPath(t, "mlp.onnx"),
		bridge.Options{IntraOpThreads: 1, Extra: map[string]string{"dim.N": "8"}})
	if err != nil {
		t.Fatalf("Open with dim.N=8: %v", err)
	}
	defer s.Close()
	info := s.Info()
	if got := fmt.Sprint(info.Inputs[0].Shape); got != "[8, 32]" {
		t.Fatalf("input shape %s, want [8, 32]", got)
	}
	if got := fmt.Sprint(info.Outputs[0].Shape); got != "[8, 8]" {
		t.Errorf("output shape %s, want [8, 8]", got)
	}
	mem := stagetest.Mem(t)
	got, err := s.Run(context.Background(), []bridge.Tensor{f32Tensor([]int64{8, 32}, pseudo(8*32, 5))}, mem)
	if err != nil {
		t.Fatalf("Run on 8 rows: %v", err)
	}
	freeOutputs(mem, got)
	got, err = s.Run(context.Background(), []bridge.Tensor{f32Tensor([]int64{5, 32}, pseudo(5*32, 5))}, mem)
	if err == nil {
		freeOutputs(mem, got)
		t.Fatal("Run on 5 rows succeeded, want an invalid input error")
	}
	if !errors.Is(err, bridge.ErrInvalidInput) || !strings.Contains(err.Error(), "dimension 0 must be 8") {
		t.Fatalf("Run on 5 rows = %v, want invalid input naming dimension 0 must be 8", err)
	}
}

// TestDimOverrideUnknownName checks that a name the model does not use is
// harmless: ONNX Runtime ignores overrides that match no dimension.
func TestDimOverrideUnknownName(t *testing.T) {
	b := cpuBackend(t)
	s, err := b.Open(context.Background(), modelPath(t, "mlp.onnx"),
		bridge.Options{IntraOpThreads: 1, Extra: map[string]string{"dim.nosuch": "4"}})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer s.Close()
	if got := s.Info().Inputs[0].Shape[0]; got.Size != -1 || got.Name != "N" {
		t.Fatalf("dimension 0 = %+v, want symbolic N", got)
	}
}
