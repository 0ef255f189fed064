package main

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// sample is one request's outcome: when it started, how long it took,
// its HTTP status (0 when the request failed before a status came back)
// and whether a 200 answer lacked outputs.
type sample struct {
	start   time.Time
	latency time.Duration
	code    int
	badBody bool
}

// summary is what a load run reports: counts by outcome, the accepted
// requests' throughput and latency percentiles, and the latency of the
// requests refused with 429.
type summary struct {
	Requests int
	OK       int // 200 with outputs
	Rejected int // 429
	Errors   int // no status: connection or timeout errors
	BadBody  int // 200 without outputs
	Codes    map[int]int
	// Elapsed runs from the first request's start to the last one's end.
	Elapsed time.Duration
	// OKPerSecond is OK / Elapsed; SentPerSecond is Requests / Elapsed
	// (below an open loop's rate when the sender fell behind).
	OKPerSecond, SentPerSecond float64
	OKLatency                  percentiles
	// RejectedLatency is the latency of the 429 answers.
	RejectedLatency percentiles
}

// percentiles of one set of latencies (all zero for an empty set).
type percentiles struct {
	P50, P90, P99, Max time.Duration
}

// percentile returns the nearest-rank q-quantile (0 < q <= 1) of sorted:
// the smallest value that at least q of the values do not exceed. It
// returns 0 for an empty slice.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// percentilesOf sorts ds in place and returns its percentiles.
func percentilesOf(ds []time.Duration) percentiles {
	slices.Sort(ds)
	if len(ds) == 0 {
		return percentiles{}
	}
	return percentiles{P50: percentile(ds, 0.50), P90: percentile(ds, 0.90), P99: percentile(ds, 0.99), Max: ds[len(ds)-1]}
}

// summarize counts samples by outcome and computes the percentiles.
func summarize(samples []sample) summary {
	s := summary{Requests: len(samples), Codes: map[int]int{}}
	var ok, rejected []time.Duration
	var first, last time.Time
	for i, x := range samples {
		if end := x.start.Add(x.latency); i == 0 || end.After(last) {
			last = end
		}
		if i == 0 || x.start.Before(first) {
			first = x.start
		}
		if x.code == 0 {
			s.Errors++
			continue
		}
		s.Codes[x.code]++
		switch {
		case x.code == http.StatusOK && x.badBody:
			s.BadBody++
		case x.code == http.StatusOK:
			s.OK++
			ok = append(ok, x.latency)
		case x.code == http.StatusTooManyRequests:
			s.Rejected++
			rejected = append(rejected, x.latency)
		}
	}
	s.Elapsed = last.Sub(first)
	if s.Elapsed > 0 {
		s.OKPerSecond = float64(s.OK) / s.Elapsed.Seconds()
		s.SentPerSecond = float64(s.Requests) / s.Elapsed.Seconds()
	}
	s.OKLatency = percentilesOf(ok)
	s.RejectedLatency = percentilesOf(rejected)
	return s
}

// ms formats d in milliseconds with three decimals.
func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }

// line formats s as one line of key=value pairs (what scripts/bench.sh
// reads), prefixed with the run's settings.
func (s summary) line(settings string) string {
	codes := make([]int, 0, len(s.Codes))
	for c := range s.Codes {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	cs := make([]string, len(codes))
	for i, c := range codes {
		cs[i] = fmt.Sprintf("%d:%d", c, s.Codes[c])
	}
	return fmt.Sprintf("%s seconds=%.3f requests=%d ok=%d rejected=%d errors=%d bad_body=%d ok_per_second=%.1f sent_per_second=%.1f "+
		"p50_ms=%s p90_ms=%s p99_ms=%s max_ms=%s rejected_p50_ms=%s rejected_p99_ms=%s codes=%s",
		settings, s.Elapsed.Seconds(), s.Requests, s.OK, s.Rejected, s.Errors, s.BadBody, s.OKPerSecond, s.SentPerSecond,
		ms(s.OKLatency.P50), ms(s.OKLatency.P90), ms(s.OKLatency.P99), ms(s.OKLatency.Max),
		ms(s.RejectedLatency.P50), ms(s.RejectedLatency.P99), strings.Join(cs, ","))
}
