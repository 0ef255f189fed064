package executor

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// DefaultHealthInterval is how often the executor reads the system's
// health signals when Options.HealthInterval is 0.
const DefaultHealthInterval = 2 * time.Second

// HealthReading is one reading of the machine's health signals (on a Mac:
// thermal state, memory pressure), in the terms the executor acts on. The
// binary adapts the Apple bridge's readings to it (internal/applehealth), so
// that the executor depends on no concrete bridge.
type HealthReading struct {
	// Concurrency scales the concurrency of the accelerated backends
	// (bridge.Capabilities.Accelerator: ane, mps, metal): 1 when calm,
	// lower when the machine is hot, 0 for the minimum; each lane keeps at
	// least one worker.
	Concurrency float64
	// Evict asks for every model no stage uses to be closed (memory
	// pressure).
	Evict bool
	// Summary describes the reading for logs.
	Summary string
}

// ErrNoHealthSignals is returned (wrapped) by a health reader that cannot
// read signals on this machine; the poller then stops.
var ErrNoHealthSignals = errors.New("no system health signals on this machine")

// SystemHealth is the last reading of the system's health signals and
// what the executor did about it.
type SystemHealth struct {
	Reading HealthReading
	// Polls counts the readings made; 0 before the first.
	Polls int
	// Evictions counts the unused models closed because of memory
	// pressure.
	Evictions int
	// Stopped is set when the poller gave up: the signals cannot be read
	// here (not macOS, or built without cgo).
	Stopped bool
	Err     error // the last reading's error, if any
}

// signals polls the system's health (thermal state, memory pressure) and
// applies each [HealthReading]: it scales the concurrency of the accelerated
// lanes and evicts unused models under memory pressure. Its goroutine is
// started by [New] and stopped and waited for by [Executor.Close].
type signals struct {
	e     *Executor
	read  func() (HealthReading, error)
	every time.Duration

	stop chan struct{} // closed by close
	done chan struct{} // closed when the poller has returned
	once sync.Once

	mu    sync.Mutex
	scale float64 // applied concurrency factor; 1 when calm
	state SystemHealth
}

// newSignals returns the poller of e, not yet started; nil when polling is
// off (no reader, or a negative interval).
func newSignals(e *Executor) *signals {
	read := e.opts.Health
	if e.opts.HealthInterval < 0 || read == nil {
		return nil
	}
	every := e.opts.HealthInterval
	if every == 0 {
		every = DefaultHealthInterval
	}
	return &signals{e: e, read: read, every: every, scale: 1,
		stop: make(chan struct{}), done: make(chan struct{})}
}

// start runs the poller: one reading at once, then one per interval of the
// executor's clock, until close or until the signals prove unreadable here.
func (s *signals) start() {
	go func() {
		defer close(s.done)
		for {
			if !s.poll() {
				return
			}
			select {
			case <-s.stop:
				return
			case <-s.e.clock.After(s.every):
			}
		}
	}()
}

// close stops the poller and waits for it. It is idempotent.
func (s *signals) close() {
	s.once.Do(func() { close(s.stop) })
	<-s.done
}

// poll reads the signals once and applies the advice; it returns false
// when polling should stop.
func (s *signals) poll() bool {
	a, err := s.safeRead()
	if errors.Is(err, ErrNoHealthSignals) {
		s.mu.Lock()
		s.state.Polls++
		s.state.Stopped, s.state.Err = true, err
		s.mu.Unlock()
		s.e.log.Debug("system health signals unavailable; not polling", "err", err)
		return false
	}
	a.Concurrency = min(max(a.Concurrency, 0), 1)
	// A partial reading keeps calm values for what failed; apply it.
	s.mu.Lock()
	s.state.Polls++
	s.state.Reading, s.state.Err = a, err
	old := s.scale
	s.scale = a.Concurrency
	s.mu.Unlock()

	if a.Concurrency != old {
		s.e.log.Warn("system health: scaling accelerated backends", "reading", a.Summary, "concurrency_factor", a.Concurrency)
		s.resizeLanes(a.Concurrency)
	}
	if a.Evict {
		if n := s.e.reg.evictUnused(); n > 0 {
			s.mu.Lock()
			s.state.Evictions += n
			s.mu.Unlock()
			s.e.log.Warn("system health: memory pressure, evicted unused models", "reading", a.Summary, "models", n)
		}
	}
	return true
}

// resizeLanes sets every accelerated lane to its scaled concurrency.
func (s *signals) resizeLanes(factor float64) {
	e := s.e
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return
	}
	for name, l := range e.lanes {
		if accelerated(name) {
			l.pool.Resize(scaledConcurrency(e.opts.concurrency(name), factor))
		}
	}
}

// laneConcurrency is the concurrency a new lane for name starts with.
func (s *signals) laneConcurrency(name string, base int) int {
	if s == nil || !accelerated(name) {
		return base
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return scaledConcurrency(base, s.scale)
}

// scaledConcurrency scales base by factor, rounding down but never below
// 1: pond reads 0 as unlimited, and a paused accelerator (factor 0) still
// drains its queue one run at a time.
func scaledConcurrency(base int, factor float64) int {
	return max(1, int(math.Floor(float64(base)*factor)))
}

// snapshot returns the last reading.
func (s *signals) snapshot() SystemHealth {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// SystemHealth returns the last reading of the system's health signals
// and what was done about it; ok is false when polling is off.
func (e *Executor) SystemHealth() (h SystemHealth, ok bool) {
	if e.sig == nil {
		return SystemHealth{}, false
	}
	return e.sig.snapshot(), true
}

// evictUnused closes every loaded model no [Model] references, least
// recently used first, whatever the memory budget; it returns how many it
// closed.
func (r *registry) evictUnused() int {
	r.mu.Lock()
	victims := r.evictWhileLocked(func() bool { return true })
	r.mu.Unlock()
	closeEntries(victims)
	return len(victims)
}

// safeRead calls the reader; a panic in it (a native library's bug) makes
// the signals unreadable here, which stops the poller, instead of ending
// the process: health polling only advises.
func (s *signals) safeRead() (a HealthReading, err error) {
	defer func() {
		if p := recover(); p != nil {
			a, err = HealthReading{}, fmt.Errorf("%w: the reader panicked: %v", ErrNoHealthSignals, p)
		}
	}()
	return s.read()
}
