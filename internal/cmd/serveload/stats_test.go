package main

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func msList(vs ...int) []time.Duration {
	out := make([]time.Duration, len(vs))
	for i, v := range vs {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i + 1
	}
	return out
}

func TestPercentile(t *testing.T) {
	cases := []struct {
		name string
		ds   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.99, 0},
		{"one value", msList(7), 0.5, 7 * time.Millisecond},
		{"p50 of 1..100", msList(seq(100)...), 0.50, 50 * time.Millisecond},
		{"p90 of 1..100", msList(seq(100)...), 0.90, 90 * time.Millisecond},
		{"p99 of 1..100", msList(seq(100)...), 0.99, 99 * time.Millisecond},
		{"p100 of 1..100", msList(seq(100)...), 1, 100 * time.Millisecond},
		// Nearest rank: 0.99 of 10 values is the 10th, not an interpolation.
		{"p99 of 1..10", msList(seq(10)...), 0.99, 10 * time.Millisecond},
		{"p50 of 1..10", msList(seq(10)...), 0.50, 5 * time.Millisecond},
		{"p50 of 1..11", msList(seq(11)...), 0.50, 6 * time.Millisecond},
		{"q near 0", msList(3, 4, 5), 0.0001, 3 * time.Millisecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := percentile(c.ds, c.q); got != c.want {
				t.Errorf("percentile(%v, %v) = %v, want %v", c.ds, c.q, got, c.want)
			}
		})
	}
}

// TestPercentilesOfSorts checks that unsorted input is sorted first.
func TestPercentilesOfSorts(t *testing.T) {
	p := percentilesOf(msList(9, 1, 5, 3, 7, 2, 8, 4, 6, 10))
	want := percentiles{P50: 5 * time.Millisecond, P90: 9 * time.Millisecond, P99: 10 * time.Millisecond, Max: 10 * time.Millisecond}
	if p != want {
		t.Errorf("percentilesOf = %+v, want %+v", p, want)
	}
}

func TestSummarize(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(startMS, latencyMS, code int, bad bool) sample {
		return sample{start: t0.Add(time.Duration(startMS) * time.Millisecond),
			latency: time.Duration(latencyMS) * time.Millisecond, code: code, badBody: bad}
	}
	samples := []sample{
		at(100, 30, http.StatusOK, false),
		at(0, 10, http.StatusOK, false), // the first start, out of order
		at(200, 20, http.StatusOK, false),
		at(300, 1, http.StatusTooManyRequests, false),
		at(310, 3, http.StatusTooManyRequests, false),
		at(400, 5, http.StatusOK, true), // 200 without outputs
		at(500, 7, http.StatusInternalServerError, false),
		at(990, 10, 0, false), // a transport error; its end is the last: 1000 ms
	}
	s := summarize(samples)
	check := func(name string, got, want any) {
		t.Helper()
		if got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	check("Requests", s.Requests, 8)
	check("OK", s.OK, 3)
	check("Rejected", s.Rejected, 2)
	check("BadBody", s.BadBody, 1)
	check("Errors", s.Errors, 1)
	check("Codes[200]", s.Codes[200], 4)
	check("Codes[500]", s.Codes[500], 1)
	check("Elapsed", s.Elapsed, time.Second)
	check("OKPerSecond", s.OKPerSecond, 3.0)
	check("SentPerSecond", s.SentPerSecond, 8.0)
	// Only the three good 200s count in the accepted latency.
	check("OK p50", s.OKLatency.P50, 20*time.Millisecond)
	check("OK p99", s.OKLatency.P99, 30*time.Millisecond)
	check("Rejected p50", s.RejectedLatency.P50, time.Millisecond)
	check("Rejected p99", s.RejectedLatency.P99, 3*time.Millisecond)
}

func TestSummarizeEmpty(t *testing.T) {
	s := summarize(nil)
	if s.Requests != 0 || s.OKPerSecond != 0 || s.OKLatency != (percentiles{}) {
		t.Errorf("summarize(nil) = %+v, want zeros", s)
	}
}

// TestLine checks the keys scripts/bench.sh reads.
func TestLine(t *testing.T) {
	s := summary{Requests: 5, OK: 3, Rejected: 2, Codes: map[int]int{429: 2, 200: 3}, Elapsed: 2 * time.Second,
		OKPerSecond: 1.5, SentPerSecond: 2.5,
		OKLatency:       percentiles{P50: 1500 * time.Microsecond, P90: 2 * time.Millisecond, P99: 3 * time.Millisecond},
		RejectedLatency: percentiles{P50: 250 * time.Microsecond, P99: 500 * time.Microsecond}}
	line := s.line("mode=closed clients=4")
	for _, kv := range []string{"mode=closed", " clients=4 ", " seconds=2.000 ", " requests=5 ", " ok=3 ", " rejected=2 ",
		" ok_per_second=1.5 ", " sent_per_second=2.5 ", " p50_ms=1.500 ", " p90_ms=2.000 ", " p99_ms=3.000 ",
		" rejected_p50_ms=0.250 ", " rejected_p99_ms=0.500 ", " codes=200:3,429:2"} {
		if !strings.Contains(line, kv) {
			t.Errorf("line %q lacks %q", line, kv)
		}
	}
}
