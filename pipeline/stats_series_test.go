package pipeline

import (
	"testing"
	"time"

	"github.com/pipe-ml/pipe/stages"
)

// TestSeriesRecorder samples fake counters on a fake clock: every
// interval is kept until the limit, then pairs merge, and the sums still
// match the counters.
func TestSeriesRecorder(t *testing.T) {
	tests := []struct {
		name        string
		samples     int
		limit       int
		wantPoints  int
		wantEveryMs int
	}{
		{"under the limit", 10, 600, 10, 250},
		{"at the limit", 600, 600, 600, 250},
		{"one past the limit halves", 601, 600, 301, 500},
		{"long runs halve again", 2000, 600, 501, 1000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			src := &StageStats{ID: "src", Kind: stages.KindSource.String()}
			model := &StageStats{ID: "m", Kind: stages.KindOperator.String(), Batches: newBatchStats()}
			start := time.Unix(1000, 0)
			r := newSeriesRecorder([]*StageStats{src, model}, start, 250*time.Millisecond, tc.limit)
			for i := 1; i <= tc.samples; i++ {
				src.RowsOut.Add(int64(i))
				src.BusyNanos.Add(int64(time.Millisecond))
				model.Batches.observe(stages.BatchEvent{Rows: 8, Latency: 4 * time.Millisecond})
				r.sample(start.Add(time.Duration(i)*250*time.Millisecond), i == tc.samples)
			}
			rep := r.report()
			n := len(rep.TSeconds)
			if n != tc.wantPoints {
				t.Fatalf("%d points, want %d", n, tc.wantPoints)
			}
			if got := int(rep.IntervalSeconds * 1000); got != tc.wantEveryMs {
				t.Errorf("interval %dms, want %dms", got, tc.wantEveryMs)
			}
			s, m := rep.Stages[0], rep.Stages[1]
			var rows, batches int64
			var busy float64
			for i := range s.Rows {
				rows, busy = rows+s.Rows[i], busy+s.BusySeconds[i]
			}
			for _, b := range m.Batches {
				batches += b
			}
			if rows != src.RowsOut.Load() || batches != int64(tc.samples) || int(busy*1000+0.5) != tc.samples {
				t.Errorf("sums: rows %d (want %d), batches %d, busy %gs; want one batch and 1ms per sample", rows, src.RowsOut.Load(), batches, busy)
			}
			if p50 := m.LatencyP50Seconds[0]; p50 < 0.003 || p50 > 0.005 || m.MeanBatchRows[0] != 8 {
				t.Errorf("model interval: p50 %gs mean %g rows, want about 4ms and 8 rows", p50, m.MeanBatchRows[0])
			}
			for i := 1; i < n; i++ {
				if rep.TSeconds[i] < rep.TSeconds[i-1] {
					t.Fatalf("t_seconds not increasing at %d: %v", i, rep.TSeconds[i-1:i+1])
				}
			}
		})
	}
}
