package stages

import (
	"time"

	"github.com/pipe-ml/pipe/batcher"
)

// BatchObserver is told about every batch a model stage completes. The
// stage records nothing itself beyond its run report; whoever observes
// (the metrics endpoint, progress, `pipe bench`) turns the events into
// metrics. It is called from the stage's Run goroutine and must not block.
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
