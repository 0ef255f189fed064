package model

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/pipe-ml/pipe/stages"
)

// Latency histogram layout: bucket i counts latencies up to
// latencyBase·2^(i/latencySteps); the last bucket takes everything above.
const (
	latencyBase    = 10 * time.Microsecond
	latencySteps   = 4  // buckets per doubling (~19% wide)
	latencyBuckets = 96 // up to ~10 minutes
)

// latencyHistogram is a fixed log-bucket histogram of batch latencies,
// safe to read while the stage runs.
type latencyHistogram struct {
	counts [latencyBuckets]atomic.Int64
}

func (h *latencyHistogram) observe(d time.Duration) {
	i := 0
	if d > latencyBase {
		i = int(math.Ceil(latencySteps * math.Log2(float64(d)/float64(latencyBase))))
	}
	h.counts[min(i, latencyBuckets-1)].Add(1)
}

// LatencyHistogram returns the distribution of the stage's batch
// latencies (submit to result) so far: counts[i] batches took at most
// upper[i] seconds and more than upper[i-1]. The bounds are the same for
// every model stage, so histograms of several stages add up bucket by
// bucket. It is safe to call while the stage runs and after Close.
func (s *Stage) LatencyHistogram() (upper []float64, counts []int64) {
	upper = make([]float64, latencyBuckets)
	counts = make([]int64, latencyBuckets)
	for i := range latencyBuckets {
		upper[i] = latencyBase.Seconds() * math.Exp2(float64(i)/latencySteps)
		counts[i] = s.lat.counts[i].Load()
	}
	return upper, counts
}

// observe records a completed batch.
func (s *Stage) observe(f *inflight, took time.Duration) {
	s.lat.observe(took)
	if s.obs == nil {
		return
	}
	backend, _ := s.run.Placement()
	s.obs.ObserveBatch(s.id, stages.BatchEvent{Backend: backend, Rows: f.batch.Rows, Padding: f.batch.Padding,
		Reason: f.batch.Reason, Waited: f.batch.Waited, Latency: took})
}
