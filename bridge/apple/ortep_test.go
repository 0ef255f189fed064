package apple

import (
	"errors"
	"reflect"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func TestEPOptions(t *testing.T) {
	tests := []struct {
		name string
		conf EPConfig
		want map[string]string
	}{
		{
			name: "ane with cache",
			conf: EPConfig{Units: CPUAndNeuralEngine, CacheDir: "/c/k", StaticShapes: true, ORTVersion: "1.30.0"},
			want: map[string]string{"ep": "CoreML", "ep.MLComputeUnits": "CPUAndNeuralEngine", "ep.ModelFormat": "MLProgram",
				"ep.RequireStaticInputShapes": "1", "ep.ModelCacheDirectory": "/c/k"},
		},
		{
			name: "mps fast prediction and plan",
			conf: EPConfig{Units: CPUAndGPU, FastPrediction: true, ProfilePlan: true},
			want: map[string]string{"ep": "CoreML", "ep.MLComputeUnits": "CPUAndGPU", "ep.ModelFormat": "MLProgram",
				"ep.RequireStaticInputShapes": "0", "ep.SpecializationStrategy": "FastPrediction", "ep.ProfileComputePlan": "1"},
		},
		{
			name: "override wins",
			conf: EPConfig{Units: All, Overrides: map[string]string{"ModelFormat": "NeuralNetwork", "EnableOnSubgraphs": "1"}},
			want: map[string]string{"ep": "CoreML", "ep.MLComputeUnits": "ALL", "ep.ModelFormat": "NeuralNetwork",
				"ep.RequireStaticInputShapes": "0", "ep.EnableOnSubgraphs": "1"},
		},
		{
			name: "old runtime drops newer keys",
			conf: EPConfig{Units: CPUOnly, CacheDir: "/c", ORTVersion: "1.20.1"},
			want: map[string]string{"ep": "CoreML", "ep.MLComputeUnits": "CPUOnly", "ep.ModelFormat": "MLProgram",
				"ep.RequireStaticInputShapes": "0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EPOptions(tt.conf)
			if err != nil {
				t.Fatalf("EPOptions: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("EPOptions =\n %v\nwant\n %v", got, tt.want)
			}
		})
	}
}

func TestEPOptionsErrors(t *testing.T) {
	tests := []struct {
		name string
		conf EPConfig
	}{
		{"unknown key", EPConfig{Overrides: map[string]string{"ModelFormatt": "MLProgram"}}},
		{"bad value", EPConfig{Overrides: map[string]string{"SpecializationStrategy": "Fast"}}},
		{"empty cache dir", EPConfig{Overrides: map[string]string{"ModelCacheDirectory": ""}}},
		{"runtime too old", EPConfig{ORTVersion: "1.19.2"}},
		{"asked key too new", EPConfig{ORTVersion: "1.20.0", Overrides: map[string]string{"ProfileComputePlan": "1"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := EPOptions(tt.conf)
			if !errors.Is(err, bridge.ErrUnsupported) {
				t.Fatalf("EPOptions error = %v, want unsupported", err)
			}
		})
	}
	if _, err := EPOptions(EPConfig{ORTVersion: "one"}); err == nil {
		t.Errorf("EPOptions accepted version %q", "one")
	}
}

func TestDimOverrideOptions(t *testing.T) {
	got := DimOverrideOptions(map[string]int64{"batch": 64, "seq": 128})
	want := map[string]string{"dim.batch": "64", "dim.seq": "128"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("DimOverrideOptions = %v, want %v", got, want)
	}
}
