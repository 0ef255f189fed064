package pipeline

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/stages"
)

// TestHistogramBuckets: an observation lands in the first bucket whose
// bound holds it, values above the last bound in the last bucket, and the
// sum and count add up.
func TestHistogramBuckets(t *testing.T) {
	h := newSizeHistogram() // 1, 2, 4, ... 65536
	for _, tc := range []struct {
		v      float64
		bucket int
	}{{0, 0}, {1, 0}, {1.5, 1}, {2, 1}, {3, 2}, {1000, 10}, {65536, 16}, {1e9, 16}} {
		before := snapshotCounts(h)
		h.Observe(tc.v)
		after := snapshotCounts(h)
		for i := range after {
			want := before[i]
			if i == tc.bucket {
				want++
			}
			if after[i] != want {
				t.Fatalf("Observe(%v): bucket %d holds %d, want %d (expected in bucket %d)", tc.v, i, after[i], want, tc.bucket)
			}
		}
	}
	_, _, total, sum := h.Snapshot()
	if total != 8 || sum != 0+1+1.5+2+3+1000+65536+1e9 {
		t.Fatalf("total %d sum %v", total, sum)
	}
}

func snapshotCounts(h *Histogram) []int64 {
	_, c, _, _ := h.Snapshot()
	return c
}

// TestBatchRecorder: every event reaches the stage's BatchStats (under
// concurrent writers, checked by -race) and the job's own observer.
func TestBatchRecorder(t *testing.T) {
	stats := newBatchStats()
	var fw forwarded
	r := batchRecorder{stats: stats, next: &fw}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				r.ObserveBatch("m", stages.BatchEvent{Backend: "cpu", Rows: 10, Padding: w % 2, Reason: batcher.Reason(i % 2),
					Latency: time.Millisecond, Waited: time.Microsecond})
			}
		}()
	}
	wg.Wait()
	if stats.Batches.Load() != 400 || stats.Rows.Load() != 4000 || stats.Padding.Load() != 200 {
		t.Fatalf("batches %d rows %d padding %d", stats.Batches.Load(), stats.Rows.Load(), stats.Padding.Load())
	}
	if stats.Flushes(batcher.Full) != 200 || stats.Flushes(batcher.Preferred) != 200 || stats.Flushes(batcher.Deadline) != 0 {
		t.Fatalf("flushes %d %d %d", stats.Flushes(batcher.Full), stats.Flushes(batcher.Preferred), stats.Flushes(batcher.Deadline))
	}
	if _, _, n, sum := stats.Latency.Snapshot(); n != 400 || math.Abs(sum-0.4) > 1e-9 {
		t.Fatalf("latency count %d sum %v", n, sum)
	}
	if stats.Backend() != "cpu" || fw.n != 400 {
		t.Fatalf("backend %q, forwarded %d", stats.Backend(), fw.n)
	}
	lat := batchLatency(stats)
	rep := lat.report()
	if rep == nil || rep.Count != 400 || rep.P50 < 0.0008 || rep.P50 > 0.0012 {
		t.Fatalf("report %+v: want 400 batches around 1ms", rep)
	}
}

type forwarded struct {
	mu sync.Mutex
	n  int
}

func (f *forwarded) ObserveBatch(string, stages.BatchEvent) {
	f.mu.Lock()
	f.n++
	f.mu.Unlock()
}
