package executor

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// admission bounds the work in flight: at most slots calls and at most
// budget bytes of input tensors. Waiters are served in arrival order, so a
// large call is not starved by a stream of small ones. A call larger than
// the whole budget is admitted when nothing else is in flight.
//
// The fast path (capacity free, nobody waiting) is one mutex section and
// allocates nothing; a waiter allocates its channel.
type admission struct {
	clock Clock

	mu      sync.Mutex
	slots   int
	budget  int64
	used    int
	bytes   int64
	waiters []*waiter // FIFO
}

type waiter struct {
	bytes int64
	ready chan struct{} // closed when admitted
}

func newAdmission(slots int, budget int64, clock Clock) *admission {
	return &admission{clock: clock, slots: slots, budget: budget}
}

// fits reports whether a call of n bytes can be admitted now. The caller
// holds a.mu.
func (a *admission) fits(n int64) bool {
	if a.used >= a.slots {
		return false
	}
	return a.bytes+n <= a.budget || a.used == 0
}

// tryAcquire admits a call of n bytes if capacity is free and nobody waits.
func (a *admission) tryAcquire(n int64) bool {
	a.mu.Lock()
	ok := len(a.waiters) == 0 && a.fits(n)
	if ok {
		a.used++
		a.bytes += n
	}
	a.mu.Unlock()
	return ok
}

// acquire admits a call of n bytes, waiting up to timeout. waited reports
// whether it had to queue. It returns errAdmissionTimeout after the timeout
// or ctx's error when ctx ends first.
func (a *admission) acquire(ctx context.Context, n int64, timeout time.Duration) (waited bool, err error) {
	if a.tryAcquire(n) {
		return false, nil
	}
	a.mu.Lock()
	if len(a.waiters) == 0 && a.fits(n) { // freed meanwhile
		a.used++
		a.bytes += n
		a.mu.Unlock()
		return false, nil
	}
	w := &waiter{bytes: n, ready: make(chan struct{})}
	a.waiters = append(a.waiters, w)
	a.mu.Unlock()

	var fail error
	select {
	case <-w.ready:
		return true, nil
	case <-ctx.Done():
		fail = ctx.Err()
	case <-a.clock.After(timeout):
		fail = errAdmissionTimeout
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-w.ready: // admitted while we were giving up: keep it
		return true, nil
	default:
	}
	for i, x := range a.waiters {
		if x == w {
			a.waiters = append(a.waiters[:i], a.waiters[i+1:]...)
			break
		}
	}
	a.wakeLocked() // our leaving may unblock the next in line
	return true, fail
}

// release returns a call of n bytes.
func (a *admission) release(n int64) {
	a.mu.Lock()
	a.used--
	a.bytes -= n
	if len(a.waiters) > 0 {
		a.wakeLocked()
	}
	a.mu.Unlock()
}

// wakeLocked admits waiters from the front while they fit.
func (a *admission) wakeLocked() {
	for len(a.waiters) > 0 && a.fits(a.waiters[0].bytes) {
		w := a.waiters[0]
		a.waiters[0] = nil
		a.waiters = a.waiters[1:]
		a.used++
		a.bytes += w.bytes
		close(w.ready)
	}
}

// inFlight returns the calls and bytes admitted.
func (a *admission) inFlight() (int, int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.used, a.bytes
}

// admissionError describes an admission timeout for the caller.
func admissionMsg(n int64, timeout time.Duration, a *admission) string {
	used, bytes := a.inFlight()
	return fmt.Sprintf("waited %v to admit %d bytes of input: %d calls and %d of %d bytes in flight (limit %d calls)",
		timeout, n, used, bytes, a.budget, a.slots)
}
