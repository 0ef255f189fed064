package serve

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Server answers the Open Inference Protocol over REST ([Server.Handler])
// and gRPC ([Server.RegisterGRPC]) for a fixed set of models.
type Server struct {
	opts     Options
	models   map[string]*entry
	names    []string
	metrics  *metrics
	gatherer prometheus.Gatherer
	ready    atomic.Bool

	mu       sync.Mutex // guards draining and calls to inflight.Add
	draining bool
	inflight sync.WaitGroup
	active   atomic.Int64

	hardStop context.Context // cancelled when a drain times out
	cut      context.CancelFunc
}

// entry is one model and its admission counter.
type entry struct {
	model  Model
	md     ModelMetadata
	queued atomic.Int64
}

// New returns a server for models, not ready until [Server.SetReady]. Model
// names must be unique and non-empty, and each tensor's datatype supported.
func New(models []Model, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	s := &Server{opts: opts, models: make(map[string]*entry, len(models))}
	for _, m := range models {
		md := m.Metadata()
		if err := checkMetadata(&md); err != nil {
			return nil, err
		}
		if s.models[md.Name] != nil {
			return nil, fmt.Errorf("serve: model %q given twice", md.Name)
		}
		s.models[md.Name] = &entry{model: m, md: md}
		s.names = append(s.names, md.Name)
	}
	reg, gat := opts.Registerer, opts.Gatherer
	if reg == nil {
		r := prometheus.NewRegistry()
		reg, gat = r, r
	}
	if g, ok := reg.(prometheus.Gatherer); ok && gat == nil {
		gat = g
	}
	if gat == nil {
		gat = prometheus.NewRegistry()
	}
	m, err := newMetrics(reg)
	if err != nil {
		return nil, fmt.Errorf("serve: register metrics: %w", err)
	}
	s.metrics, s.gatherer = m, gat
	s.hardStop, s.cut = context.WithCancel(context.Background())
	return s, nil
}

// checkMetadata refuses metadata the server cannot serve.
func checkMetadata(md *ModelMetadata) error {
	if md.Name == "" {
		return errors.New("serve: a model has an empty name")
	}
	for _, t := range slices.Concat(md.Inputs, md.Outputs) {
		if err := checkDatatype(t.Name, t.Datatype); err != nil {
			return fmt.Errorf("serve: model %q: %w", md.Name, err)
		}
	}
	return nil
}

// SetReady sets the server's readiness; it starts false so that the caller
// can warm models first. [Server.Serve] sets it false when it drains.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// serverReady reports whether the server and every model are ready.
func (s *Server) serverReady() bool {
	if !s.ready.Load() {
		return false
	}
	for _, e := range s.models {
		if !e.model.Ready() {
			return false
		}
	}
	return true
}

// lookup finds a model by name and optional version.
func (s *Server) lookup(name, version string) (*entry, error) {
	e := s.models[name]
	if e == nil {
		return nil, fmt.Errorf("%w: %q", ErrModelNotFound, name)
	}
	if version != "" && !slices.Contains(e.md.Versions, version) {
		return nil, fmt.Errorf("%w: %q version %q (versions: %v)", ErrModelNotFound, name, version, e.md.Versions)
	}
	return e, nil
}

// admit reserves a queue slot for one request to e; release frees it. It
// never blocks.
func (s *Server) admit(e *entry) (release func(), err error) {
	if !s.ready.Load() || !e.model.Ready() {
		return nil, fmt.Errorf("%w: model %q", ErrNotReady, e.md.Name)
	}
	if e.queued.Add(1) > int64(s.opts.MaxQueue) {
		e.queued.Add(-1)
		return nil, fmt.Errorf("%w: model %q has %d requests waiting", ErrQueueFull, e.md.Name, s.opts.MaxQueue)
	}
	s.mu.Lock()
	if s.draining {
		s.mu.Unlock()
		e.queued.Add(-1)
		return nil, fmt.Errorf("%w: server is shutting down", ErrNotReady)
	}
	s.inflight.Add(1)
	s.mu.Unlock()
	s.active.Add(1)
	s.metrics.inflight.WithLabelValues(e.md.Name).Inc()
	return func() {
		s.metrics.inflight.WithLabelValues(e.md.Name).Dec()
		s.active.Add(-1)
		e.queued.Add(-1)
		s.inflight.Done()
	}, nil
}

// run runs req, validated, on e's model under ctx, which is also cancelled
// when a drain times out. It returns the response with only the requested
// outputs.
func (s *Server) run(ctx context.Context, e *entry, req *InferRequest) (*InferResponse, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(s.hardStop, cancel)
	defer stop()
	resp, err := e.model.Infer(ctx, req)
	if err != nil && s.hardStop.Err() != nil {
		return nil, fmt.Errorf("%w: model %q: cut off by shutdown: %v", ErrNotReady, e.md.Name, err)
	}
	if err != nil {
		return nil, fmt.Errorf("model %q: %w", e.md.Name, err)
	}
	if resp == nil {
		return nil, fmt.Errorf("model %q returned no response", e.md.Name)
	}
	if resp.ModelName == "" {
		resp.ModelName = e.md.Name
	}
	if resp.ID == "" {
		resp.ID = req.ID
	}
	return resp, pickOutputs(e.md.Name, resp, req.Outputs)
}

// pickOutputs keeps the requested outputs of resp in the requested order
// and checks that each one's data fits its datatype and shape, so the
// encoders can trust them.
func pickOutputs(model string, resp *InferResponse, want []RequestedOutput) error {
	if len(want) > 0 {
		picked := make([]Tensor, 0, len(want))
		for _, w := range want {
			i := slices.IndexFunc(resp.Outputs, func(t Tensor) bool { return t.Name == w.Name })
			if i < 0 {
				return fmt.Errorf("model %q did not produce requested output %q", model, w.Name)
			}
			picked = append(picked, resp.Outputs[i])
		}
		resp.Outputs = picked
	}
	for _, t := range resp.Outputs {
		n, err := elements(t.Name, t.Shape, 1<<62)
		if err != nil || !dataMatches(t.Datatype, t.Data) || int64(dataLen(t.Data)) != n {
			return fmt.Errorf("model %q: output %q: datatype %s shape %v does not fit data %T of %d elements",
				model, t.Name, t.Datatype, t.Shape, t.Data, dataLen(t.Data))
		}
	}
	return nil
}

// finish records a request's metrics and logs internal errors.
func (s *Server) finish(model, protocol string, ran bool, start time.Time, resp *InferResponse, err error) {
	s.metrics.observe(model, protocol, ran, start, resp, err)
	if err != nil && classify(err).label == "error" {
		s.opts.Logger.Error("inference failed", "model", model, "protocol", protocol, "err", err)
	}
}
