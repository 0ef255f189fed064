package executor

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// Call is one submitted run of a model. Wait on Done, then read Result.
type Call struct {
	m     *Model
	ctx   context.Context
	in    []bridge.Tensor
	mem   memory.Allocator
	bytes int64
	rows  int

	// Owned by whichever goroutine runs the call.
	idx     int       // candidate the call is on
	attempt int       // attempts on this candidate
	began   time.Time // start of the first attempt; zero before
	ran     time.Duration

	done chan struct{}
	out  []bridge.Tensor
	err  error
}

// Ran is valid after Done: how long backends worked on the call, from the
// start of its first attempt to its end (retries, backoff and fallback
// included; the wait in the queue before the first attempt not).
func (c *Call) Ran() time.Duration { return c.ran }

// Done is closed when the call has completed.
func (c *Call) Done() <-chan struct{} { return c.done }

// Result returns the outputs (one tensor per model output, Data allocated
// from the allocator given to Submit and owned by the caller, who frees
// it) or the error. It blocks until the call is done.
func (c *Call) Result() ([]bridge.Tensor, error) {
	<-c.done
	return c.out, c.err
}

// tensorBytes is the bytes of tensors: their data, and the bytes of their
// strings.
func tensorBytes(in []bridge.Tensor) int64 {
	var n int64
	for i := range in {
		n += int64(len(in[i].Data))
		for _, s := range in[i].Strings {
			n += int64(len(s))
		}
	}
	return n
}

// Submit waits for admission (in-flight calls, and bytes of input tensors
// plus the estimated bytes of the outputs, see [Options]) and queues the
// call on its backend's subpool, waiting while that queue is full; it
// returns without waiting for the result. A call whose bytes alone exceed
// the budget is refused at once with a [*BudgetError].
//
// in is borrowed until the call is done: its Data must stay valid and
// unchanged until Done is closed. The outputs are allocated from mem.
// Errors: ctx's error, [ErrClosed], a [*BudgetError], or a *bridge.Error
// of class resource exhausted when admission took longer than
// Options.AdmissionTimeout.
func (m *Model) Submit(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) (*Call, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.calls.Add(1)
	m.mu.Unlock()
	e := m.e
	if err := e.begin(); err != nil {
		m.calls.Done()
		return nil, err
	}
	rows := callRows(in, m.info)
	n := tensorBytes(in) + m.out.bytes(rows)
	if n > e.opts.MemoryBudget {
		e.calls.Done()
		m.calls.Done()
		m.rejections.Inc()
		return nil, &BudgetError{Stage: m.spec.Stage, Rows: rows, Bytes: n, Budget: e.opts.MemoryBudget}
	}
	waited, err := e.adm.acquire(ctx, n, e.opts.AdmissionTimeout)
	if waited {
		m.waits.Inc()
	}
	if err != nil {
		e.calls.Done()
		m.calls.Done()
		if errors.Is(err, errAdmissionTimeout) {
			m.rejections.Inc()
			return nil, &bridge.Error{Backend: m.cands[m.current()].name, Op: "admit", Class: bridge.ClassResourceExhausted,
				Msg: admissionMsg(n, e.opts.AdmissionTimeout, e.adm), Err: err}
		}
		return nil, err
	}
	e.met.bytes.Add(float64(n))
	e.met.calls.Inc()
	c := &Call{m: m, ctx: ctx, in: in, mem: mem, bytes: n, rows: rows, idx: m.current(), done: make(chan struct{})}
	if !m.admit(c) {
		return c, nil // queued behind the model's running calls
	}
	if err := m.cands[c.idx].lane.pool.Go(c.run); err != nil {
		c.finishElsewhere(nil, fmt.Errorf("%w: %w", ErrClosed, err))
	}
	return c, nil
}

// admit counts c as running and reports true, or queues it when
// spec.Instances calls already run.
func (m *Model) admit(c *Call) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.spec.Instances > 0 && m.running >= m.spec.Instances {
		m.waiting = append(m.waiting, c)
		return false
	}
	m.running++
	return true
}

// done uncounts a finished call and returns the oldest waiting one, counted
// as running on the model's current candidate, for the caller to start; nil
// when none waits. It runs where the call finished, usually its worker, so
// the lane takes the next call without waiting for the stage.
func (m *Model) done() *Call {
	m.mu.Lock()
	m.running--
	var next *Call
	if len(m.waiting) > 0 {
		next = m.waiting[0]
		m.waiting[0] = nil
		m.waiting = m.waiting[1:]
		m.running++
		next.idx = m.cur
	}
	m.mu.Unlock()
	return next
}

// finish completes the call and returns the model's next waiting call, which
// the caller must start (see [handOver]). Nothing of c may be touched
// afterwards.
func (c *Call) finish(out []bridge.Tensor, err error) (next *Call) {
	c.out, c.err = out, err
	m := c.m
	e := m.e
	if !c.began.IsZero() {
		c.ran = e.clock.Now().Sub(c.began)
	}
	next = m.done()
	e.adm.release(c.bytes)
	e.met.bytes.Sub(float64(c.bytes))
	e.met.calls.Dec()
	close(c.done)
	m.calls.Done()
	e.calls.Done()
	return next
}

// finishElsewhere completes the call from outside a lane's worker: the next
// waiting call goes to its lane's queue.
func (c *Call) finishElsewhere(out []bridge.Tensor, err error) {
	if next := c.finish(out, err); next != nil {
		next.resubmit()
	}
}

// handOver decides who starts next, the call that the worker of lane l
// freed by finishing a call: the worker itself (it is returned) when next
// runs on l and no other task waits for l, so consecutive calls of one
// model follow each other on one thread without a trip through the Go
// scheduler (on a busy 2-core machine that trip cost ~150 µs between
// 600 µs calls); otherwise l's queue, behind what waits there.
func handOver(next *Call, l *lane) *Call {
	if next == nil {
		return nil
	}
	if next.m.cands[next.idx].lane == l && l.pool.WaitingTasks() == 0 {
		return next
	}
	next.resubmit()
	return nil
}

// resubmit moves the call to the lane of its current candidate. From a
// worker it must not block (two lanes falling back onto each other could
// deadlock), so when the queue is full a helper goroutine, owned by the
// executor, waits to queue it.
func (c *Call) resubmit() {
	l := c.m.cands[c.idx].lane
	if _, ok := l.pool.TrySubmit(c.run); ok {
		return
	}
	e := c.m.e
	e.helpers.Add(1)
	go func() {
		defer e.helpers.Done()
		if err := l.pool.Go(c.run); err != nil {
			c.finishElsewhere(nil, fmt.Errorf("%w: %w", ErrClosed, err))
		}
	}()
}

// sleep waits d on the executor's clock; false when ctx ended first.
func (c *Call) sleep(d time.Duration) bool {
	if d <= 0 {
		return c.ctx.Err() == nil
	}
	select {
	case <-c.m.e.clock.After(d):
		return true
	case <-c.ctx.Done():
		return false
	}
}

// canceled wraps a context error as a class-canceled backend error.
func (c *Call) canceled(backend string) error {
	return &bridge.Error{Backend: backend, Op: "run", Class: bridge.ClassCanceled, Err: c.ctx.Err()}
}

// run is a lane worker's task: it runs the call, then the calls that
// [handOver] gives back to this worker.
func (c *Call) run() {
	l := c.m.cands[c.idx].lane
	for c != nil {
		c = handOver(c.runOnce(), l)
	}
}

// runOnce executes the call on its current candidate, in that backend's
// lane: retries in place, hands the call to the next candidate's lane on a
// permanent error or an open breaker, and finishes it otherwise. When it
// finished the call it returns the model's next waiting call (see finish).
func (c *Call) runOnce() (next *Call) {
	defer func() {
		if p := recover(); p != nil {
			next = c.finish(nil, fmt.Errorf("stage %q: panic running the model on %s: %v\n%s",
				c.m.spec.Stage, c.m.cands[c.idx].name, p, debug.Stack()))
		}
	}()
	for {
		cd := c.m.cands[c.idx]
		if c.ctx.Err() != nil {
			return c.finish(nil, c.canceled(cd.name))
		}
		ok, probe := cd.tr.br.allow(c.m.e.clock.Now())
		if !ok {
			if left, next := c.moveOn(cd, errBreakerOpen); left {
				return next
			}
			continue
		}
		out, d, opened, err := c.runOn(cd)
		if done, next := c.settle(cd, probe, out, d, err); done {
			return next
		}
		if done, next := c.afterFailure(cd, probe, opened, err); done {
			return next
		}
	}
}

// runOn runs the call once on cd's session, opening it first if need be,
// and records the run's metrics. opened reports whether the session
// opened; d is how long the run took.
func (c *Call) runOn(cd *cand) (out []bridge.Tensor, d time.Duration, opened bool, err error) {
	e := c.m.e
	ent, err := c.m.entryFor(c.ctx, c.idx)
	if err != nil {
		return nil, 0, false, err
	}
	cd.met.inFlight.Inc()
	start := e.clock.Now()
	if c.began.IsZero() {
		c.began = start
	}
	out, err = ent.sess.Run(c.ctx, c.in, c.mem)
	d = e.clock.Now().Sub(start)
	cd.met.inFlight.Dec()
	cd.met.runs.Inc()
	cd.met.latency.Observe(d.Seconds())
	return out, d, true, err
}

// settle finishes the call when a run on cd succeeded, was canceled, or
// failed for the rows' sake rather than the backend's; done reports
// whether it did.
func (c *Call) settle(cd *cand, probe bool, out []bridge.Tensor, d time.Duration, err error) (done bool, next *Call) {
	m := c.m
	now := m.e.clock.Now
	class := bridge.ClassOf(err)
	switch {
	case err == nil:
		m.out.observe(out, c.rows)
		cd.tr.h.success(d, c.rows)
		cd.tr.br.record(outcomeSuccess, probe, now())
		if ref, ok := m.claimCanary(cd); ok {
			c.runCanary(cd, ref, out)
		}
		return true, c.finish(out, nil)
	case class == bridge.ClassCanceled || c.ctx.Err() != nil:
		cd.tr.br.record(outcomeNeutral, probe, now())
		if c.ctx.Err() != nil {
			err = c.canceled(cd.name)
		}
		return true, c.finish(nil, err)
	case class == bridge.ClassInvalidInput:
		// The rows are wrong, not the backend: never retried, never
		// moved; the stage isolates them.
		cd.tr.br.record(outcomeNeutral, probe, now())
		return true, c.finish(nil, err)
	}
	return false, nil
}

// afterFailure records that the backend failed the call with err, then
// retries in place after a backoff (done false), moves the call on (see
// moveOn), or finishes it once retries are spent.
func (c *Call) afterFailure(cd *cand, probe, opened bool, err error) (done bool, next *Call) {
	m := c.m
	e := m.e
	if opened {
		cd.met.runErrors.Inc()
	}
	cd.tr.h.failure()
	cd.tr.br.record(outcomeFailure, probe, e.clock.Now())
	class := bridge.ClassOf(err)
	if class.Retryable() {
		c.attempt++
		if c.attempt >= m.retry.MaxAttempts {
			return true, c.finish(nil, err)
		}
		cd.met.retries.Inc()
		if !c.sleep(m.retry.backoff(c.attempt-1, e.opts.Rand())) {
			return true, c.finish(nil, c.canceled(cd.name))
		}
		return false, nil
	}
	if !opened || class == bridge.ClassUnavailable || class == bridge.ClassModelCorrupt {
		// The backend cannot run this model at all: new calls skip it.
		m.markFailed(c.idx, m.nextUsable(c.idx, e.clock.Now()), err)
	}
	return c.moveOn(cd, err)
}

// nextUsable returns the first candidate after i that is not failed and
// whose breaker would let a call through, or -1.
func (m *Model) nextUsable(i int, now time.Time) int {
	if m.spec.Strict {
		return -1
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for j := i + 1; j < len(m.cands); j++ {
		if m.cands[j].failed == nil && m.cands[j].tr.br.wouldAllow(now) {
			return j
		}
	}
	return -1
}

// moveOn handles a call its candidate cannot take (cause: a permanent
// error, or errBreakerOpen). It reports true when the call left this
// goroutine (handed to another lane, or finished, then with the model's
// next waiting call as finish returned it), false when the caller should
// loop again on c.idx.
func (c *Call) moveOn(cd *cand, cause error) (left bool, next *Call) {
	m := c.m
	e := m.e
	now := e.clock.Now()
	breakerOpen := errors.Is(cause, errBreakerOpen)
	if m.spec.Strict && !breakerOpen {
		return true, c.finish(nil, &FallbackError{Stage: m.spec.Stage, Backend: cd.name, Strict: true, Err: cause})
	}
	if to := m.nextUsable(c.idx, now); to >= 0 {
		cd.met.fallbacks.Inc()
		e.log.Debug("call moved to the next backend", "stage", m.spec.Stage, "from", cd.name, "to", m.cands[to].name, "cause", cause)
		c.idx, c.attempt = to, 0
		c.resubmit()
		return true, nil
	}
	if !breakerOpen {
		return true, c.finish(nil, &FallbackError{Stage: m.spec.Stage, Backend: cd.name, Err: cause})
	}
	// Every breaker from here on is open: wait for the first to half-open
	// rather than fail rows, then start again from the model's current
	// backend.
	wake := cd.tr.br.reopensAt()
	m.mu.Lock()
	for _, x := range m.cands[m.cur:] {
		if t := x.tr.br.reopensAt(); x.failed == nil && !t.IsZero() && (wake.IsZero() || t.Before(wake)) {
			wake = t
		}
	}
	m.mu.Unlock()
	if !c.sleep(wake.Sub(now)) {
		return true, c.finish(nil, c.canceled(cd.name))
	}
	prev := cd.lane
	c.idx, c.attempt = m.current(), 0
	if m.cands[c.idx].lane != prev {
		c.resubmit()
		return true, nil
	}
	return false, nil
}
