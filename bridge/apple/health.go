package apple

import (
	"errors"
	"fmt"
)

// ThermalState is NSProcessInfo's thermalState; the values are Apple's.
type ThermalState int

// Thermal states.
const (
	ThermalNominal  ThermalState = 0
	ThermalFair     ThermalState = 1
	ThermalSerious  ThermalState = 2
	ThermalCritical ThermalState = 3
)

func (t ThermalState) String() string {
	switch t {
	case ThermalNominal:
		return "nominal"
	case ThermalFair:
		return "fair"
	case ThermalSerious:
		return "serious"
	case ThermalCritical:
		return "critical"
	}
	return fmt.Sprintf("ThermalState(%d)", int(t))
}

// parseThermal checks a value from the shim.
func parseThermal(n int) (ThermalState, error) {
	if n < int(ThermalNominal) || n > int(ThermalCritical) {
		return 0, fmt.Errorf("thermal state %d: unknown", n)
	}
	return ThermalState(n), nil
}

// GPUMemory is the Metal device's memory budget.
type GPUMemory struct {
	Device string // MTLDevice.name, e.g. "Apple M2 Pro"
	// RecommendedMaxWorkingSet is recommendedMaxWorkingSetSize: how much
	// memory the GPU can use without hurting performance.
	RecommendedMaxWorkingSet uint64
	// CurrentAllocated is currentAllocatedSize: what this process has
	// allocated on the device.
	CurrentAllocated uint64
	Unified          bool // hasUnifiedMemory (true on Apple silicon)
}

// Free is the working-set headroom left to this process (ggml's measure).
func (g GPUMemory) Free() uint64 {
	if g.CurrentAllocated >= g.RecommendedMaxWorkingSet {
		return 0
	}
	return g.RecommendedMaxWorkingSet - g.CurrentAllocated
}

// Health is a snapshot of the signals that should slow accelerated work down.
type Health struct {
	Thermal  ThermalState
	Pressure MemoryPressure
	GPU      GPUMemory
}

// Advice is what the executor should do about a [Health] snapshot.
type Advice struct {
	// Concurrency scales the GPU and Neural Engine lanes' concurrency: 1,
	// 0.5 when the machine is hot, 0 when accelerated work must pause.
	Concurrency float64
	// BatchRows scales the batch size on accelerators likewise.
	BatchRows float64
	// Pause stops accelerated work; queued batches drain to the CPU backend
	// at low concurrency.
	Pause bool
	// Evict asks the model registry to release cached models and input
	// buffers (least recently used first).
	Evict bool
	// StopAdmitting asks admission control to take no new batches until
	// pressure falls.
	StopAdmitting bool
}

// Advice applies the design brief's policy (§9): Serious heat halves
// concurrency and batch size on the GPU and Neural Engine, Critical heat
// pauses accelerated work; memory Warn halves batch size and evicts cached
// models, Critical stops admitting new batches as well.
func (h Health) Advice() Advice {
	a := Advice{Concurrency: 1, BatchRows: 1}
	switch {
	case h.Thermal >= ThermalCritical:
		a.Concurrency, a.BatchRows, a.Pause = 0, 0, true
	case h.Thermal >= ThermalSerious:
		a.Concurrency, a.BatchRows = 0.5, 0.5
	}
	switch {
	case h.Pressure >= PressureCritical:
		a.Evict, a.StopAdmitting = true, true
		a.BatchRows = min(a.BatchRows, 0.5)
	case h.Pressure >= PressureWarn:
		a.Evict = true
		a.BatchRows = min(a.BatchRows, 0.5)
	}
	return a
}

// ReadHealth reads every signal it can. Fields it could not read keep their
// calm values (nominal, normal, zero budget); the error joins the reasons.
// On anything but macOS it returns an error wrapping [ErrNotMac].
func ReadHealth() (Health, error) {
	h := Health{Thermal: ThermalNominal, Pressure: PressureNormal}
	var errs []error
	if p, err := ReadMemoryPressure(); err != nil {
		errs = append(errs, err)
	} else {
		h.Pressure = p
	}
	if t, err := ReadThermal(); err != nil {
		errs = append(errs, err)
	} else {
		h.Thermal = t
	}
	if g, err := ReadGPUMemory(); err != nil {
		errs = append(errs, err)
	} else {
		h.GPU = g
	}
	return h, errors.Join(errs...)
}
