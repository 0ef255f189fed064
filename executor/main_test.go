package executor

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is a manual [Clock]: time moves only by Advance. It records
// every After duration so tests can check backoff.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
	afters  []time.Duration
}

type fakeWaiter struct {
	at time.Time
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Unix(1_700_000_000, 0)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.afters = append(c.afters, d)
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), ch: ch})
	return ch
}

// Advance moves time by d and fires the timers due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	keep := c.waiters[:0]
	for _, w := range c.waiters {
		if !w.at.After(c.now) {
			w.ch <- c.now
		} else {
			keep = append(keep, w)
		}
	}
	c.waiters = keep
}

// Afters returns the durations asked of After so far.
func (c *fakeClock) Afters() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.afters...)
}

// WaitAfters waits (in real time, up to 5s) until After has been called n
// times in all.
func (c *fakeClock) WaitAfters(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for len(c.Afters()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %d timers; have %v", n, c.Afters())
		}
		time.Sleep(time.Millisecond)
	}
}

// env is one test's executor, fakes and allocator.
type env struct {
	t     *testing.T
	e     *Executor
	mem   *memory.CheckedAllocator
	clock *fakeClock
	reg   *prometheus.Registry
	dir   string
}

// newEnv builds an executor with a fake clock, a rand of 0.5 and a fresh
// registry; it is closed, and the allocator checked, when t ends.
func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	v := &env{t: t, mem: memory.NewCheckedAllocator(memory.NewGoAllocator()), reg: prometheus.NewRegistry(), dir: t.TempDir()}
	if opts.Clock == nil {
		v.clock = newFakeClock()
		opts.Clock = v.clock
	}
	if opts.Rand == nil {
		opts.Rand = func() float64 { return 0.5 }
	}
	// The health poller and the canary are off unless a test asks for
	// them: they would add timers and reference runs to every test.
	if opts.Health == nil && opts.HealthInterval == 0 {
		opts.HealthInterval = -1
	}
	if opts.CanaryBackend == "" {
		opts.CanaryBackend = "none"
	}
	opts.Registerer = v.reg
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	v.e = e
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		v.mem.AssertSize(t, 0)
	})
	return v
}

// fake registers a fake backend named name for the test.
func (v *env) fake(name string, cfg backendtest.Config) *backendtest.Backend {
	cfg.Name = name
	return backendtest.New(cfg).Register(v.t)
}

// model writes a model file with the given content and returns its path.
func (v *env) model(name, content string) string {
	p := filepath.Join(v.dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		v.t.Fatal(err)
	}
	return p
}

// open opens spec and closes the model when the test ends.
func (v *env) open(spec ModelSpec) *Model {
	v.t.Helper()
	if spec.Stage == "" {
		spec.Stage = "score"
	}
	m, err := v.e.Open(context.Background(), spec)
	if err != nil {
		v.t.Fatalf("Open: %v", err)
	}
	v.t.Cleanup(func() { _ = m.Close() })
	return m
}

// run submits rows × 4 inputs and waits for the result; outputs are
// checked against 2x+1 when there is no error, and freed.
func (v *env) run(ctx context.Context, m *Model, rows int) error {
	v.t.Helper()
	in := backendtest.Input(v.mem, rows, 4)
	defer v.mem.Free(in.Data)
	c, err := m.Submit(ctx, []bridge.Tensor{in}, v.mem)
	if err != nil {
		return err
	}
	out, err := c.Result()
	defer backendtest.Free(v.mem, out)
	if err != nil {
		return err
	}
	v.checkOut(out, rows)
	return nil
}

// submitRows submits rows × 4 inputs without waiting; the caller frees the
// input's Data and the outputs once the call is done.
func (v *env) submitRows(m *Model, rows int) (*Call, bridge.Tensor) {
	v.t.Helper()
	in := backendtest.Input(v.mem, rows, 4)
	c, err := m.Submit(context.Background(), []bridge.Tensor{in}, v.mem)
	if err != nil {
		v.mem.Free(in.Data)
		v.t.Fatal(err)
	}
	return c, in
}

func (v *env) checkOut(out []bridge.Tensor, rows int) {
	v.t.Helper()
	if len(out) != 1 || len(out[0].Shape) != 2 || out[0].Shape[0] != int64(rows) {
		v.t.Fatalf("outputs %+v, want one [%d, 4] tensor", out, rows)
	}
	for i, y := range backendtest.Floats(out[0]) {
		if want := 2*float32(i) + 1; y != want {
			v.t.Fatalf("y[%d] = %v, want %v", i, y, want)
		}
	}
}

// value reads a counter, gauge or histogram count of the env's registry by name and
// labels; 0 when absent.
func (v *env) value(name string, labels map[string]string) float64 {
	v.t.Helper()
	mfs, err := v.reg.Gather()
	if err != nil {
		v.t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, mt := range mf.GetMetric() {
			for _, lp := range mt.GetLabel() {
				if want, ok := labels[lp.GetName()]; ok && want != lp.GetValue() {
					continue next
				}
			}
			switch {
			case mt.Counter != nil:
				return mt.Counter.GetValue()
			case mt.Gauge != nil:
				return mt.Gauge.GetValue()
			case mt.Histogram != nil:
				return float64(mt.Histogram.GetSampleCount())
			}
		}
	}
	return 0
}

func sortedNames(bs []BackendStatus) []string {
	var out []string
	for _, b := range bs {
		out = append(out, b.Name)
	}
	sort.Strings(out)
	return out
}

func writeFile(path, content string) error { return os.WriteFile(path, []byte(content), 0o644) }

func memoryForBench() memory.Allocator { return memory.NewGoAllocator() }
