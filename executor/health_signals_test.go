package executor

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/backendtest"
)

// fakeHealth is a settable health source.
type fakeHealth struct {
	mu sync.Mutex
	h  HealthReading
}

func (f *fakeHealth) set(h HealthReading) {
	f.mu.Lock()
	f.h = h
	f.mu.Unlock()
}

func (f *fakeHealth) read() (HealthReading, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.h, nil
}

// poll moves the fake clock past one interval and waits until the poller
// has read and applied the health and armed its next timer.
func (v *env) poll(every time.Duration) {
	v.t.Helper()
	n := len(v.clock.Afters())
	v.clock.Advance(every)
	v.clock.WaitAfters(v.t, n+1)
}

func TestHealthScalesAcceleratedLanes(t *testing.T) {
	const every = time.Second
	src := &fakeHealth{}
	v := newEnv(t, Options{Health: src.read, HealthInterval: every, MaxConcurrency: map[string]int{"ane": 4, "metal": 3, "cpu": 2}})
	v.clock.WaitAfters(t, 1) // the first reading is done
	// The executor knows accelerators by their capabilities, not names:
	// stand-ins for the Apple backends say what those declare.
	for _, name := range []string{"ane", "mps", "metal"} {
		v.fakeWithCaps(name, backendtest.Config{}, accelerator)
	}
	lanes := map[string]*lane{}
	for _, name := range []string{"ane", "metal", "cpu"} {
		l, err := v.e.laneFor(name)
		if err != nil {
			t.Fatal(err)
		}
		lanes[name] = l
	}
	steps := []struct {
		name   string
		factor float64
		want   map[string]int
	}{
		{"calm", 1, map[string]int{"ane": 4, "metal": 3, "cpu": 2}},
		{"serious heat halves", 0.5, map[string]int{"ane": 2, "metal": 1, "cpu": 2}},
		{"critical heat drops to one", 0, map[string]int{"ane": 1, "metal": 1, "cpu": 2}},
		{"recovers", 1, map[string]int{"ane": 4, "metal": 3, "cpu": 2}},
	}
	for _, st := range steps {
		src.set(HealthReading{Concurrency: st.factor, Summary: st.name})
		v.poll(every)
		for name, want := range st.want {
			if got := lanes[name].pool.MaxConcurrency(); got != want {
				t.Errorf("%s: %s concurrency %d, want %d", st.name, name, got, want)
			}
		}
		if sh, ok := v.e.SystemHealth(); !ok || sh.Reading.Summary != st.name || sh.Stopped {
			t.Errorf("%s: SystemHealth() = %+v, %v", st.name, sh, ok)
		}
	}

	// A lane created while the machine is hot starts scaled.
	src.set(HealthReading{Concurrency: 0.5})
	v.poll(every)
	l, err := v.e.laneFor("mps")
	if err != nil {
		t.Fatal(err)
	}
	if got := l.pool.MaxConcurrency(); got != 1 {
		t.Errorf("new mps lane while serious: concurrency %d, want 1 (half of 2)", got)
	}
}

func TestHealthEvictsUnusedModelsUnderPressure(t *testing.T) {
	const every = time.Second
	src := &fakeHealth{}
	v := newEnv(t, Options{Health: src.read, HealthInterval: every})
	v.clock.WaitAfters(t, 1)
	b := v.fake("t-ane", backendtest.Config{})
	kept := v.open(ModelSpec{Path: v.model("a.fake", "a"), Backends: []string{"t-ane"}})
	unused := v.open(ModelSpec{Path: v.model("b.fake", "bb"), Backends: []string{"t-ane"}})
	if err := unused.Close(); err != nil {
		t.Fatal(err)
	}
	if n := v.e.reg.loadedCount(); n != 2 {
		t.Fatalf("%d models loaded before pressure, want 2 (the unused one cached)", n)
	}

	src.set(HealthReading{Concurrency: 1, Evict: true})
	v.poll(every)
	if n := v.e.reg.loadedCount(); n != 1 {
		t.Fatalf("%d models loaded under pressure, want 1", n)
	}
	if b.Closes() != 1 {
		t.Errorf("%d sessions closed, want the unused one", b.Closes())
	}
	sh, _ := v.e.SystemHealth()
	if sh.Evictions != 1 || !sh.Reading.Evict {
		t.Errorf("SystemHealth() = %+v, want 1 eviction", sh)
	}
	if err := v.run(t.Context(), kept, 2); err != nil {
		t.Fatalf("the model in use stopped working: %v", err)
	}

	src.set(HealthReading{Concurrency: 1})
	v.poll(every)
	if sh, _ := v.e.SystemHealth(); sh.Evictions != 1 || sh.Reading.Evict {
		t.Errorf("after pressure: %+v", sh)
	}
}

func TestHealthPollerStopsWhereSignalsAreUnavailable(t *testing.T) {
	notMac := errors.New("not macOS")
	read := func() (HealthReading, error) {
		return HealthReading{}, fmt.Errorf("%w: %w", ErrNoHealthSignals, notMac)
	}
	v := newEnv(t, Options{Health: read, HealthInterval: time.Second})
	select {
	case <-v.e.sig.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the poller did not stop")
	}
	sh, ok := v.e.SystemHealth()
	if !ok || !sh.Stopped || sh.Polls != 1 || !errors.Is(sh.Err, notMac) {
		t.Fatalf("SystemHealth() = %+v, %v; want stopped after one reading", sh, ok)
	}
	if n := len(v.clock.Afters()); n != 0 {
		t.Errorf("the stopped poller armed %d timers", n)
	}
}

func TestHealthPollingOff(t *testing.T) {
	src := &fakeHealth{}
	for _, opts := range []Options{{HealthInterval: -1, Health: src.read}, {HealthInterval: time.Second}} {
		v := newEnv(t, opts)
		if _, ok := v.e.SystemHealth(); ok || v.e.sig != nil {
			t.Fatalf("SystemHealth() ok with polling off (%+v)", opts)
		}
	}
}

func TestScaledConcurrency(t *testing.T) {
	tests := []struct {
		base   int
		factor float64
		want   int
	}{{4, 1, 4}, {4, 0.5, 2}, {3, 0.5, 1}, {1, 0.5, 1}, {8, 0, 1}, {2, 1, 2}}
	for _, tt := range tests {
		if got := scaledConcurrency(tt.base, tt.factor); got != tt.want {
			t.Errorf("scaledConcurrency(%d, %v) = %d, want %d", tt.base, tt.factor, got, tt.want)
		}
	}
}
