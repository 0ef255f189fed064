package model

import (
	"math"
	"sync/atomic"
	"time"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/stages"
)

// ObserverService is the key of [stages.Env.Services] under which the
// runtime may pass a [BatchObserver]. The stage records nothing itself
// beyond its run report; whoever observes turns the events into metrics
// and progress.
const ObserverService = "model.batch_observer"

// BatchObserver is told about every batch a model stage completes. It is
// called from the stage's Run goroutine and must not block.
type BatchObserver interface {
	ObserveBatch(stage string, ev BatchEvent)
}

// BatchEvent describes one completed model batch.
type BatchEvent struct {
	// Backend is where the stage's model was placed.
	Backend string
	// Rows are the real rows of the batch; Padding the rows added to reach
	// a static batch dimension.
	Rows, Padding int
	// Reason is why the batch left the batcher.
	Reason batcher.Reason
	// Waited is how long the oldest row waited in the batcher: queue wait.
	Waited time.Duration
	// Latency is the time from submitting the batch to its result:
	// admission, backend queue and compute.
	Latency time.Duration
}

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

// observerOf returns the job's batch observer, if it passed one.
func observerOf(env *stages.Env) BatchObserver {
	obs, _ := env.Services[ObserverService].(BatchObserver)
	return obs
}

// observe records a completed batch.
func (s *Stage) observe(f *inflight, took time.Duration) {
	s.lat.observe(took)
	if s.obs == nil {
		return
	}
	backend, _ := s.run.Placement()
	s.obs.ObserveBatch(s.id, BatchEvent{Backend: backend, Rows: f.batch.Rows, Padding: f.batch.Padding,
		Reason: f.batch.Reason, Waited: f.batch.Waited, Latency: took})
}
