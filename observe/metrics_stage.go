package observe

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/pipe-ml/pipe/pipeline"
)

// StageCollector exports the runtime's per-stage figures at scrape time:
// rows, batches and bytes moved, errors, compute time and queue wait.
// It reads the live [pipeline.StageStats] of a built pipeline.
type StageCollector struct {
	stats []*pipeline.StageStats

	rowsIn, rowsOut, batchesIn, batchesOut *prometheus.Desc
	bytesOut, errors, busy, blocked        *prometheus.Desc
	expected, done                         *prometheus.Desc
}

var stageLabels = []string{"stage", "type"}

// NewStageCollector returns a collector over stats, as returned by
// [pipeline.Pipeline.Stats].
func NewStageCollector(stats []*pipeline.StageStats) *StageCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc(name, help, stageLabels, nil)
	}
	return &StageCollector{
		stats:      stats,
		rowsIn:     d("pipe_stage_rows_in_total", "Rows received by a stage."),
		rowsOut:    d("pipe_stage_rows_out_total", "Rows emitted by a stage (written, for sinks)."),
		batchesIn:  d("pipe_stage_batches_in_total", "Record batches received by a stage."),
		batchesOut: d("pipe_stage_batches_out_total", "Record batches emitted by a stage (written, for sinks)."),
		bytesOut:   d("pipe_stage_bytes_out_total", "Bytes of the record batches a stage emitted."),
		errors:     d("pipe_stage_errors_total", "Errors that ended a stage."),
		busy:       d("pipe_stage_compute_seconds_total", "Time spent inside a stage's own calls: compute."),
		blocked:    d("pipe_stage_queue_wait_seconds_total", "Time a stage waited for downstream to accept a batch: backpressure."),
		expected:   d("pipe_stage_expected_rows", "Rows a source will produce, known from metadata; absent when unknown."),
		done:       d("pipe_stage_done", "1 once a stage has finished, else 0."),
	}
}

// Describe sends every descriptor.
func (c *StageCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.rowsIn, c.rowsOut, c.batchesIn, c.batchesOut, c.bytesOut,
		c.errors, c.busy, c.blocked, c.expected, c.done} {
		ch <- d
	}
}

// Collect reads the live counters.
func (c *StageCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.stats {
		counter := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, s.ID, s.Type)
		}
		counter(c.rowsIn, float64(s.RowsIn.Load()))
		counter(c.rowsOut, float64(s.RowsOut.Load()))
		counter(c.batchesIn, float64(s.BatchesIn.Load()))
		counter(c.batchesOut, float64(s.BatchesOut.Load()))
		counter(c.bytesOut, float64(s.BytesOut.Load()))
		counter(c.errors, float64(s.Errors.Load()))
		counter(c.busy, s.Busy().Seconds())
		counter(c.blocked, s.Blocked().Seconds())
		if total := s.TotalRows.Load(); total >= 0 {
			ch <- prometheus.MustNewConstMetric(c.expected, prometheus.GaugeValue, float64(total), s.ID, s.Type)
		}
		done := 0.0
		if s.Done.Load() {
			done = 1
		}
		ch <- prometheus.MustNewConstMetric(c.done, prometheus.GaugeValue, done, s.ID, s.Type)
	}
}
