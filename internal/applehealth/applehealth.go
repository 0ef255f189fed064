// Package applehealth adapts the Apple bridge's health signals (thermal
// state, memory pressure) to the executor's [executor.HealthReading], so
// that neither package imports the other.
package applehealth

import (
	"errors"
	"fmt"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
	"github.com/pipe-ml/pipe/executor"
)

// Read reads the machine's health through the Apple bridge. Off macOS (or
// without cgo) the error wraps [executor.ErrNoHealthSignals].
func Read() (executor.HealthReading, error) {
	return adapt(apple.ReadHealth())
}

// adapt turns an Apple reading into the executor's terms.
func adapt(h apple.Health, err error) (executor.HealthReading, error) {
	if errors.Is(err, apple.ErrNotMac) || errors.Is(err, apple.ErrNoCgo) || (err != nil && errors.Is(err, bridge.ErrUnavailable)) {
		return executor.HealthReading{}, fmt.Errorf("%w: %v", executor.ErrNoHealthSignals, err)
	}
	a := h.Advice()
	return executor.HealthReading{
		Concurrency: a.Concurrency,
		Evict:       a.Evict,
		Summary:     fmt.Sprintf("thermal %s, memory pressure %s", h.Thermal, h.Pressure),
	}, err
}
