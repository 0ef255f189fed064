package observe

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/pipeline"
)

// BatchCollector exports the batch figures of a pipeline's model stages at
// scrape time: batch size, batch latency and queue wait histograms per
// stage, flushes by reason and padding rows. It reads the same
// [pipeline.BatchStats] the run report reads; the histograms keep their
// buckets doubling (every fourth of the finer buckets the report reads).
type BatchCollector struct {
	stats []*pipeline.StageStats

	rows, latency, wait, flushes, padding *prometheus.Desc
}

// NewBatchCollector returns a collector over the stages of stats that run
// models, as returned by [pipeline.Pipeline.Stats].
func NewBatchCollector(stats []*pipeline.StageStats) *BatchCollector {
	return &BatchCollector{
		stats: stats,
		rows: prometheus.NewDesc("pipe_model_batch_rows", "Real rows per model batch (padding excluded).",
			[]string{"stage"}, nil),
		latency: prometheus.NewDesc("pipe_model_batch_duration_seconds", "Time from submitting a model batch to its result: admission, backend queue and compute.",
			[]string{"stage", "backend"}, nil),
		wait: prometheus.NewDesc("pipe_model_batch_wait_seconds", "Time the oldest row of a model batch waited in the batcher: queue wait.",
			[]string{"stage"}, nil),
		flushes: prometheus.NewDesc("pipe_model_batch_flushes_total", "Model batches by why they left the batcher: full, preferred, deadline, end_of_input.",
			[]string{"stage", "reason"}, nil),
		padding: prometheus.NewDesc("pipe_model_padding_rows_total", "Rows added to model batches to reach a static batch dimension.",
			[]string{"stage"}, nil),
	}
}

// Describe sends every descriptor.
func (c *BatchCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rows, c.latency, c.wait, c.flushes, c.padding} {
		ch <- d
	}
}

// Collect reads the live figures of every model stage that ran a batch.
func (c *BatchCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats {
		b := s.Batches
		if b == nil || b.Batches.Load() == 0 {
			continue
		}
		ch <- constHistogram(c.rows, b.Size, 1, s.ID)
		ch <- constHistogram(c.latency, b.Latency, 4, s.ID, b.Backend())
		ch <- constHistogram(c.wait, b.Wait, 4, s.ID)
		for r := range batcher.Reason(batcher.NumReasons) {
			if n := b.Flushes(r); n > 0 {
				ch <- prometheus.MustNewConstMetric(c.flushes, prometheus.CounterValue, float64(n), s.ID, r.String())
			}
		}
		if n := b.Padding.Load(); n > 0 {
			ch <- prometheus.MustNewConstMetric(c.padding, prometheus.CounterValue, float64(n), s.ID)
		}
	}
}

// constHistogram exports h with every step-th of its bucket bounds
// (cumulative counts, as Prometheus wants them); the observations above
// the last exported bound count only in the total.
func constHistogram(d *prometheus.Desc, h *pipeline.Histogram, step int, labels ...string) prometheus.Metric {
	upper, counts, total, sum := h.Snapshot()
	buckets := make(map[float64]uint64, len(upper)/step+1)
	var cum uint64
	for i, n := range counts {
		cum += uint64(n)
		if (i+1)%step == 0 && i < len(upper)-1 {
			buckets[upper[i]] = cum
		}
	}
	return prometheus.MustNewConstHistogram(d, uint64(total), sum, buckets, labels...)
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
