package batcher

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Sizer chooses the target batch size. The batcher reads Target whenever
// it decides whether a batch is full; the executor calls Observe after each
// model run with the batch's rows and how long the run took.
// Implementations must be safe for concurrent use: Observe is typically
// called from executor workers while the batcher's goroutine calls Target.
type Sizer interface {
	Target() int
	Observe(rows int, took time.Duration)
}

// Fixed is a [Sizer] whose target never changes.
type Fixed int

// Target returns f.
func (f Fixed) Target() int { return int(f) }

// Observe does nothing.
func (Fixed) Observe(int, time.Duration) {}

// Tuning of the adaptive sizer.
const (
	ewmaAlpha    = 0.3 // weight of a new observation
	warmSkip     = 1   // observations discarded after the target changes (shape warm-up, runs in flight)
	warmCount    = 3   // observations that decide about a probed size
	reprobeEvery = 200 // observations at the settled size between probes of the next size up
	maxProbes    = 64  // sizes tracked at most; refinement stops here
	refineRatio  = 16  // refinement stops when the bracket is within 1/refineRatio of its lower end
)

// AdaptiveSizer is a [Sizer] that picks the batch size from measured
// latency, in the manner of Beam's BatchElements but aiming at a latency
// budget: the size with the best throughput (rows per second) whose
// latency stays within TargetLatency.
//
// It keeps an EWMA of latency per probed size. Probed sizes start as
// MinRows, the powers of two between, and MaxRows. It measures them in
// increasing order (warmCount runs each, after discarding the first run at
// a new size) until one exceeds the budget, one has a lower throughput than
// a smaller size (past the peak), or MaxRows is reached. When the
// budget is what stops the growth, it bisects between the last size within
// budget and the first one over it, until the two are within 1/16 of each
// other, so it ends within about 6% of the best size even though the
// buckets are powers of two. It then settles on the size with the best
// measured throughput among those within budget. Every 200 runs at the
// settled size it probes the next size up, so it follows a model that got
// faster; when the settled size goes over budget it steps down at once.
//
// Only runs whose row count is exactly a probed size are measured; partial
// batches sent at a deadline say little about the target and are ignored.
// The sizer has no clock and no randomness: the same observations give the
// same targets. It is safe for concurrent use.
type AdaptiveSizer struct {
	target atomic.Int64

	mu       sync.Mutex
	budget   float64 // TargetLatency in ns
	probes   []probe // ascending by rows
	phase    phase
	cur      int // probe being measured, or the settled one
	lo, hi   int // refinement bracket: lo within budget, hi over it
	skip     int // observations at cur still to discard
	count    int // observations at cur that count toward the decision
	atTarget int // observations at the settled size since the last probe
}

type phase uint8

const (
	growing phase = iota
	refining
	settled
)

type probe struct {
	rows int
	lat  float64 // EWMA latency, ns
	n    int     // observations in the EWMA
}

// Estimate is what an [AdaptiveSizer] has measured for one batch size.
type Estimate struct {
	Rows         int
	Latency      time.Duration // EWMA
	Throughput   float64       // rows per second at that latency
	Observations int
}

// NewAdaptiveSizer returns a sizer for a under a batcher whose largest
// batch is maxRows (the policy's MaxRows).
func NewAdaptiveSizer(a Adaptive, maxRows int) (*AdaptiveSizer, error) {
	if err := (Policy{MaxRows: maxRows, Adaptive: &a}).Validate(); err != nil {
		return nil, err
	}
	lo, hi := a.withDefaults(maxRows)
	s := &AdaptiveSizer{budget: float64(a.TargetLatency), probes: make([]probe, 0, maxProbes)}
	s.probes = append(s.probes, probe{rows: lo})
	for p := 1; p < hi; p *= 2 {
		if p > lo {
			s.probes = append(s.probes, probe{rows: p})
		}
	}
	if hi > lo {
		s.probes = append(s.probes, probe{rows: hi})
	}
	s.measure(0)
	return s, nil
}

// Target returns the current target size.
func (s *AdaptiveSizer) Target() int { return int(s.target.Load()) }

// Observe records that a run of rows rows took took.
func (s *AdaptiveSizer) Observe(rows int, took time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := slices.BinarySearchFunc(s.probes, rows, func(p probe, r int) int { return p.rows - r })
	if !ok {
		return
	}
	if i == s.cur && s.phase != settled && s.skip > 0 {
		s.skip--
		return
	}
	p := &s.probes[i]
	if p.n == 0 {
		p.lat = float64(took)
	} else {
		p.lat += ewmaAlpha * (float64(took) - p.lat)
	}
	p.n++
	if i != s.cur {
		return
	}
	if s.phase == settled {
		s.atTarget++
		switch {
		case !s.within(i):
			s.settle() // went over budget: step down now
		case s.atTarget >= reprobeEvery && i+1 < len(s.probes):
			s.phase = growing
			s.measure(i + 1)
		case s.atTarget >= reprobeEvery:
			s.atTarget = 0
		}
		return
	}
	s.count++
	if s.count < warmCount {
		return
	}
	if s.phase == refining {
		if s.within(i) {
			s.lo = i
		} else {
			s.hi = i
		}
		s.refine()
		return
	}
	// growing: go on while the size is within budget and the best so far
	switch {
	case s.within(i) && i+1 < len(s.probes) && s.best() == i:
		s.measure(i + 1)
	case s.within(i) || i == 0:
		s.settle()
	default:
		s.lo, s.hi = i-1, i
		s.refine()
	}
}

// within reports whether probe i has been measured within budget.
func (s *AdaptiveSizer) within(i int) bool {
	return s.probes[i].n > 0 && s.probes[i].lat <= s.budget
}

// measure starts measuring probe i afresh.
func (s *AdaptiveSizer) measure(i int) {
	s.cur, s.skip, s.count = i, warmSkip, 0
	s.probes[i].n = 0
	s.target.Store(int64(s.probes[i].rows))
}

// refine bisects the bracket [lo, hi] while the best size is its lower end
// and the bracket is wide; otherwise it settles.
func (s *AdaptiveSizer) refine() {
	lo, hi := s.probes[s.lo].rows, s.probes[s.hi].rows
	if s.best() != s.lo || hi-lo <= max(1, lo/refineRatio) || len(s.probes) >= maxProbes {
		s.settle()
		return
	}
	mid := lo + (hi-lo)/2
	at := s.lo + 1
	if s.probes[at].rows != mid {
		s.probes = slices.Insert(s.probes, at, probe{rows: mid})
		s.hi++
	}
	s.phase = refining
	s.measure(at)
}

// settle chooses the best size within budget.
func (s *AdaptiveSizer) settle() {
	s.phase, s.atTarget = settled, 0
	s.cur = s.best()
	s.target.Store(int64(s.probes[s.cur].rows))
}

// best returns the measured probe within budget with the best throughput;
// ties go to the smaller size. With none within budget it returns 0, the
// smallest size.
func (s *AdaptiveSizer) best() int {
	best, bestThr := 0, -1.0
	for i, p := range s.probes {
		if !s.within(i) {
			continue
		}
		if thr := float64(p.rows) / max(p.lat, 1); thr > bestThr {
			best, bestThr = i, thr
		}
	}
	return best
}

// Estimates returns what the sizer has measured, by ascending size.
func (s *AdaptiveSizer) Estimates() []Estimate {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Estimate, 0, len(s.probes))
	for _, p := range s.probes {
		if p.n == 0 {
			continue
		}
		out = append(out, Estimate{
			Rows:         p.rows,
			Latency:      time.Duration(p.lat),
			Throughput:   float64(p.rows) / max(p.lat, 1) * float64(time.Second),
			Observations: p.n,
		})
	}
	return out
}

// Capped is a [Sizer] that keeps another sizer's target at or below a
// limit which may change while batches are formed: the model stage caps
// its batches to what fits its memory budget, and raises the cap once it
// has measured outputs the model does not size in advance. Observations
// pass through to the inner sizer. It is safe for concurrent use.
type Capped struct {
	inner Sizer
	limit atomic.Int64
}

// NewCapped returns inner capped at limit rows (at least 1).
func NewCapped(inner Sizer, limit int) *Capped {
	c := &Capped{inner: inner}
	c.SetLimit(limit)
	return c
}

// Target returns the inner target, at most the limit.
func (c *Capped) Target() int { return min(c.inner.Target(), int(c.limit.Load())) }

// Observe passes the observation to the inner sizer.
func (c *Capped) Observe(rows int, took time.Duration) { c.inner.Observe(rows, took) }

// SetLimit sets the cap to limit rows (at least 1).
func (c *Capped) SetLimit(limit int) { c.limit.Store(int64(max(limit, 1))) }

// Limit returns the cap.
func (c *Capped) Limit() int { return int(c.limit.Load()) }
