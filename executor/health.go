package executor

import (
	"sync"
	"time"
)

// ewma is an exponentially weighted moving average. The first sample sets
// the value.
type ewma struct {
	alpha float64
	value float64
	set   bool
}

// add folds x into the average.
func (e *ewma) add(x float64) {
	if !e.set {
		e.value, e.set = x, true
		return
	}
	e.value += e.alpha * (x - e.value)
}

// Health thresholds. A (model, backend) is degraded when, after
// healthMinRuns runs, its error rate EWMA reaches healthMaxErrorRate or its
// short-term latency EWMA exceeds healthLatencyTrend times its long-term one.
const (
	healthMinRuns      = 10
	healthMaxErrorRate = 0.5
	healthLatencyTrend = 3.0
)

// health tracks one (model, backend): latency (fast and slow EWMAs, to see
// a trend), throughput in rows per second of busy time, error rate.
type health struct {
	mu       sync.Mutex
	fast     ewma // latency, seconds, alpha 0.2
	slow     ewma // latency, seconds, alpha 0.02
	rowsRate ewma // rows per second of run time
	errRate  ewma // 1 per failed run, 0 per good one
	runs     int64
	errors   int64
}

func newHealth() *health {
	return &health{fast: ewma{alpha: 0.2}, slow: ewma{alpha: 0.02}, rowsRate: ewma{alpha: 0.2}, errRate: ewma{alpha: 0.1}}
}

// success records a good run of rows rows that took d.
func (h *health) success(d time.Duration, rows int) {
	s := d.Seconds()
	h.mu.Lock()
	h.runs++
	h.fast.add(s)
	h.slow.add(s)
	if s > 0 && rows > 0 {
		h.rowsRate.add(float64(rows) / s)
	}
	h.errRate.add(0)
	h.mu.Unlock()
}

// failure records a run the backend failed.
func (h *health) failure() {
	h.mu.Lock()
	h.runs++
	h.errors++
	h.errRate.add(1)
	h.mu.Unlock()
}

// HealthSnapshot is the health of one (model, backend).
type HealthSnapshot struct {
	Runs       int64         // runs recorded (good and failed)
	Errors     int64         // failed runs
	Latency    time.Duration // EWMA of run latency
	Throughput float64       // EWMA of rows per second of run time
	ErrorRate  float64       // EWMA of failures per run, 0..1
	Degraded   bool
}

func (h *health) snapshot() HealthSnapshot {
	h.mu.Lock()
	defer h.mu.Unlock()
	return HealthSnapshot{
		Runs:       h.runs,
		Errors:     h.errors,
		Latency:    time.Duration(h.fast.value * float64(time.Second)),
		Throughput: h.rowsRate.value,
		ErrorRate:  h.errRate.value,
		Degraded:   h.degradedLocked(),
	}
}

func (h *health) degradedLocked() bool {
	if h.runs < healthMinRuns {
		return false
	}
	return h.errRate.value >= healthMaxErrorRate ||
		(h.slow.value > 0 && h.fast.value > healthLatencyTrend*h.slow.value)
}

// degraded reports whether selection should avoid this (model, backend).
func (h *health) degraded() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.degradedLocked()
}
