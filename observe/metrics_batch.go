package observe

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pipe-ml/pipe/stages"
)

// BatchMetrics turns the batch events of model stages into metrics: batch
// size, batch latency and queue wait histograms per stage, and flushes by
// reason. It implements [stages.BatchObserver]; pass it to the job
// in [pipeline.BuildOptions.Batches].
type BatchMetrics struct {
	rows    *prometheus.HistogramVec // stage
	latency *prometheus.HistogramVec // stage, backend
	wait    *prometheus.HistogramVec // stage
	flushes *prometheus.CounterVec   // stage, reason
	padding *prometheus.CounterVec   // stage
}

// NewBatchMetrics returns batch metrics registered on reg (never the
// global registry).
func NewBatchMetrics(reg prometheus.Registerer) (*BatchMetrics, error) {
	m := &BatchMetrics{
		rows: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pipe_model_batch_rows", Help: "Real rows per model batch (padding excluded).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 17),
		}, []string{"stage"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pipe_model_batch_duration_seconds", Help: "Time from submitting a model batch to its result: admission, backend queue and compute.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"stage", "backend"}),
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pipe_model_batch_wait_seconds", Help: "Time the oldest row of a model batch waited in the batcher: queue wait.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 18),
		}, []string{"stage"}),
		flushes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_model_batch_flushes_total", Help: "Model batches by why they left the batcher: full, preferred, deadline, end_of_input.",
		}, []string{"stage", "reason"}),
		padding: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_model_padding_rows_total", Help: "Rows added to model batches to reach a static batch dimension.",
		}, []string{"stage"}),
	}
	if reg != nil {
		if err := Register(reg, m.rows, m.latency, m.wait, m.flushes, m.padding); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveBatch records one completed model batch.
func (m *BatchMetrics) ObserveBatch(stage string, ev stages.BatchEvent) {
	m.rows.WithLabelValues(stage).Observe(float64(ev.Rows))
	m.latency.WithLabelValues(stage, ev.Backend).Observe(ev.Latency.Seconds())
	m.wait.WithLabelValues(stage).Observe(ev.Waited.Seconds())
	m.flushes.WithLabelValues(stage, ev.Reason.String()).Inc()
	if ev.Padding > 0 {
		m.padding.WithLabelValues(stage).Add(float64(ev.Padding))
	}
}

// Register registers every collector on reg and returns all failures
// joined.
func Register(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	var errs []error
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var _ stages.BatchObserver = (*BatchMetrics)(nil)
