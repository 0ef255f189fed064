package executor

import (
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

// capsBackend is a fake backend whose capabilities a test extends with the
// fields the executor selects, throttles and sizes by.
type capsBackend struct {
	*backendtest.Backend
	extra func(*bridge.Capabilities)
}

func (b capsBackend) Capabilities() bridge.Capabilities {
	c := b.Backend.Capabilities()
	b.extra(&c)
	return c
}

// fakeWithCaps registers a fake backend called name whose capabilities
// extra amends, and unregisters it when the test ends.
func (v *env) fakeWithCaps(name string, cfg backendtest.Config, extra func(*bridge.Capabilities)) *backendtest.Backend {
	v.t.Helper()
	cfg.Name = name
	b := backendtest.New(cfg)
	bridge.Register(capsBackend{b, extra})
	v.t.Cleanup(func() { bridge.Unregister(name) })
	return b
}

// accelerator is the capabilities of an Apple accelerator (ane, mps, metal).
func accelerator(c *bridge.Capabilities) {
	c.Accelerator = true
	c.DefaultConcurrency = 2
}

// TestBackendFromCapabilities shows that a new backend is placed in auto
// order, throttled by the machine's heat and given its concurrency purely
// from what its capabilities say: the executor knows no backend by name.
func TestBackendFromCapabilities(t *testing.T) {
	cases := []struct {
		name      string
		caps      func(*bridge.Capabilities)
		threads   int  // CPUThreadsPerRun
		wantAuto  bool // in AutoOrder()
		wantConc  int  // default concurrency
		wantHot   int  // concurrency under serious heat (factor 0.5)
		wantFirst bool // ahead of t-ref (rank 30) in auto
	}{
		{"t-npu", func(c *bridge.Capabilities) { c.AutoRank, c.Accelerator, c.DefaultConcurrency = 5, true, 4 }, 0, true, 4, 2, true},
		{"t-gpu-after-cpu", func(c *bridge.Capabilities) { c.AutoRank, c.Accelerator, c.DefaultConcurrency = 50, true, 2 }, 0, true, 2, 1, false},
		{"t-kernels", func(c *bridge.Capabilities) { c.Accelerator, c.DefaultConcurrency, c.Formats = true, 3, nil }, 0, false, 3, 1, false},
		{"t-plain", func(c *bridge.Capabilities) { c.AutoRank = 1 }, 0, true, 1, 1, true},
		{"t-host", func(c *bridge.Capabilities) { c.HostCores, c.DefaultConcurrency = true, 7 }, 1, false, max(1, runtime.GOMAXPROCS(0)), max(1, runtime.GOMAXPROCS(0)), false},
		{"t-host-threads", func(c *bridge.Capabilities) { c.HostCores = true }, 1 << 20, false, 1, 1, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			const every = time.Second
			src := &fakeHealth{h: HealthReading{Concurrency: 1, Summary: "calm"}}
			v := newEnv(t, Options{Health: src.read, HealthInterval: every, CPUThreadsPerRun: tc.threads})
			v.clock.WaitAfters(t, 1)
			v.fakeWithCaps(tc.name, backendtest.Config{}, tc.caps)
			// A reference backend ranked 30, between the cases' ranks.
			v.fakeWithCaps("t-ref", backendtest.Config{}, func(c *bridge.Capabilities) { c.AutoRank = 30 })

			order := AutoOrder()
			if got := slices.Contains(order, tc.name); got != tc.wantAuto {
				t.Errorf("AutoOrder() = %v; contains %s: %v, want %v", order, tc.name, got, tc.wantAuto)
			}
			if i, j := slices.Index(order, tc.name), slices.Index(order, "t-ref"); tc.wantAuto && (i < j) != tc.wantFirst {
				t.Errorf("AutoOrder() = %v: %s before t-ref: %v, want %v", order, tc.name, i < j, tc.wantFirst)
			}

			l, err := v.e.laneFor(tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := l.pool.MaxConcurrency(); got != tc.wantConc {
				t.Errorf("concurrency %d, want %d", got, tc.wantConc)
			}
			src.set(HealthReading{Concurrency: 0.5, Summary: "serious"})
			v.poll(every)
			if got := l.pool.MaxConcurrency(); got != tc.wantHot {
				t.Errorf("concurrency under serious heat %d, want %d", got, tc.wantHot)
			}
			src.set(HealthReading{Concurrency: 1, Summary: "calm"})
			v.poll(every)
			if got := l.pool.MaxConcurrency(); got != tc.wantConc {
				t.Errorf("concurrency after cooling %d, want %d", got, tc.wantConc)
			}

			// Only the fakes open .fake: auto places the model on the one
			// ranked first.
			m := v.open(ModelSpec{Path: v.model("m.fake", "m")})
			want := "t-ref"
			if tc.wantFirst {
				want = tc.name
			}
			if got, reason := m.Placement(); got != want {
				t.Errorf("auto placed the model on %q (%s), want %s", got, reason, want)
			}
		})
	}
}

// TestAutoOrderOfRealBackends checks the order the linked bridges declare:
// the cpu backend of bridge/ort is in auto, after any rank below its own.
func TestAutoOrderOfRealBackends(t *testing.T) {
	if got := AutoOrder(); !slices.Contains(got, "cpu") {
		t.Fatalf("AutoOrder() = %v, want cpu in it", got)
	}
}
