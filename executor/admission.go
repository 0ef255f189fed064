package executor

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pipe-ml/pipe/bridge"
)

// DefaultMemoryBudget is the admission byte budget when Options.MemoryBudget
// is 0: bytes of model input and output tensors in flight across all models.
const DefaultMemoryBudget = 128 << 20

// ErrOverBudget is wrapped by every [*BudgetError].
var ErrOverBudget = errors.New("model call larger than the memory budget")

// BudgetError is a call whose model inputs and outputs alone would exceed
// the memory budget. Submit refuses it at once instead of running it: the
// caller splits its batches so that each fits (the model stage does).
type BudgetError struct {
	Stage  string // the stage id (callers name it in their messages)
	Rows   int    // rows of the call
	Bytes  int64  // its input bytes plus its estimated output bytes
	Budget int64  // Options.MemoryBudget (resources.memory_budget)
}

func (e *BudgetError) Error() string {
	return fmt.Sprintf("a call of %d rows needs %d bytes of model inputs and outputs, more than resources.memory_budget (%d bytes); lower batch.max_rows or raise resources.memory_budget",
		e.Rows, e.Bytes, e.Budget)
}

// Unwrap returns [ErrOverBudget].
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// MemoryBudget returns the admission byte budget: bytes of model input and
// output tensors in flight across all models (Options.MemoryBudget, or
// [DefaultMemoryBudget]). No single call may exceed it.
func (e *Executor) MemoryBudget() int64 { return e.opts.MemoryBudget }

// admission bounds the work in flight: at most slots calls and at most
// budget bytes of model tensors (inputs, and outputs as estimated by
// [outputCost]). Waiters are served in arrival order, so a large call is
// not starved by a stream of small ones. A call larger than the whole
// budget is never admitted: Submit refuses it with a [*BudgetError] before
// it gets here.
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
	return a.bytes+n <= a.budget
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

// admissionMsg describes an admission timeout for the caller.
func admissionMsg(n int64, timeout time.Duration, a *admission) string {
	used, bytes := a.inFlight()
	return fmt.Sprintf("waited %v to admit %d bytes of model inputs and outputs: %d calls and %d of %d bytes in flight (limit %d calls)",
		timeout, n, used, bytes, a.budget, a.slots)
}

// outputCost estimates the bytes of a model's outputs for a call of any
// number of rows: perRow bytes per row for outputs whose first dimension is
// the batch and whose other dimensions the model declares, fixed bytes for
// outputs with no dimension. Outputs whose size the model leaves open are
// learnt from the calls that ran: measured holds the largest output bytes
// per row seen so far.
type outputCost struct {
	perRow   int64
	fixed    int64
	measured atomic.Int64
}

// newOutputCost reads the declared output shapes of info.
func newOutputCost(info bridge.ModelInfo) *outputCost {
	c := &outputCost{}
	for _, t := range info.Outputs {
		size := int64(t.Type.Size())
		if (t.Kind != "" && t.Kind != "tensor") || t.Type == bridge.String || size <= 0 {
			continue // not a tensor of numbers: learnt from the calls
		}
		if len(t.Shape) == 0 {
			c.fixed += size
			continue
		}
		n, known := size, true
		for _, d := range t.Shape[1:] {
			if d.Dynamic() {
				known = false
				break
			}
			n *= d.Size
		}
		if known {
			c.perRow += n
		}
	}
	return c
}

// bytes estimates the output bytes of a call of rows rows.
func (c *outputCost) bytes(rows int) int64 {
	return c.fixed + int64(rows)*max(c.perRow, c.measured.Load())
}

// observe learns from the outputs of a call of rows rows.
func (c *outputCost) observe(out []bridge.Tensor, rows int) {
	if rows <= 0 {
		return
	}
	got := (tensorBytes(out) - c.fixed) / int64(rows)
	for {
		cur := c.measured.Load()
		if got <= cur || c.measured.CompareAndSwap(cur, got) {
			return
		}
	}
}

// callRows is the batch size of a call: the first dimension of the inputs
// whose first dimension the model leaves open (the batch), else of the
// first input.
func callRows(in []bridge.Tensor, info bridge.ModelInfo) int {
	rows := -1
	for i := range in {
		if i < len(info.Inputs) && len(info.Inputs[i].Shape) > 0 && info.Inputs[i].Shape[0].Dynamic() && len(in[i].Shape) > 0 {
			rows = max(rows, int(in[i].Shape[0]))
		}
	}
	if rows < 0 && len(in) > 0 && len(in[0].Shape) > 0 {
		rows = int(in[0].Shape[0])
	}
	return max(rows, 0)
}
