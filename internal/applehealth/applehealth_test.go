package applehealth

import (
	"errors"
	"testing"

	"github.com/pipe-ml/pipe/bridge/apple"
	"github.com/pipe-ml/pipe/executor"
)

func TestAdapt(t *testing.T) {
	for _, tc := range []struct {
		name  string
		h     apple.Health
		conc  float64
		evict bool
	}{
		{"calm", apple.Health{Thermal: apple.ThermalNominal}, 1, false},
		{"serious heat halves", apple.Health{Thermal: apple.ThermalSerious}, 0.5, false},
		{"memory pressure evicts", apple.Health{Pressure: apple.PressureWarn}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := adapt(tc.h, nil)
			if err != nil || r.Concurrency != tc.conc || r.Evict != tc.evict || r.Summary == "" {
				t.Fatalf("got %+v, %v", r, err)
			}
		})
	}
	if _, err := adapt(apple.Health{}, apple.ErrNotMac); !errors.Is(err, executor.ErrNoHealthSignals) {
		t.Fatalf("not-a-Mac error %v does not stop the poller", err)
	}
	// On Linux the real reader says there are no signals.
	if _, err := Read(); !errors.Is(err, executor.ErrNoHealthSignals) {
		t.Fatalf("Read on this machine: %v", err)
	}
}
