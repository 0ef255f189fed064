//go:build darwin && cgo

package apple

/*
#cgo CFLAGS: -fobjc-arc -mmacosx-version-min=13.0 -Werror=unguarded-availability-new
#cgo LDFLAGS: -mmacosx-version-min=13.0 -framework Foundation -framework CoreML -framework Metal -framework CoreGraphics
#include "health.h"
*/
import "C"

import (
	"fmt"

	"github.com/pipe-ml/pipe/bridge"
)

// ReadThermal returns NSProcessInfo.thermalState.
func ReadThermal() (ThermalState, error) {
	n := int(C.ab_thermal_state())
	if n < 0 {
		return 0, fmt.Errorf("thermal state: the shim caught an exception")
	}
	return parseThermal(n)
}

// ReadGPUMemory returns the default Metal device's memory budget, or an
// error wrapping [bridge.ErrUnavailable] when there is no Metal device.
func ReadGPUMemory() (GPUMemory, error) {
	var g C.ab_gpu_memory
	if C.ab_gpu_memory_read(&g) != 0 {
		return GPUMemory{}, fmt.Errorf("%w: no Metal device", bridge.ErrUnavailable)
	}
	return GPUMemory{
		Device:                   C.GoString(&g.name[0]),
		RecommendedMaxWorkingSet: uint64(g.recommended_max_working_set),
		CurrentAllocated:         uint64(g.current_allocated),
		Unified:                  g.unified_memory != 0,
	}, nil
}

// NeuralEngineCores returns the Neural Engine's core count from
// MLAllComputeDevices (macOS 14+): 0 when there is none, -1 when the OS
// cannot tell (macOS 13; assume one on Apple silicon).
func NeuralEngineCores() (int, error) { return int(C.ab_neural_engine_cores()), nil }
