package apple

import (
	"errors"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func vec(name string, dims ...int64) bridge.TensorInfo {
	s := make(bridge.Shape, len(dims))
	for i, d := range dims {
		s[i] = bridge.Dim{Size: d}
		if d < 0 {
			s[i].Name = "batch"
		}
	}
	return bridge.TensorInfo{Name: name, Type: bridge.Float32, Shape: s, Kind: "tensor"}
}

func TestUnitsFor(t *testing.T) {
	small := ModelTraits{Inputs: []bridge.TensorInfo{vec("x", -1, 128)}}
	tests := []struct {
		name     string
		backend  string
		traits   ModelTraits
		override string
		want     ComputeUnits
		wantErr  error // nil: success; otherwise errors.Is target or a non-nil marker
		anyErr   bool
	}{
		{"ane", BackendANE, small, "", CPUAndNeuralEngine, nil, false},
		{"mps", BackendMPS, small, "", CPUAndGPU, nil, false},
		{"cpu", "cpu", small, "", CPUOnly, nil, false},
		{"auto", "auto", small, "", All, nil, false},
		{"ane narrowed to cpu", BackendANE, small, "cpuonly", CPUOnly, nil, false},
		{"mps cannot become ane", BackendMPS, small, "CPUAndNeuralEngine", 0, nil, true},
		{"auto takes override", "auto", small, "CPUAndGPU", CPUAndGPU, nil, false},
		{"bad override", BackendANE, small, "GPU", 0, nil, true},
		{"ane fp32 required", BackendANE, ModelTraits{FP32Required: true}, "", 0, bridge.ErrUnsupported, true},
		{"ane rank 6", BackendANE, ModelTraits{Inputs: []bridge.TensorInfo{vec("x", 1, 2, 3, 4, 5, 6)}}, "", 0, bridge.ErrUnsupported, true},
		{"ane dim too big", BackendANE, ModelTraits{Inputs: []bridge.TensorInfo{vec("x", 1, 20000)}}, "", 0, bridge.ErrUnsupported, true},
		{"mps takes rank 6", BackendMPS, ModelTraits{Inputs: []bridge.TensorInfo{vec("x", 1, 2, 3, 4, 5, 6)}}, "", CPUAndGPU, nil, false},
		{"metal has no units", "metal", small, "", 0, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := UnitsFor(tt.backend, tt.traits, tt.override)
			if tt.anyErr {
				if err == nil {
					t.Fatalf("UnitsFor = %s, want error", got)
				}
				if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
					t.Fatalf("error %v does not wrap %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("UnitsFor = %s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestComputeUnitsParseAndFallback(t *testing.T) {
	for _, u := range []ComputeUnits{CPUOnly, CPUAndGPU, All, CPUAndNeuralEngine} {
		p, err := ParseComputeUnits(u.String())
		if err != nil || p != u {
			t.Errorf("ParseComputeUnits(%q) = %v, %v", u, p, err)
		}
	}
	chain := []ComputeUnits{}
	for u, ok := All, true; ok; u, ok = u.Fallback() {
		chain = append(chain, u)
	}
	want := []ComputeUnits{All, CPUAndGPU, CPUOnly}
	if len(chain) != len(want) {
		t.Fatalf("fallback chain = %v, want %v", chain, want)
	}
	for i := range want {
		if chain[i] != want[i] {
			t.Fatalf("fallback chain = %v, want %v", chain, want)
		}
	}
	if n, _ := CPUAndNeuralEngine.Fallback(); n != CPUAndGPU {
		t.Errorf("CPUAndNeuralEngine falls back to %s", n)
	}
}
