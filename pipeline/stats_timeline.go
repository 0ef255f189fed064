package pipeline

import (
	"context"
	"errors"
	"sync"
	"time"
)

// UnitSpan is one work unit's pass in a run: when it started and ended,
// in seconds after the run's start, and how it ended.
type UnitSpan struct {
	Unit         int     `json:"unit"`
	Key          string  `json:"key"`
	StartSeconds float64 `json:"start_seconds"`
	EndSeconds   float64 `json:"end_seconds"`
	// Status is committed, failed or interrupted.
	Status string `json:"status"`
}

// unitTimeline records the passes of a run. Safe for concurrent use.
type unitTimeline struct {
	start time.Time
	mu    sync.Mutex
	spans []UnitSpan
}

func newUnitTimeline(start time.Time) *unitTimeline {
	return &unitTimeline{start: start}
}

// begin records that unit's pass started now and returns its index, for
// end.
func (t *unitTimeline) begin(unit int, key string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.spans = append(t.spans, UnitSpan{Unit: unit, Key: key, StartSeconds: time.Since(t.start).Seconds()})
	return len(t.spans) - 1
}

// end records that the i-th pass ended now with err.
func (t *unitTimeline) end(i int, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := &t.spans[i]
	s.EndSeconds = time.Since(t.start).Seconds()
	switch {
	case err == nil:
		s.Status = "committed"
	case isInterrupt(err):
		s.Status = "interrupted"
	default:
		s.Status = "failed"
	}
}

// list returns the spans in the order the passes started; [] when none.
func (t *unitTimeline) list() []UnitSpan {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]UnitSpan{}, t.spans...)
}

// maxOverlap is the most passes that ran at once.
func maxOverlap(spans []UnitSpan) int {
	best := 0
	for _, a := range spans {
		n := 0
		for _, b := range spans {
			if b.StartSeconds <= a.StartSeconds && b.EndSeconds > a.StartSeconds {
				n++
			}
		}
		best = max(best, n)
	}
	return best
}

// isInterrupt reports whether err is a stop rather than a failure.
func isInterrupt(err error) bool {
	return errors.Is(err, ErrInterrupted) || errors.Is(err, context.Canceled)
}
