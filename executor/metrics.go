package executor

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the executor's Prometheus collectors. They are created by
// [New] and registered on Options.Registerer when one is given.
type metrics struct {
	runs        *prometheus.CounterVec   // backend, model, stage
	runErrors   *prometheus.CounterVec   // backend, model, stage
	latency     *prometheus.HistogramVec // backend, model, stage
	inFlight    *prometheus.GaugeVec     // backend, model, stage
	retries     *prometheus.CounterVec   // backend, model, stage
	fallbacks   *prometheus.CounterVec   // backend, model, stage
	waits       *prometheus.CounterVec   // model, stage
	rejections  *prometheus.CounterVec   // model, stage
	breaker     *prometheus.GaugeVec     // backend, model
	transitions *prometheus.CounterVec   // backend, model
	bytes       prometheus.Gauge
	calls       prometheus.Gauge
}

var (
	labelsRun     = []string{"backend", "model", "stage"}
	labelsStage   = []string{"model", "stage"}
	labelsBreaker = []string{"backend", "model"}
)

func newMetrics() *metrics {
	return &metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_backend_runs_total", Help: "Model runs sent to a backend, failed ones included.",
		}, labelsRun),
		runErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_backend_run_errors_total", Help: "Model runs that failed, by the backend that failed them.",
		}, labelsRun),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pipe_backend_run_duration_seconds", Help: "Time of one model run on a backend.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16),
		}, labelsRun),
		inFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pipe_backend_runs_in_flight", Help: "Model runs executing on a backend now.",
		}, labelsRun),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_backend_retries_total", Help: "Runs retried after a transient or resource-exhausted error.",
		}, labelsRun),
		fallbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_backend_fallbacks_total", Help: "Calls moved away from this backend to the next one of the model.",
		}, labelsRun),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_backend_admission_waits_total", Help: "Calls that waited for admission (in-flight calls or bytes at the limit).",
		}, labelsStage),
		rejections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_backend_admission_rejections_total", Help: "Calls refused after waiting longer than the admission timeout.",
		}, labelsStage),
		breaker: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "pipe_backend_breaker_state", Help: "Circuit breaker state per model and backend: 0 closed, 1 half-open, 2 open.",
		}, labelsBreaker),
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pipe_backend_breaker_transitions_total", Help: "Circuit breaker state changes per model and backend.",
		}, labelsBreaker),
		bytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pipe_backend_in_flight_bytes", Help: "Bytes of model tensors (inputs and estimated outputs) admitted and not yet completed.",
		}),
		calls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "pipe_backend_admitted_calls", Help: "Calls admitted and not yet completed.",
		}),
	}
}

func (m *metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.runs, m.runErrors, m.latency, m.inFlight, m.retries, m.fallbacks,
		m.waits, m.rejections, m.breaker, m.transitions, m.bytes, m.calls}
}

// register registers every collector on r; an already registered
// identical collector is an error too, since two executors must not share
// a registry without wrapping it.
func (m *metrics) register(r prometheus.Registerer, extra ...prometheus.Collector) error {
	var errs []error
	for _, c := range append(m.collectors(), extra...) {
		if err := r.Register(c); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// laneCollector exports each backend subpool's pond counters at scrape
// time: calls queued and calls running.
type laneCollector struct {
	e              *Executor
	queued, active *prometheus.Desc
}

func newLaneCollector(e *Executor) *laneCollector {
	return &laneCollector{
		e: e,
		queued: prometheus.NewDesc("pipe_backend_queued_calls",
			"Calls waiting in a backend's bounded queue for a free slot.", []string{"backend"}, nil),
		active: prometheus.NewDesc("pipe_backend_busy_workers",
			"Workers of a backend's subpool executing a call (running, retrying or backing off).", []string{"backend"}, nil),
	}
}

// Describe sends the two descriptors.
func (c *laneCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.queued
	ch <- c.active
}

// Collect reads the subpools' counters.
func (c *laneCollector) Collect(ch chan<- prometheus.Metric) {
	c.e.mu.Lock()
	defer c.e.mu.Unlock()
	for name, l := range c.e.lanes {
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(l.pool.WaitingTasks()), name)
		ch <- prometheus.MustNewConstMetric(c.active, prometheus.GaugeValue, float64(l.pool.RunningWorkers()), name)
	}
}

// laneMetrics are the children of the run metrics for one (backend, model,
// stage), resolved once at Open so the hot path does no label lookup.
type laneMetrics struct {
	runs, runErrors, retries, fallbacks prometheus.Counter
	latency                             prometheus.Observer
	inFlight                            prometheus.Gauge
}

func (m *metrics) lane(backend, model, stage string) *laneMetrics {
	return &laneMetrics{
		runs:      m.runs.WithLabelValues(backend, model, stage),
		runErrors: m.runErrors.WithLabelValues(backend, model, stage),
		retries:   m.retries.WithLabelValues(backend, model, stage),
		fallbacks: m.fallbacks.WithLabelValues(backend, model, stage),
		latency:   m.latency.WithLabelValues(backend, model, stage),
		inFlight:  m.inFlight.WithLabelValues(backend, model, stage),
	}
}
