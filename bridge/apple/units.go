package apple

import (
	"fmt"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
)

// ComputeUnits is Core ML's MLComputeUnits: the processing units a model may
// use. The numeric values are Apple's.
type ComputeUnits int32

// Compute-unit settings. CPUAndNeuralEngine needs macOS 13.
const (
	CPUOnly            ComputeUnits = 0
	CPUAndGPU          ComputeUnits = 1
	All                ComputeUnits = 2
	CPUAndNeuralEngine ComputeUnits = 3
)

// String returns the spelling that ONNX Runtime's MLComputeUnits option
// uses, which is also what job files write.
func (u ComputeUnits) String() string {
	switch u {
	case CPUOnly:
		return "CPUOnly"
	case CPUAndGPU:
		return "CPUAndGPU"
	case All:
		return "ALL"
	case CPUAndNeuralEngine:
		return "CPUAndNeuralEngine"
	}
	return fmt.Sprintf("ComputeUnits(%d)", int32(u))
}

// ParseComputeUnits reads a compute-unit setting, case-insensitively:
// CPUOnly, CPUAndGPU, ALL, CPUAndNeuralEngine.
func ParseComputeUnits(s string) (ComputeUnits, error) {
	for _, u := range []ComputeUnits{CPUOnly, CPUAndGPU, All, CPUAndNeuralEngine} {
		if strings.EqualFold(s, u.String()) {
			return u, nil
		}
	}
	return 0, fmt.Errorf("unknown compute units %q (want CPUOnly, CPUAndGPU, ALL or CPUAndNeuralEngine)", s)
}

// Fallback returns the next, more conservative setting to rebuild a model
// with after repeated failures: ALL and CPUAndNeuralEngine fall back to
// CPUAndGPU, CPUAndGPU to CPUOnly. ok is false for CPUOnly.
func (u ComputeUnits) Fallback() (next ComputeUnits, ok bool) {
	switch u {
	case All, CPUAndNeuralEngine:
		return CPUAndGPU, true
	case CPUAndGPU:
		return CPUOnly, true
	}
	return CPUOnly, false
}

// Backend names of the Apple backends.
const (
	BackendANE   = "ane"
	BackendMPS   = "mps"
	BackendMetal = "metal"
)

// Neural Engine limits reported in the field (design brief §11 item 4).
const (
	ANEMaxRank = 5
	ANEMaxDim  = 16384
)

// ModelTraits are the facts about a model that decide where Core ML can run
// it.
type ModelTraits struct {
	// Inputs are the model's declared inputs.
	Inputs []bridge.TensorInfo
	// FP32Required is true when the model must compute in float32 (it was
	// converted with fp32 compute precision, or its outputs overflow fp16):
	// the Neural Engine computes in fp16 only.
	FP32Required bool
}

// UnitsFor chooses the compute units for a backend name and a model: ane ->
// CPUAndNeuralEngine, mps -> CPUAndGPU, cpu -> CPUOnly, auto -> ALL. An
// explicit override (Options.Extra "compute_units") wins when it is
// compatible with the backend. For ane, a model the Neural Engine cannot
// take (float32 required, rank above 5, a dimension above 16384) is an error
// wrapping [bridge.ErrUnsupported], so the executor tries the next backend
// instead of letting Core ML silently fall back to the GPU.
func UnitsFor(backend string, t ModelTraits, override string) (ComputeUnits, error) {
	var u ComputeUnits
	switch backend {
	case BackendANE:
		u = CPUAndNeuralEngine
	case BackendMPS:
		u = CPUAndGPU
	case "cpu":
		u = CPUOnly
	case "auto", "":
		u = All
	default:
		return 0, fmt.Errorf("backend %q has no Core ML compute units", backend)
	}
	if override != "" {
		o, err := ParseComputeUnits(override)
		if err != nil {
			return 0, err
		}
		if !compatible(backend, o) {
			return 0, fmt.Errorf("compute units %s contradict backend %q", o, backend)
		}
		u = o
	}
	if u == CPUAndNeuralEngine {
		if err := aneFits(t); err != nil {
			return 0, &bridge.Error{Backend: backend, Op: OpLoad, Class: bridge.ClassUnsupported, Msg: err.Error()}
		}
	}
	return u, nil
}

// compatible reports whether an override keeps the backend's meaning: the
// ane backend may only narrow to CPU, mps likewise; auto takes anything.
func compatible(backend string, o ComputeUnits) bool {
	switch backend {
	case BackendANE:
		return o == CPUAndNeuralEngine || o == CPUOnly
	case BackendMPS:
		return o == CPUAndGPU || o == CPUOnly
	case "cpu":
		return o == CPUOnly
	}
	return true
}

func aneFits(t ModelTraits) error {
	if t.FP32Required {
		return fmt.Errorf("model requires float32 compute; the Neural Engine computes in float16")
	}
	for _, in := range t.Inputs {
		if len(in.Shape) > ANEMaxRank {
			return fmt.Errorf("input %q has rank %d; the Neural Engine takes rank %d at most", in.Name, len(in.Shape), ANEMaxRank)
		}
		for i, d := range in.Shape {
			if d.Size > ANEMaxDim {
				return fmt.Errorf("input %q dimension %d is %d; the Neural Engine takes %d at most", in.Name, i, d.Size, ANEMaxDim)
			}
		}
	}
	return nil
}
