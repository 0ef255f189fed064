package jobmodel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/serve"
)

// ErrPassFailed wraps the error of a graph run that failed with requests
// in flight: each of them is answered with it, and the endpoint builds the
// graph again.
var ErrPassFailed = errors.New("the served graph failed")

// Endpoint serves one cut of a job (see [pipeline.Job.Cut]) as a
// [serve.Model]: requests are queued, emitted into the graph by its request
// source, batched by its model stages with other clients' rows, and each
// call gets its own rows back from the response sink.
type Endpoint struct {
	name       string
	job        *pipeline.Job // the cut
	to         string        // the stage answering
	reqSchema  *arrow.Schema
	respSchema *arrow.Schema
	meta       serve.ModelMetadata
	opts       Options
	reg        *swapRegisterer

	queue  chan *call
	flight flight
	// pos is the place in the pass's request stream of the next row the
	// source emits (written by the source only); batches records where
	// the model stages cut that stream; models names each model stage's
	// model, for traces.
	pos     int64
	batches batchLog
	models  map[string]string
	ready   atomic.Bool
	dropped atomic.Int64

	mu     sync.RWMutex // guards closed against sends on queue
	closed bool
	hard   context.CancelFunc // cancels the graph's run
	wg     sync.WaitGroup     // the run loop and abandoned calls' cleanup
	runErr error              // the last graph failure, for Close
}

// Name returns the endpoint's model name.
func (e *Endpoint) Name() string { return e.name }

// Metadata implements [serve.Model].
func (e *Endpoint) Metadata() serve.ModelMetadata { return e.meta }

// Ready implements [serve.Model]: the graph is built and running.
func (e *Endpoint) Ready() bool { return e.ready.Load() }

// Dropped counts the calls dropped before they ran because their client
// left or their deadline passed.
func (e *Endpoint) Dropped() int64 { return e.dropped.Load() }

func newEndpoint(name, to string, job *pipeline.Job, req *arrow.Schema, o Options) *Endpoint {
	return &Endpoint{
		name: name, to: to, job: job, reqSchema: req, opts: o, models: modelNames(job),
		queue: make(chan *call, o.queueLen()),
		reg:   &swapRegisterer{parent: o.registerer(name)},
	}
}

// describe sets the response schema from the built graph, and the
// metadata.
func (e *Endpoint) describe(p *pipeline.Pipeline) error {
	e.respSchema, _ = p.Schema(e.to)
	in, err := schemaMeta(e.reqSchema)
	if err != nil {
		return fmt.Errorf("request: %w", err)
	}
	out, err := schemaMeta(e.respSchema)
	if err != nil {
		return fmt.Errorf("response: %w", err)
	}
	e.meta = serve.ModelMetadata{Name: e.name, Versions: []string{"1"}, Platform: "pipe", Inputs: in, Outputs: out}
	return nil
}

// build builds the endpoint's graph.
func (e *Endpoint) build() (*pipeline.Pipeline, error) {
	reg, err := e.registry()
	if err != nil {
		return nil, err
	}
	e.reg.reset()
	return pipeline.Build(e.job, pipeline.BuildOptions{
		Registry:   reg,
		Mem:        e.opts.Mem,
		Log:        e.opts.log().With("endpoint", e.name),
		Registerer: e.reg,
		Batches:    &e.batches,
	})
}

// start builds the graph, runs it in the background, warms it up with one
// request of zeros when the request is all numbers, and turns ready.
func (e *Endpoint) start(ctx context.Context) error {
	p, err := e.build()
	if err == nil {
		if err = e.describe(p); err != nil {
			_ = p.Close()
		}
	}
	if err != nil {
		return fmt.Errorf("endpoint %s: %w", e.name, err)
	}
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	e.hard = cancel
	e.wg.Add(1)
	go e.loop(runCtx, p)
	if err := e.warmUp(ctx); err != nil {
		return fmt.Errorf("endpoint %s: warm-up: %w", e.name, err)
	}
	e.ready.Store(true)
	return nil
}

// loop runs the graph until the endpoint is closed, building it again
// after a failure; calls in flight when a run fails get its error.
func (e *Endpoint) loop(ctx context.Context, p *pipeline.Pipeline) {
	defer e.wg.Done()
	first := true
	for p != nil {
		if !first {
			e.ready.Store(true)
		}
		first = false
		e.pos = 0
		e.batches.reset()
		_, err := p.Run(ctx)
		e.ready.Store(false)
		if err == nil && e.isClosed() {
			e.flight.failAll(serve.ErrNotReady)
			return
		}
		if err == nil {
			err = errors.New("the graph ended before the endpoint was closed")
		}
		e.runErr = err
		n := e.flight.failAll(fmt.Errorf("%w: %v", ErrPassFailed, err))
		e.opts.log().Error("served graph failed; building it again", "endpoint", e.name, "requests_failed", n, "err", err)
		p = e.rebuild(ctx)
	}
}

// rebuild waits Restart, then builds the graph again until that works or
// the endpoint closes (nil then, with the queue answered not ready).
func (e *Endpoint) rebuild(ctx context.Context) *pipeline.Pipeline {
	for {
		select {
		case <-time.After(e.opts.restart()):
		case <-ctx.Done():
		}
		if e.isClosed() || ctx.Err() != nil {
			e.rejectQueued()
			return nil
		}
		p, err := e.build()
		if err == nil {
			return p
		}
		e.opts.log().Error("build served graph", "endpoint", e.name, "err", err)
	}
}

// rejectQueued answers the calls still queued when the endpoint closed
// without a graph to run them.
func (e *Endpoint) rejectQueued() {
	for {
		select {
		case c, ok := <-e.queue:
			if !ok {
				return
			}
			c.finish(nil, serve.ErrNotReady)
		default:
			if e.isClosed() {
				continue // closed: the loop ends on the channel's close
			}
			return
		}
	}
}

func (e *Endpoint) isClosed() bool {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.closed
}

// Infer implements [serve.Model].
func (e *Endpoint) Infer(ctx context.Context, req *serve.InferRequest) (*serve.InferResponse, error) {
	if !e.ready.Load() {
		return nil, fmt.Errorf("%w: model %s is starting or restarting", serve.ErrNotReady, e.name)
	}
	rec, err := toRecord(e.opts.mem(), e.reqSchema, req.Inputs)
	if err != nil {
		return nil, err
	}
	r, c, err := e.call(ctx, rec)
	if c != nil {
		e.traceCall(ctx, c)
	}
	if err != nil {
		return nil, err
	}
	defer releaseAll(r.parts)
	outs, err := toTensors(e.respSchema, r.parts, req.Outputs)
	if err != nil {
		return nil, err
	}
	return &serve.InferResponse{
		ModelName: e.name, ModelVersion: "1", ID: req.ID, Outputs: outs,
		Timing: serve.Timing{Queue: c.started.Sub(c.enqueued), Compute: r.finished.Sub(c.started)},
	}, nil
}

// call queues rec (taking ownership) and waits for its rows. When ctx ends
// first, the call is left to finish in the graph and its rows are released
// then.
func (e *Endpoint) call(ctx context.Context, rec arrow.RecordBatch) (result, *call, error) {
	c := &call{ctx: ctx, rec: rec, rows: rec.NumRows(), enqueued: time.Now(), done: make(chan result, 1)}
	e.mu.RLock()
	if e.closed {
		e.mu.RUnlock()
		rec.Release()
		return result{}, nil, fmt.Errorf("%w: model %s is shutting down", serve.ErrNotReady, e.name)
	}
	select {
	case e.queue <- c:
		e.mu.RUnlock()
	case <-ctx.Done():
		e.mu.RUnlock()
		rec.Release()
		return result{}, nil, ctx.Err()
	}
	select {
	case r := <-c.done:
		return r, c, r.err
	case <-ctx.Done():
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			releaseAll((<-c.done).parts)
		}()
		return result{}, nil, ctx.Err()
	}
}

// Close stops taking requests, lets the graph answer those queued and in
// flight, and returns when it has; when ctx ends first, the graph's run is
// cancelled and the remaining calls fail.
func (e *Endpoint) Close(ctx context.Context) error {
	e.mu.Lock()
	if !e.closed {
		e.closed = true
		close(e.queue)
	}
	e.mu.Unlock()
	e.ready.Store(false)
	done := make(chan struct{})
	go func() {
		e.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		if e.hard != nil {
			e.hard()
		}
		<-done
	}
	if e.hard != nil {
		e.hard()
	}
	e.reg.reset()
	return nil
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// Options configure [Open].
type Options struct {
	// Log receives the graphs' log lines; nil discards them.
	Log *slog.Logger
	// Mem allocates the requests' batches and the graphs'; nil: the Go
	// allocator.
	Mem memory.Allocator
	// Registerer receives each graph's metrics with an `endpoint` label;
	// nil: none are exported.
	Registerer prometheus.Registerer
	// QueueLen bounds the calls queued for the graph of one endpoint
	// (0: 4096); the server's admission (serve.Options.MaxQueue) should
	// keep it from filling.
	QueueLen int
	// Restart is how long an endpoint waits before building its graph
	// again after a failure (0: one second).
	Restart time.Duration
	// Models adds an endpoint per model stage besides the job's.
	Models bool
	// Tracer records, under a request's span (the server's), the time it
	// queued and the model batches it joined; nil records nothing.
	Tracer trace.Tracer
}

func (o Options) log() *slog.Logger {
	if o.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Log
}

func (o Options) mem() memory.Allocator {
	if o.Mem == nil {
		return memory.DefaultAllocator
	}
	return o.Mem
}

func (o Options) queueLen() int {
	if o.QueueLen <= 0 {
		return 4096
	}
	return o.QueueLen
}

func (o Options) restart() time.Duration {
	if o.Restart <= 0 {
		return time.Second
	}
	return o.Restart
}
