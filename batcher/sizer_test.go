package batcher

import (
	"slices"
	"sync"
	"testing"
	"time"
)

// latencyModel is a synthetic model run: latency for a batch of r rows.
type latencyModel func(r int) time.Duration

func linear(overhead, perRow time.Duration) latencyModel {
	return func(r int) time.Duration { return overhead + time.Duration(r)*perRow }
}

// bestUnder returns the size in [lo, hi] with the best throughput whose
// latency is within budget, and that throughput; 0, 0 when none is.
func bestUnder(m latencyModel, lo, hi int, budget time.Duration) (int, float64) {
	best, thr := 0, 0.0
	for r := lo; r <= hi; r++ {
		if l := m(r); l <= budget {
			if x := float64(r) / l.Seconds(); x > thr {
				best, thr = r, x
			}
		}
	}
	return best, thr
}

// drive runs n batches at the sizer's target through m, with noise (a
// deterministic ±pct%) on the observed latency, and returns the targets.
func drive(s Sizer, m latencyModel, n int, pct int) []int {
	seed := uint32(1)
	out := make([]int, n)
	for i := range out {
		r := s.Target()
		out[i] = r
		lat := m(r)
		if pct > 0 {
			seed = seed*1664525 + 1013904223
			f := int64(seed>>8)%int64(2*pct+1) - int64(pct)
			lat += lat * time.Duration(f) / 100
		}
		s.Observe(r, lat)
	}
	return out
}

func TestAdaptiveConverges(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	tests := []struct {
		name    string
		a       Adaptive
		maxRows int
		model   latencyModel
		noise   int
		runs    int // runs to converge within
	}{
		{"linear, budget binds", Adaptive{TargetLatency: 10 * ms}, 4096, linear(ms, 20*us), 0, 120},
		{"linear, noisy", Adaptive{TargetLatency: 10 * ms}, 4096, linear(ms, 20*us), 4, 120},
		{"linear, odd range", Adaptive{TargetLatency: 4 * ms, MinRows: 3, MaxRows: 700}, 1000, linear(500*us, 9*us), 0, 120},
		{"flat then linear (accelerator)", Adaptive{TargetLatency: 5 * ms}, 8192, func(r int) time.Duration {
			return 2*ms + time.Duration(max(r-256, 0))*10*us
		}, 0, 120},
		{"throughput peaks inside the budget", Adaptive{TargetLatency: time.Second}, 8192, func(r int) time.Duration {
			return ms + time.Duration(r)*us + time.Duration(r*r)*10
		}, 0, 120},
		{"budget never binds", Adaptive{TargetLatency: time.Second}, 1000, linear(ms, us), 0, 60},
		{"latency capped: throughput flat above 512", Adaptive{TargetLatency: 50 * ms}, 4096, func(r int) time.Duration {
			return ms + time.Duration(min(r, 512))*20*us + time.Duration(max(r-512, 0))*25*us
		}, 0, 120},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := NewAdaptiveSizer(tt.a, tt.maxRows)
			if err != nil {
				t.Fatal(err)
			}
			lo, hi := tt.a.withDefaults(tt.maxRows)
			_, bestThr := bestUnder(tt.model, lo, hi, tt.a.TargetLatency)
			targets := drive(s, tt.model, 600, tt.noise)
			for i, r := range targets {
				if r < lo || r > hi {
					t.Fatalf("run %d: target %d outside [%d, %d]", i, r, lo, hi)
				}
			}
			// From run tt.runs on, the sizer runs within budget at 0.9x of
			// the best throughput or better, except for the few runs that
			// probe the next size up (4 runs in 200).
			counts := map[int]int{}
			bad := 0
			for _, r := range targets[tt.runs:] {
				counts[r]++
				if lat := tt.model(r); lat > tt.a.TargetLatency || float64(r)/lat.Seconds() < 0.9*bestThr {
					bad++
				}
			}
			if n := len(targets) - tt.runs; bad*100 > n*3 {
				t.Errorf("%d of %d runs after run %d were over budget or below 0.9x of the best %.0f rows/s (targets: %v)",
					bad, n, tt.runs, bestThr, counts)
			}
			final := s.Target()
			if lat := tt.model(final); lat > tt.a.TargetLatency || float64(final)/lat.Seconds() < 0.9*bestThr {
				t.Errorf("final target %d: latency %v, %.0f rows/s; best %.0f", final, lat, float64(final)/lat.Seconds(), bestThr)
			}
			first := slices.Index(targets, final)
			t.Logf("final target %d: %.0f rows/s, best %.0f; %d sizes measured; first at run %d; %d runs off after run %d",
				final, float64(final)/tt.model(final).Seconds(), bestThr, len(s.Estimates()), first, bad, tt.runs)
		})
	}
}

func TestAdaptiveNothingWithinBudget(t *testing.T) {
	s, err := NewAdaptiveSizer(Adaptive{TargetLatency: time.Millisecond, MinRows: 4}, 64)
	if err != nil {
		t.Fatal(err)
	}
	drive(s, linear(5*time.Millisecond, time.Microsecond), 50, 0)
	if s.Target() != 4 {
		t.Errorf("Target() = %d, want MinRows 4 when no size is within budget", s.Target())
	}
}

func TestAdaptiveFollowsDrift(t *testing.T) {
	ms, us := time.Millisecond, time.Microsecond
	budget := 10 * ms
	s, err := NewAdaptiveSizer(Adaptive{TargetLatency: budget}, 4096)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name  string
		model latencyModel
	}{
		{"initial", linear(ms, 20*us)},
		{"faster", linear(ms, 8*us)},
		{"slower", linear(2*ms, 40*us)},
	} {
		drive(s, m.model, 1500, 0)
		_, bestThr := bestUnder(m.model, 1, 4096, budget)
		r := s.Target()
		thr := float64(r) / m.model(r).Seconds()
		if m.model(r) > budget || thr < 0.85*bestThr {
			t.Errorf("%s: target %d: latency %v, %.0f rows/s; best %.0f", m.name, r, m.model(r), thr, bestThr)
		}
	}
}

func TestAdaptiveDeterministic(t *testing.T) {
	a := Adaptive{TargetLatency: 3 * time.Millisecond, MinRows: 2, MaxRows: 900}
	m := linear(400*time.Microsecond, 7*time.Microsecond)
	s1, _ := NewAdaptiveSizer(a, 1000)
	s2, _ := NewAdaptiveSizer(a, 1000)
	t1, t2 := drive(s1, m, 400, 5), drive(s2, m, 400, 5)
	for i := range t1 {
		if t1[i] != t2[i] {
			t.Fatalf("run %d: targets %d and %d from the same observations", i, t1[i], t2[i])
		}
	}
	// Observations of sizes that are not probed are ignored.
	before, estBefore := s1.Target(), s1.Estimates()
	s1.Observe(123457, time.Hour)
	s1.Observe(before+1, time.Hour)
	if s1.Target() != before || len(s1.Estimates()) != len(estBefore) {
		t.Error("an unprobed size changed the sizer")
	}
	est := s1.Estimates()
	if len(est) < 3 {
		t.Fatalf("Estimates() = %v", est)
	}
	for i, e := range est {
		if e.Observations == 0 || e.Latency <= 0 || e.Throughput <= 0 || (i > 0 && e.Rows <= est[i-1].Rows) {
			t.Errorf("estimate %d = %+v", i, e)
		}
	}
}

func TestAdaptiveConcurrent(t *testing.T) {
	s, err := NewAdaptiveSizer(Adaptive{TargetLatency: time.Millisecond}, 256)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				r := s.Target()
				s.Observe(r, time.Duration(r)*5*time.Microsecond)
			}
		})
	}
	wg.Wait()
	if r := s.Target(); r < 1 || r > 256 {
		t.Errorf("Target() = %d", r)
	}
}

func TestFixedSizer(t *testing.T) {
	f := Fixed(64)
	f.Observe(64, time.Hour)
	if f.Target() != 64 {
		t.Errorf("Fixed(64).Target() = %d", f.Target())
	}
	if _, err := NewAdaptiveSizer(Adaptive{}, 64); err == nil {
		t.Error("NewAdaptiveSizer accepted a zero target latency")
	}
	b, _, _ := newTest(t, Policy{MaxRows: 64, Adaptive: &Adaptive{TargetLatency: time.Millisecond, MinRows: 8}})
	if _, ok := b.Sizer().(*AdaptiveSizer); !ok || b.Target() != 8 {
		t.Errorf("adaptive policy: sizer %T, target %d; want *AdaptiveSizer starting at 8", b.Sizer(), b.Target())
	}
}

// TestCappedLimitsBatches: a Capped sizer keeps batches at its limit, which
// may change between batches; rows stay in order.
func TestCappedLimitsBatches(t *testing.T) {
	c := NewCapped(Fixed(100), 0)
	if c.Limit() != 1 {
		t.Fatalf("limit %d, want 1 (at least one row)", c.Limit())
	}
	b, _, mem := newTest(t, Policy{MaxRows: 100}, WithSizer(c))
	add(b, mem, 0, 250) // one input, sliced
	next := 0
	take := func(want int) {
		t.Helper()
		bt, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		defer bt.Release()
		if bt.Rows != want {
			t.Fatalf("batch of %d rows, want %d", bt.Rows, want)
		}
		if err := checkBatch(bt, next); err != nil {
			t.Fatal(err)
		}
		next += bt.Rows
	}
	take(1)
	c.SetLimit(30)
	take(30)
	take(30)
	c.SetLimit(1000) // above the inner target: the inner target wins
	take(100)
	c.Observe(100, time.Millisecond) // passes through (Fixed ignores it)
	if b.Target() != 100 {
		t.Fatalf("target %d, want 100", b.Target())
	}
}
