package executor

import (
	"sync"
	"time"
)

// BreakerPolicy configures the circuit breaker of each (model, backend).
// A zero field takes its value from [DefaultBreaker].
type BreakerPolicy struct {
	// Failures is the number of consecutive backend failures that open the
	// breaker.
	Failures int
	// OpenFor is how long the breaker stays open before letting probes
	// through.
	OpenFor time.Duration
	// HalfOpenProbes is the number of calls let through at once while half
	// open.
	HalfOpenProbes int
}

// DefaultBreaker is the breaker policy of a model that sets none: open
// after 5 consecutive failures, for 30s, then 1 probe at a time. The model
// stage's defaults are these.
var DefaultBreaker = BreakerPolicy{Failures: 5, OpenFor: 30 * time.Second, HalfOpenProbes: 1}

func (p BreakerPolicy) withDefaults() BreakerPolicy {
	if p.Failures <= 0 {
		p.Failures = DefaultBreaker.Failures
	}
	if p.OpenFor <= 0 {
		p.OpenFor = DefaultBreaker.OpenFor
	}
	if p.HalfOpenProbes <= 0 {
		p.HalfOpenProbes = DefaultBreaker.HalfOpenProbes
	}
	return p
}

// BreakerState is the state of a circuit breaker.
type BreakerState int32

// Breaker states; the values are those of the pipe_backend_breaker_state
// gauge.
const (
	BreakerClosed BreakerState = iota
	BreakerHalfOpen
	BreakerOpen
)

func (s BreakerState) String() string {
	switch s {
	case BreakerClosed:
		return "closed"
	case BreakerHalfOpen:
		return "half-open"
	case BreakerOpen:
		return "open"
	}
	return "unknown"
}

// outcome is what a call attempt tells the breaker.
type outcome int

const (
	outcomeNeutral outcome = iota // invalid input, cancellation: says nothing about the backend
	outcomeSuccess
	outcomeFailure
)

// breaker is a consecutive-failure circuit breaker: closed until Failures
// failures in a row, then open for OpenFor, then half-open letting
// HalfOpenProbes calls through at once; a probe's success closes it, a
// probe's failure opens it again.
type breaker struct {
	policy   BreakerPolicy
	onChange func(from, to BreakerState) // called with mu held; must not call back

	mu       sync.Mutex
	state    BreakerState
	failures int
	openedAt time.Time
	probes   int // probes in flight while half open
}

func newBreaker(p BreakerPolicy, onChange func(from, to BreakerState)) *breaker {
	return &breaker{policy: p.withDefaults(), onChange: onChange}
}

func (b *breaker) setLocked(to BreakerState) {
	from := b.state
	if from == to {
		return
	}
	b.state = to
	if b.onChange != nil {
		b.onChange(from, to)
	}
}

// allow reports whether a call may go to the backend now. probe is true
// when the call is a half-open probe; the caller must pass it to record.
func (b *breaker) allow(now time.Time) (ok, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state == BreakerOpen && now.Sub(b.openedAt) >= b.policy.OpenFor {
		b.setLocked(BreakerHalfOpen)
		b.probes = 0
	}
	switch b.state {
	case BreakerClosed:
		return true, false
	case BreakerHalfOpen:
		if b.probes < b.policy.HalfOpenProbes {
			b.probes++
			return true, true
		}
	}
	return false, false
}

// wouldAllow reports whether allow would let a call through now, without
// taking a probe.
func (b *breaker) wouldAllow(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case BreakerClosed:
		return true
	case BreakerHalfOpen:
		return b.probes < b.policy.HalfOpenProbes
	}
	return now.Sub(b.openedAt) >= b.policy.OpenFor
}

// reopensAt returns when an open breaker goes half open (zero when not
// open).
func (b *breaker) reopensAt() time.Time {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.state != BreakerOpen {
		return time.Time{}
	}
	return b.openedAt.Add(b.policy.OpenFor)
}

// record reports an attempt's outcome.
func (b *breaker) record(o outcome, probe bool, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if probe && b.probes > 0 {
		b.probes--
	}
	switch o {
	case outcomeSuccess:
		b.failures = 0
		if b.state == BreakerHalfOpen {
			b.setLocked(BreakerClosed)
		}
	case outcomeFailure:
		b.failures++
		switch b.state {
		case BreakerHalfOpen:
			b.openedAt = now
			b.setLocked(BreakerOpen)
		case BreakerClosed:
			if b.failures >= b.policy.Failures {
				b.openedAt = now
				b.setLocked(BreakerOpen)
			}
		}
	}
}

// current returns the state (an open breaker past OpenFor still reads open
// until a call asks).
func (b *breaker) current() BreakerState {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state
}
