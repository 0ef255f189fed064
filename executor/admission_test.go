package executor

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestAdmission(t *testing.T) {
	t.Run("slots and bytes", func(t *testing.T) {
		a := newAdmission(2, 100, newFakeClock())
		tests := []struct {
			n    int64
			want bool
		}{{60, true}, {50, false}, {40, true}, {1, false}}
		for i, tt := range tests {
			if got := a.tryAcquire(tt.n); got != tt.want {
				t.Fatalf("step %d: tryAcquire(%d) = %v, want %v", i, tt.n, got, tt.want)
			}
		}
		a.release(60)
		a.release(40)
		if used, bytes := a.inFlight(); used != 0 || bytes != 0 {
			t.Fatalf("in flight %d calls %d bytes after releasing all", used, bytes)
		}
	})
	t.Run("a call over budget is never admitted", func(t *testing.T) {
		a := newAdmission(4, 100, newFakeClock())
		if a.tryAcquire(101) {
			t.Fatal("a call over the budget was admitted with nothing in flight")
		}
		if !a.tryAcquire(100) {
			t.Fatal("a call of exactly the budget was refused with nothing in flight")
		}
		a.release(100)
	})
	t.Run("fifo", func(t *testing.T) {
		clock := newFakeClock()
		a := newAdmission(1, 100, clock)
		if _, err := a.acquire(context.Background(), 10, time.Second); err != nil {
			t.Fatal(err)
		}
		order := make(chan int, 2)
		for i := range 2 {
			go func() {
				if waited, err := a.acquire(context.Background(), 10, time.Hour); err != nil || !waited {
					t.Errorf("waiter %d: waited %v err %v", i, waited, err)
				}
				order <- i
			}()
			clock.WaitAfters(t, i+1) // queued in order
		}
		a.release(10)
		if got := <-order; got != 0 {
			t.Fatalf("waiter %d admitted first, want 0", got)
		}
		a.release(10)
		<-order
		a.release(10)
	})
	t.Run("timeout and cancel", func(t *testing.T) {
		clock := newFakeClock()
		a := newAdmission(1, 100, clock)
		a.tryAcquire(1)
		done := make(chan error, 1)
		go func() { _, err := a.acquire(context.Background(), 1, time.Second); done <- err }()
		clock.WaitAfters(t, 1)
		clock.Advance(time.Second)
		if err := <-done; !errors.Is(err, errAdmissionTimeout) {
			t.Fatalf("acquire = %v, want timeout", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		go func() { _, err := a.acquire(ctx, 1, time.Hour); done <- err }()
		clock.WaitAfters(t, 2)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("acquire = %v, want canceled", err)
		}
		a.release(1)
		if used, _ := a.inFlight(); used != 0 || len(a.waiters) != 0 {
			t.Fatalf("%d in flight, %d waiters left", used, len(a.waiters))
		}
	})
}

func TestBreakerTransitions(t *testing.T) {
	var trans []string
	b := newBreaker(BreakerPolicy{Failures: 3, OpenFor: 10 * time.Second, HalfOpenProbes: 2}, func(from, to BreakerState) {
		trans = append(trans, from.String()+">"+to.String())
	})
	t0 := time.Unix(0, 0)
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	type step struct {
		do        string // allow, ok, fail, neutral
		sec       int
		wantAllow bool
		wantState BreakerState
	}
	steps := []step{
		{"fail", 0, false, BreakerClosed},
		{"fail", 0, false, BreakerClosed},
		{"ok", 0, false, BreakerClosed}, // a success resets the count
		{"fail", 1, false, BreakerClosed},
		{"fail", 1, false, BreakerClosed},
		{"neutral", 1, false, BreakerClosed}, // invalid input says nothing
		{"fail", 1, false, BreakerOpen},
		{"allow", 5, false, BreakerOpen},
		{"allow", 11, true, BreakerHalfOpen}, // probe 1
		{"allow", 11, true, BreakerHalfOpen}, // probe 2
		{"allow", 11, false, BreakerHalfOpen},
		{"probe-fail", 12, false, BreakerOpen},
		{"allow", 21, false, BreakerOpen},
		{"allow", 22, true, BreakerHalfOpen},
		{"probe-ok", 22, false, BreakerClosed},
		{"allow", 22, true, BreakerClosed},
	}
	for i, s := range steps {
		switch s.do {
		case "allow":
			ok, _ := b.allow(at(s.sec))
			if ok != s.wantAllow {
				t.Fatalf("step %d: allow = %v, want %v", i, ok, s.wantAllow)
			}
		case "ok":
			b.record(outcomeSuccess, false, at(s.sec))
		case "fail":
			b.record(outcomeFailure, false, at(s.sec))
		case "neutral":
			b.record(outcomeNeutral, false, at(s.sec))
		case "probe-fail":
			b.record(outcomeFailure, true, at(s.sec))
		case "probe-ok":
			b.record(outcomeSuccess, true, at(s.sec))
		}
		if got := b.current(); got != s.wantState {
			t.Fatalf("step %d (%s): state %v, want %v", i, s.do, got, s.wantState)
		}
	}
	want := []string{"closed>open", "open>half-open", "half-open>open", "open>half-open", "half-open>closed"}
	if len(trans) != len(want) {
		t.Fatalf("transitions %v, want %v", trans, want)
	}
	for i := range want {
		if trans[i] != want[i] {
			t.Fatalf("transitions %v, want %v", trans, want)
		}
	}
}

func TestHealth(t *testing.T) {
	tests := []struct {
		name     string
		feed     func(h *health)
		degraded bool
	}{
		{"steady", func(h *health) {
			for range 50 {
				h.success(10*time.Millisecond, 100)
			}
		}, false},
		{"too few runs", func(h *health) {
			for range healthMinRuns - 1 {
				h.failure()
			}
		}, false},
		{"errors", func(h *health) {
			for range 30 {
				h.failure()
			}
		}, true},
		{"latency trend", func(h *health) {
			for range 50 {
				h.success(10*time.Millisecond, 100)
			}
			for range 10 {
				h.success(200*time.Millisecond, 100)
			}
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHealth()
			tt.feed(h)
			if got := h.degraded(); got != tt.degraded {
				t.Fatalf("degraded = %v (%+v), want %v", got, h.snapshot(), tt.degraded)
			}
		})
	}
	h := newHealth()
	h.success(100*time.Millisecond, 50)
	if s := h.snapshot(); s.Throughput != 500 || s.Latency != 100*time.Millisecond || s.ErrorRate != 0 || s.Runs != 1 {
		t.Fatalf("snapshot %+v, want 500 rows/s, 100ms, no errors, 1 run", s)
	}
}
