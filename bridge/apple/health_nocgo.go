//go:build !(darwin && cgo)

package apple

import "runtime"

func shimErr() error {
	if runtime.GOOS == "darwin" {
		return ErrNoCgo
	}
	return ErrNotMac
}

// ReadThermal returns NSProcessInfo.thermalState. It needs darwin and cgo;
// this build returns [ErrNotMac] or [ErrNoCgo].
func ReadThermal() (ThermalState, error) { return 0, shimErr() }

// ReadGPUMemory returns the default Metal device's memory budget. It needs
// darwin and cgo; this build returns [ErrNotMac] or [ErrNoCgo].
func ReadGPUMemory() (GPUMemory, error) { return GPUMemory{}, shimErr() }

// NeuralEngineCores returns the Neural Engine's core count from
// MLAllComputeDevices (macOS 14+), -1 when the OS cannot tell. It needs
// darwin and cgo; this build returns [ErrNotMac] or [ErrNoCgo].
func NeuralEngineCores() (int, error) { return 0, shimErr() }
