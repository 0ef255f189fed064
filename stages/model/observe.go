package model

import (
	"time"

	"github.com/pipe-ml/pipe/stages"
)

// observe tells the job's observer about a completed batch. The stage
// keeps no batch figures of its own: the runtime records them from these
// events (pipeline.BatchStats), for the run report and the metrics.
func (s *Stage) observe(f *inflight, took time.Duration) {
	if s.obs == nil {
		return
	}
	backend, _ := s.run.Placement()
	s.obs.ObserveBatch(s.id, stages.BatchEvent{Backend: backend, Rows: f.batch.Rows, Padding: f.batch.Padding,
		Reason: f.batch.Reason, Waited: f.batch.Waited, Latency: took})
}
