package serve

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// unknownModel labels requests for models the server does not have, so
// clients cannot grow the label set.
const unknownModel = "_unknown"

// metrics are the server's collectors. Errors are requests_total with an
// outcome other than "ok"; rejections are requests refused before the model
// saw them.
type metrics struct {
	requests *prometheus.CounterVec
	rejected *prometheus.CounterVec
	duration *prometheus.HistogramVec
	queue    *prometheus.HistogramVec
	compute  *prometheus.HistogramVec
	inflight *prometheus.GaugeVec
}

// newMetrics creates the collectors and registers them with reg.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	buckets := prometheus.ExponentialBuckets(0.0005, 2, 16)
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_serve_requests_total", Help: "Inference requests answered, by model, protocol and outcome.",
		}, []string{"model", "protocol", "outcome"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_serve_rejected_total", Help: "Inference requests refused before the model ran them, by reason.",
		}, []string{"model", "reason"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pipe_serve_request_duration_seconds", Help: "Time from admission to answer of inference requests.", Buckets: buckets,
		}, []string{"model", "protocol"}),
		queue: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pipe_serve_queue_duration_seconds", Help: "Time requests waited for a batch, as the model reports it.", Buckets: buckets,
		}, []string{"model"}),
		compute: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pipe_serve_compute_duration_seconds", Help: "Time the batches of requests ran, as the model reports it.", Buckets: buckets,
		}, []string{"model"}),
		inflight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pipe_serve_inflight_requests", Help: "Inference requests admitted and not yet answered.",
		}, []string{"model"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.rejected, m.duration, m.queue, m.compute, m.inflight} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe records one finished request. model is "" for an unknown model;
// ran says whether the model's Infer was called (start is then meaningful).
func (m *metrics) observe(model, protocol string, ran bool, start time.Time, resp *InferResponse, err error) {
	if model == "" {
		model = unknownModel
	}
	o := classify(err)
	m.requests.WithLabelValues(model, protocol, o.label).Inc()
	if !ran {
		m.rejected.WithLabelValues(model, o.label).Inc()
		return
	}
	m.duration.WithLabelValues(model, protocol).Observe(time.Since(start).Seconds())
	if resp == nil {
		return
	}
	if q := resp.Timing.Queue; q > 0 {
		m.queue.WithLabelValues(model).Observe(q.Seconds())
	}
	if c := resp.Timing.Compute; c > 0 {
		m.compute.WithLabelValues(model).Observe(c.Seconds())
	}
}
