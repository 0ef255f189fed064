package pipeline

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/stages"
)

// BatchStats are the figures of a model stage's batches over a run (every
// work unit's instance adds to the same values). The runtime records them
// from the stage's batch events ([stages.BatchObserver]); the run report
// and the Prometheus collectors of package observe both read them, so a
// new per-batch figure is one field here, one line in [BatchStats.observe]
// and one reader in each. Safe to read while the job runs.
type BatchStats struct {
	// Batches, Rows and Padding count the batches, their real rows and the
	// rows added to reach a static batch dimension.
	Batches, Rows, Padding atomic.Int64
	// Latency is the time from submitting a batch to its result
	// (admission, backend queue, compute); Wait how long the oldest row
	// of a batch waited in the batcher; Size the real rows per batch.
	Latency, Wait, Size *Histogram

	flushes [batcher.NumReasons]atomic.Int64
	mu      sync.Mutex
	backend string // of the latest batch
}

// NewBatchStats returns empty batch figures. The runtime makes those of
// its model stages itself; others (tests, pipe bench) record into theirs
// with ObserveBatch.
func NewBatchStats() *BatchStats { return newBatchStats() }

// ObserveBatch records one batch of a stage: BatchStats is a
// [stages.BatchObserver].
func (b *BatchStats) ObserveBatch(_ string, ev stages.BatchEvent) { b.observe(ev) }

func newBatchStats() *BatchStats {
	return &BatchStats{Latency: newDurationHistogram(), Wait: newDurationHistogram(), Size: newSizeHistogram()}
}

// Flushes returns how many batches left the batcher for reason r.
func (b *BatchStats) Flushes(r batcher.Reason) int64 {
	if int(r) >= len(b.flushes) {
		return 0
	}
	return b.flushes[r].Load()
}

// Backend returns where the stage's latest batch ran ("" before the first).
func (b *BatchStats) Backend() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.backend
}

func (b *BatchStats) observe(ev stages.BatchEvent) {
	b.Batches.Add(1)
	b.Rows.Add(int64(ev.Rows))
	b.Padding.Add(int64(ev.Padding))
	if int(ev.Reason) < len(b.flushes) {
		b.flushes[ev.Reason].Add(1)
	}
	b.Latency.Observe(ev.Latency.Seconds())
	b.Wait.Observe(ev.Waited.Seconds())
	b.Size.Observe(float64(ev.Rows))
	b.mu.Lock()
	b.backend = ev.Backend
	b.mu.Unlock()
}

// batchRecorder is the [stages.BatchObserver] the runtime gives a model
// stage: it records into the stage's [BatchStats] and passes the event on
// to the job's own observer, if any.
type batchRecorder struct {
	stats *BatchStats
	next  stages.BatchObserver
}

func (r batchRecorder) ObserveBatch(stage string, ev stages.BatchEvent) {
	r.stats.observe(ev)
	if r.next != nil {
		r.next.ObserveBatch(stage, ev)
	}
}

// Histogram counts observations in fixed buckets growing by a constant
// factor, so that histograms of several stages add up bucket by bucket and
// percentiles are read within a known relative error. Safe for concurrent
// use.
type Histogram struct {
	upper  []float64      // bucket upper bounds; the last bucket takes everything above
	counts []atomic.Int64 // len(upper)
	sum    atomic.Uint64  // float64 bits of the sum of observations
}

// Duration buckets: 10µs·2^(i/4), ~19% wide, up to ~10 minutes.
func newDurationHistogram() *Histogram {
	return newHistogram(time.Duration(10*time.Microsecond).Seconds(), 4, 96)
}

// Size buckets: 1, 2, 4, ... 65536 rows.
func newSizeHistogram() *Histogram { return newHistogram(1, 1, 17) }

func newHistogram(base float64, perDoubling, n int) *Histogram {
	h := &Histogram{upper: make([]float64, n), counts: make([]atomic.Int64, n)}
	for i := range n {
		h.upper[i] = base * math.Exp2(float64(i)/float64(perDoubling))
	}
	return h
}

// Observe adds one observation.
func (h *Histogram) Observe(v float64) {
	i := 0
	for i < len(h.upper)-1 && v > h.upper[i] {
		i++
	}
	h.counts[i].Add(1)
	for {
		old := h.sum.Load()
		if h.sum.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// Quantile returns the q-th quantile (0 to 1) of the observations counted
// in counts, buckets bounded by upper as [Histogram.Snapshot] returns them,
// interpolated within its bucket; 0 when counts are all 0.
func Quantile(upper []float64, counts []int64, q float64) float64 {
	var total int64
	for _, c := range counts {
		total += c
	}
	if total == 0 || len(upper) != len(counts) {
		return 0
	}
	return quantile(upper, counts, total, q)
}

// Snapshot returns the bucket upper bounds, the count in each bucket
// (counts[i] observations were above upper[i-1] and at most upper[i]; the
// last bucket also holds those above its bound), the total count and the
// sum of the observations.
func (h *Histogram) Snapshot() (upper []float64, counts []int64, total int64, sum float64) {
	counts = make([]int64, len(h.counts))
	for i := range h.counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	return h.upper, counts, total, math.Float64frombits(h.sum.Load())
}
