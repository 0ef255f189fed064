package executor

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

func TestBackoffFullJitterBounds(t *testing.T) {
	p := RetryPolicy{MaxAttempts: 10, Initial: 100 * time.Millisecond, Max: 2 * time.Second}
	for n := range 8 {
		ceiling := min(p.Max, p.Initial*time.Duration(1<<n))
		tests := []struct {
			r    float64
			want time.Duration
		}{{0, 0}, {0.5, ceiling / 2}, {math.Nextafter(1, 0), ceiling - 1}}
		for _, tt := range tests {
			got := p.backoff(n, tt.r)
			if got < 0 || got > ceiling || (got != tt.want && got != tt.want+1 && got != tt.want-1) {
				t.Errorf("backoff(%d, %v) = %v, want %v (ceiling %v)", n, tt.r, got, tt.want, ceiling)
			}
		}
	}
	if got := p.backoff(200, 1); got != p.Max {
		t.Errorf("backoff(200, 1) = %v, want the cap %v (no overflow)", got, p.Max)
	}
	if d := (RetryPolicy{}).withDefaults(); d.MaxAttempts != 3 || d.Initial != 100*time.Millisecond || d.Max != 5*time.Second {
		t.Errorf("defaults = %+v", d)
	}
}

func TestRetryTransient(t *testing.T) {
	tests := []struct {
		name     string
		class    bridge.Class
		fail     int
		attempts int
		wantErr  bool
		sleeps   []time.Duration
	}{
		{"two transient then success", bridge.ClassTransient, 2, 4, false, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{"resource exhausted once", bridge.ClassResourceExhausted, 1, 4, false, []time.Duration{50 * time.Millisecond}},
		{"attempts exhausted", bridge.ClassTransient, 5, 3, true, []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			b := v.fake("fa", backendtest.Config{})
			m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"},
				Retry: RetryPolicy{MaxAttempts: tt.attempts, Initial: 100 * time.Millisecond, Max: time.Second}})
			b.FailFirst(tt.fail, tt.class)
			done := make(chan error, 1)
			go func() { done <- v.run(context.Background(), m, 3) }()
			for i := range tt.sleeps {
				v.clock.WaitAfters(t, i+1)
				v.clock.Advance(time.Second)
			}
			err := <-done
			if tt.wantErr != (err != nil) || (err != nil && bridge.ClassOf(err) != tt.class) {
				t.Fatalf("run = %v, want error %v of class %v", err, tt.wantErr, tt.class)
			}
			// rand is 0.5: each sleep is half its ceiling, 100ms × 2^n.
			if got := v.clock.Afters(); len(got) != len(tt.sleeps) || (len(got) > 0 && (got[0] != tt.sleeps[0] || got[len(got)-1] != tt.sleeps[len(got)-1])) {
				t.Fatalf("sleeps %v, want %v", got, tt.sleeps)
			}
			if got, want := b.Calls(), 1+len(tt.sleeps)+1; got != want {
				t.Fatalf("backend calls %d, want %d (warm-up + attempts)", got, want)
			}
			if got := v.value("pipe_backend_retries_total", map[string]string{"backend": "fa"}); got != float64(len(tt.sleeps)) {
				t.Fatalf("retries metric %v, want %d", got, len(tt.sleeps))
			}
		})
	}
}

func TestInvalidInputIsNeitherRetriedNorMoved(t *testing.T) {
	v := newEnv(t, Options{})
	a := v.fake("fa", backendtest.Config{})
	b := v.fake("fb", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa", "fb"}})
	in := backendtest.Input(v.mem, 4, 4)
	defer v.mem.Free(in.Data)
	backendtest.SetFloat(in, 9, float32(math.NaN()))
	c, err := m.Submit(context.Background(), []bridge.Tensor{in}, v.mem)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Result()
	var be *bridge.Error
	if !errors.As(err, &be) || be.Class != bridge.ClassInvalidInput || be.Msg != "input x: row 2 holds the marker value NaN" {
		t.Fatalf("Result = %v, want the backend's invalid-input error as is", err)
	}
	if a.Calls() != 2 || b.Calls() != 0 || len(v.clock.Afters()) != 0 {
		t.Fatalf("calls fa %d fb %d sleeps %v: invalid input was retried or moved", a.Calls(), b.Calls(), v.clock.Afters())
	}
}

func TestFallbackToTheNextBackend(t *testing.T) {
	tests := []struct {
		name   string
		class  bridge.Class
		sticky bool // new calls start on fb
	}{
		{"unsupported moves the call", bridge.ClassUnsupported, false},
		{"unknown moves the call", bridge.ClassUnknown, false},
		{"unavailable moves the model", bridge.ClassUnavailable, true},
		{"model corrupt moves the model", bridge.ClassModelCorrupt, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, Options{})
			a := v.fake("fa", backendtest.Config{})
			b := v.fake("fb", backendtest.Config{})
			m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa", "fb"}})
			if b.Opens() != 0 {
				t.Fatal("fb opened before it was needed")
			}
			a.FailAlways(tt.class)
			if err := v.run(context.Background(), m, 2); err != nil {
				t.Fatal(err)
			}
			if b.Opens() != 1 || b.Calls() != 2 { // warm-up + the call
				t.Fatalf("fb opens %d calls %d, want 1 and 2", b.Opens(), b.Calls())
			}
			if got := v.value("pipe_backend_fallbacks_total", map[string]string{"backend": "fa"}); got != 1 {
				t.Fatalf("fallbacks metric %v, want 1", got)
			}
			got, reason := m.Placement()
			if want := map[bool]string{false: "fa", true: "fb"}[tt.sticky]; got != want {
				t.Fatalf("placement after the failure %s (%s), want %s", got, reason, want)
			}
		})
	}
}

func TestStrictRefusesRuntimeFallback(t *testing.T) {
	v := newEnv(t, Options{})
	a := v.fake("fa", backendtest.Config{})
	b := v.fake("fb", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa", "fb"}, Strict: true})
	a.FailAlways(bridge.ClassUnsupported)
	err := v.run(context.Background(), m, 2)
	var fe *FallbackError
	if !errors.As(err, &fe) || !fe.Strict || fe.Backend != "fa" || bridge.ClassOf(err) != bridge.ClassUnsupported {
		t.Fatalf("run = %v, want a strict *FallbackError keeping the class", err)
	}
	if b.Calls() != 0 {
		t.Fatal("strict model ran on fb")
	}
}

func TestNoBackendLeft(t *testing.T) {
	v := newEnv(t, Options{})
	a := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
	a.FailAlways(bridge.ClassUnsupported)
	err := v.run(context.Background(), m, 2)
	var fe *FallbackError
	if !errors.As(err, &fe) || fe.Strict || !errors.Is(err, bridge.ErrUnsupported) {
		t.Fatalf("run = %v, want a *FallbackError wrapping the unsupported error", err)
	}
}

func TestBreakerRoutesAroundAndRecovers(t *testing.T) {
	v := newEnv(t, Options{})
	a := v.fake("fa", backendtest.Config{})
	b := v.fake("fb", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa", "fb"},
		Retry:   RetryPolicy{MaxAttempts: 1},
		Breaker: BreakerPolicy{Failures: 2, OpenFor: time.Minute}})
	state := func() float64 {
		return v.value("pipe_backend_breaker_state", map[string]string{"backend": "fa", "model": "m.fake"})
	}
	a.FailAlways(bridge.ClassTransient)
	for i := range 2 {
		if err := v.run(context.Background(), m, 1); bridge.ClassOf(err) != bridge.ClassTransient {
			t.Fatalf("call %d = %v, want transient", i, err)
		}
	}
	if state() != float64(BreakerOpen) {
		t.Fatalf("breaker state %v after 2 failures, want open", state())
	}
	// Open: calls go to fb without touching fa.
	before := a.Calls()
	if err := v.run(context.Background(), m, 1); err != nil {
		t.Fatal(err)
	}
	if a.Calls() != before || b.Calls() != 2 {
		t.Fatalf("open breaker: fa calls %d->%d, fb calls %d", before, a.Calls(), b.Calls())
	}
	// After OpenFor one probe goes to fa; it succeeds and closes the breaker.
	a.Heal()
	v.clock.Advance(time.Minute)
	if err := v.run(context.Background(), m, 1); err != nil {
		t.Fatal(err)
	}
	if a.Calls() != before+1 || state() != float64(BreakerClosed) {
		t.Fatalf("probe: fa calls %d (want %d), state %v", a.Calls(), before+1, state())
	}
	// closed -> open -> half-open -> closed: three transitions.
	if got := v.value("pipe_backend_breaker_transitions_total", map[string]string{"backend": "fa"}); got != 3 {
		t.Fatalf("transitions %v, want 3", got)
	}
	if got := v.value("pipe_backend_fallbacks_total", map[string]string{"backend": "fa"}); got != 1 {
		t.Fatalf("fallbacks %v, want 1", got)
	}
}

func TestOpenBreakerWithoutAlternativeWaits(t *testing.T) {
	v := newEnv(t, Options{})
	a := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"},
		Retry: RetryPolicy{MaxAttempts: 1}, Breaker: BreakerPolicy{Failures: 1, OpenFor: 10 * time.Second}})
	a.FailFirst(1, bridge.ClassTransient)
	if err := v.run(context.Background(), m, 1); bridge.ClassOf(err) != bridge.ClassTransient {
		t.Fatalf("first call = %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- v.run(context.Background(), m, 1) }()
	v.clock.WaitAfters(t, 1)
	if got := v.clock.Afters()[0]; got != 10*time.Second {
		t.Fatalf("waited %v for the breaker, want 10s", got)
	}
	v.clock.Advance(10 * time.Second)
	if err := <-done; err != nil {
		t.Fatalf("call after the breaker half-opened = %v", err)
	}
}

func TestCancellation(t *testing.T) {
	t.Run("running", func(t *testing.T) {
		v := newEnv(t, Options{})
		a := v.fake("fa", backendtest.Config{})
		m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
		a.SetGate(make(chan struct{}))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- v.run(ctx, m, 1) }()
		for a.Running() == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
		select {
		case err := <-done:
			if !errors.Is(err, context.Canceled) || bridge.ClassOf(err) != bridge.ClassCanceled {
				t.Fatalf("run = %v, want canceled", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("a cancelled call did not return")
		}
	})
	t.Run("backing off", func(t *testing.T) {
		v := newEnv(t, Options{})
		a := v.fake("fa", backendtest.Config{})
		m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
		a.FailAlways(bridge.ClassTransient)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- v.run(ctx, m, 1) }()
		v.clock.WaitAfters(t, 1) // sleeping before the retry; the clock never moves
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("run = %v, want canceled", err)
		}
		if a.Calls() != 2 {
			t.Fatalf("calls %d: a cancelled call was retried", a.Calls())
		}
	})
	t.Run("before submit", func(t *testing.T) {
		v := newEnv(t, Options{})
		v.fake("fa", backendtest.Config{})
		m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := v.run(ctx, m, 1); !errors.Is(err, context.Canceled) {
			t.Fatalf("run = %v", err)
		}
	})
}

func TestConcurrentSubmitsRespectTheLimit(t *testing.T) {
	v := newEnv(t, Options{Clock: realClock{}, MaxConcurrency: map[string]int{"fa": 3}, QueueSize: 2})
	a := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
	a.SetLatency(2 * time.Millisecond)
	const n = 40
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- v.run(context.Background(), m, 1+i%5) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if a.Calls() != n+1 || a.Peak() > 3 {
		t.Fatalf("calls %d (want %d), peak concurrency %d (limit 3)", a.Calls(), n+1, a.Peak())
	}
	if a.Peak() < 2 {
		t.Logf("peak concurrency only %d on this machine", a.Peak())
	}
	if got := v.value("pipe_backend_runs_total", map[string]string{"backend": "fa"}); got != n {
		t.Fatalf("runs metric %v, want %d", got, n)
	}
}

func TestAdmissionTimeout(t *testing.T) {
	v := newEnv(t, Options{MaxInFlight: 1, AdmissionTimeout: 5 * time.Second})
	a := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Stage: "st", Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
	gate := make(chan struct{})
	a.SetGate(gate)
	first := make(chan error, 1)
	go func() { first <- v.run(context.Background(), m, 1) }()
	for a.Running() == 0 {
		time.Sleep(time.Millisecond)
	}
	second := make(chan error, 1)
	go func() { second <- v.run(context.Background(), m, 1) }()
	v.clock.WaitAfters(t, 1)
	v.clock.Advance(5 * time.Second)
	err := <-second
	var be *bridge.Error
	if !errors.As(err, &be) || be.Class != bridge.ClassResourceExhausted || !be.Class.Retryable() {
		t.Fatalf("second call = %v, want a retryable resource-exhausted error", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"model": "m.fake", "stage": "st"}
	if w, r := v.value("pipe_backend_admission_waits_total", labels), v.value("pipe_backend_admission_rejections_total", labels); w != 1 || r != 1 {
		t.Fatalf("admission waits %v rejections %v, want 1 and 1", w, r)
	}
	if got := v.value("pipe_backend_in_flight_bytes", nil); got != 0 {
		t.Fatalf("bytes in flight %v after all calls, want 0", got)
	}
}

func TestFallbackOntoAFullLane(t *testing.T) {
	// fb runs one call at a time with a queue of one: the third call moved
	// there finds the queue full and waits in a helper goroutine.
	v := newEnv(t, Options{MaxConcurrency: map[string]int{"fa": 1, "fb": 1}, QueueSize: 1})
	a := v.fake("fa", backendtest.Config{})
	b := v.fake("fb", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa", "fb"}})
	a.FailAlways(bridge.ClassUnsupported)
	gate := make(chan struct{})
	b.SetGate(gate)
	const n = 3
	errs := make(chan error, n)
	for range n {
		go func() { errs <- v.run(context.Background(), m, 2) }()
	}
	deadline := time.Now().Add(5 * time.Second)
	for v.value("pipe_backend_fallbacks_total", map[string]string{"backend": "fa"}) < n {
		if time.Now().After(deadline) {
			t.Fatal("the calls did not all fall back")
		}
		time.Sleep(time.Millisecond)
	}
	if got := v.value("pipe_backend_queued_calls", map[string]string{"backend": "fb"}); got != 1 {
		t.Fatalf("fb queue holds %v calls, want 1", got)
	}
	close(gate)
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if b.Peak() != 1 || b.Calls() != n+1 {
		t.Fatalf("fb peak %d calls %d, want 1 and %d", b.Peak(), b.Calls(), n+1)
	}
}

// TestModelInstancesQueueInOrder: a handle with Instances 1 on a lane that
// runs 3 at once still runs one call at a time; the others wait and start
// in submission order. Ran is the backend's time, not the wait.
func TestModelInstancesQueueInOrder(t *testing.T) {
	v := newEnv(t, Options{MaxConcurrency: map[string]int{"fq": 3}})
	a := v.fake("fq", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fq"}, Instances: 1})
	gate := make(chan struct{})
	a.SetGate(gate)
	warm := len(a.Rows())
	lane := m.cands[0].lane.pool
	tasks := lane.SubmittedTasks()
	var calls []*Call
	var ins []bridge.Tensor
	for rows := 1; rows <= 4; rows++ {
		c, in := v.submitRows(m, rows)
		calls, ins = append(calls, c), append(ins, in)
	}
	for a.Running() < 1 {
		time.Sleep(time.Millisecond)
	}
	v.clock.Advance(3 * time.Second) // the first call runs 3s on the fake clock
	close(gate)
	for i, c := range calls {
		out, err := c.Result()
		if err != nil {
			t.Fatal(err)
		}
		v.checkOut(out, i+1)
		backendtest.Free(v.mem, out)
		v.mem.Free(ins[i].Data)
	}
	if p := a.Peak(); p != 1 {
		t.Errorf("peak concurrency %d, want 1 (Instances)", p)
	}
	if got, want := a.Rows()[warm:], []int{1, 2, 3, 4}; !slices.Equal(got, want) {
		t.Errorf("calls ran with rows %v, want %v (submission order)", got, want)
	}
	if d := calls[0].Ran(); d != 3*time.Second {
		t.Errorf("first call Ran %v, want 3s", d)
	}
	if d := calls[3].Ran(); d != 0 {
		t.Errorf("last call Ran %v, want 0: it waited while the clock moved, and ran without it moving", d)
	}
	// Nothing else waited for the lane: the worker that ran the first call
	// ran the three queued ones itself, without a trip through the queue.
	if n := lane.SubmittedTasks() - tasks; n != 1 {
		t.Errorf("the lane took %d tasks for 4 calls of one model, want 1", n)
	}
}

// TestHandOverYieldsToWaitingTasks: a worker does not keep a lane for its
// model's queued calls while another model's call waits for that lane; the
// queued call goes behind it.
func TestHandOverYieldsToWaitingTasks(t *testing.T) {
	v := newEnv(t, Options{MaxConcurrency: map[string]int{"fq": 1}})
	a := v.fake("fq", backendtest.Config{})
	ma := v.open(ModelSpec{Path: v.model("a.fake", "x"), Backends: []string{"fq"}, Instances: 1})
	mb := v.open(ModelSpec{Path: v.model("b.fake", "x"), Backends: []string{"fq"}, Instances: 1})
	gate := make(chan struct{})
	a.SetGate(gate)
	warm := len(a.Rows())
	var calls []*Call
	var ins []bridge.Tensor
	submit := func(m *Model, rows int) {
		c, in := v.submitRows(m, rows)
		calls, ins = append(calls, c), append(ins, in)
	}
	for rows := 1; rows <= 3; rows++ { // a's first runs, the others queue in a
		submit(ma, rows)
	}
	for a.Running() < 1 {
		time.Sleep(time.Millisecond)
	}
	submit(mb, 10) // waits in the lane's queue
	for ma.cands[0].lane.pool.WaitingTasks() < 1 {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	for i, c := range calls {
		if _, err := c.Result(); err != nil {
			t.Fatal(err)
		}
		backendtest.Free(v.mem, c.out)
		v.mem.Free(ins[i].Data)
	}
	if got, want := a.Rows()[warm:], []int{1, 10, 2, 3}; !slices.Equal(got, want) {
		t.Errorf("calls ran with rows %v, want %v (b's call before a's queued ones)", got, want)
	}
}
