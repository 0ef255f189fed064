package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/stages"
)

func init() {
	stages.MustRegister(stages.Type[Config]{
		Name:     "model",
		Kind:     stages.KindOperator,
		Spec:     spec,
		Defaults: defaults,
		New:      func(c Config, env *stages.Env) (stages.Stage, error) { return New(c, env) },
		// Rows whose inputs cannot be converted, and rows a backend refuses
		// as invalid input (found by bisection), go to env.Reject.
		RejectsRows:   true,
		NeedsExecutor: true,
		EnvVars:       envVars,
	})
}

// Stage runs a model over the rows of its input: it groups rows into
// batches, turns columns into tensors, runs the model and appends its
// outputs as columns, keeping the input order.
type Stage struct {
	conf   Config
	plan   *plan
	run    Runner
	policy batcher.Policy // batch, with max_rows cut to what fits bud
	// bud bounds the tensor bytes of a batch; split says that max_rows
	// was cut to fit it.
	bud   *budget
	split bool
	// mem pools tensor buffers: converted inputs, outputs (which become
	// the output columns) and coalesced batches.
	mem   *tensorPool
	log   *slog.Logger
	stats batcher.Stats
	// id and obs serve observation: see observe.go.
	id  string
	obs stages.BatchObserver // nil: nobody watches
	// reject takes the rows the stage isolates (nil: on_error fail, the
	// first failure ends the run); see isolate.go. rejected counts those
	// rows, bisectRuns the model calls made while isolating them.
	reject     stages.Rejecter
	rejected   atomic.Int64
	bisectRuns atomic.Int64
	// tokens and padded count the values of padded list inputs: the
	// rows' own, and all of them once padded to each batch's longest row.
	tokens, padded atomic.Int64
}

// New builds a model stage: it checks the model file (and its pin), opens
// the model through the job's executor, and checks every binding against
// the model's declared inputs and outputs and against the input schema.
// env.Executor must be the job's executor; without one New fails with an
// error wrapping [ErrNoExecutor].
func New(conf Config, env *stages.Env) (*Stage, error) {
	if err := fetchModelOf(&conf, env.Files); err != nil {
		return nil, err
	}
	path := string(conf.Model)
	if err := loadLabels(&conf, env); err != nil {
		return nil, err
	}
	ex, err := executorOf(env)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	sum, err := checkModelFile(env.Files, path, conf.SHA256)
	if err != nil {
		return nil, err
	}
	if conf.Instances < 1 {
		return nil, fmt.Errorf("instances: must be at least 1, got %d", conf.Instances)
	}
	if len(conf.Backends) == 0 {
		return nil, errors.New("backends: give at least one backend, or auto")
	}
	opts := bridge.Options{
		IntraOpThreads: conf.Threads,
		InterOpThreads: conf.Session.InterOpThreads,
		GraphOpt:       conf.Session.GraphOpt,
		Spinning:       conf.Session.Spinning,
		Extra:          conf.Session.Extra,
	}
	// Strict reaches the backend through the executor (ExtraStrict).
	r, err := openRunner(context.Background(), ex, conf, sum, env, opts)
	var pe *executor.PlacementError
	if errors.As(err, &pe) {
		return nil, err // it names the model, and leads with the cause
	}
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	p, err := newPlan(&conf, env.Input(), r.Info())
	if err == nil {
		err = checkBucket(conf, p, env.Reject != nil)
	}
	if err != nil {
		r.Close()
		return nil, fmt.Errorf("model %s: %w", path, err)
	}
	policy, err := batchPolicy(conf.Batch, p.staticBatch)
	if err != nil {
		r.Close()
		return nil, err
	}
	bud, err := newBudget(env.ID, ex.MemoryBudget(), conf.Instances, p.cost(r.Info().Outputs), policy.PadTo)
	if err != nil {
		r.Close()
		return nil, err
	}
	fitted := bud.capPolicy(policy)
	if err := fitted.Validate(); err != nil {
		r.Close()
		return nil, fmt.Errorf("batch: fitted to resources.memory_budget: %w", err)
	}
	log := env.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	backend, reason := r.Placement()
	log.Debug("model placed", "model", path, "backend", backend, "reason", reason)
	return &Stage{conf: conf, plan: p, run: r, policy: fitted, split: fitted.MaxRows < policy.MaxRows, bud: bud,
		mem: newTensorPool(env.Mem, bud.share), log: log, id: env.ID, obs: env.Batches, reject: env.Reject}, nil
}

// checkModelFile reports a missing model file, and a file whose SHA-256
// differs from the job's pin. It returns the hash the executor must find
// in every load: the file's pin in the job's [stages.FilePins] (the content
// the fingerprint counts; every work unit builds the stage again, and must
// run that content), or without pins the job's own pin.
func checkModelFile(pins *stages.FilePins, path, pin string) (string, error) {
	if pins == nil {
		return pin, checkUnpinned(path, pin)
	}
	p, err := pins.Pin(path)
	if err != nil {
		return "", modelFileError(path, err)
	}
	if pin != "" && !strings.EqualFold(p.SHA256, pin) {
		return "", fmt.Errorf("model %s: sha256 is %s, the job pins %s", path, p.SHA256, pin)
	}
	return p.SHA256, nil
}

// checkUnpinned is checkModelFile for a stage built without the job's pins.
func checkUnpinned(path, pin string) error {
	f, err := os.Open(path)
	if err != nil {
		return modelFileError(path, err)
	}
	defer f.Close()
	if pin == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("model %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, pin) {
		return fmt.Errorf("model %s: sha256 is %s, the job pins %s", path, got, pin)
	}
	return nil
}

func modelFileError(path string, err error) error {
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("model %s: file not found", path)
	}
	return fmt.Errorf("model %s: %w", path, err)
}

// batchPolicy maps the batch block onto a batcher policy, fitting it to a
// model with a static batch dimension.
func batchPolicy(bc BatchConfig, static int64) (batcher.Policy, error) {
	p := batcher.Policy{MaxRows: bc.MaxRows, MaxDelay: bc.MaxDelay.D(), PreferredRows: bc.PreferredRows, PadTo: bc.PadTo}
	if bc.Adaptive != nil {
		p.Adaptive = &batcher.Adaptive{TargetLatency: bc.Adaptive.TargetLatency.D(), MinRows: bc.Adaptive.MinRows, MaxRows: bc.Adaptive.MaxRows}
	}
	if static > 0 {
		switch {
		case p.PadTo == 0:
			p.PadTo = int(static)
		case int64(p.PadTo) != static:
			return p, fmt.Errorf("batch.pad_to: %d, but the model's batch dimension is fixed at %d", p.PadTo, static)
		}
		if p.MaxRows > p.PadTo || p.MaxRows == 0 {
			p.MaxRows = p.PadTo
		}
	}
	if err := p.Validate(); err != nil {
		var pe *batcher.PolicyError
		if errors.As(err, &pe) {
			return p, fmt.Errorf("batch.%s: %s", pe.Key, pe.Msg)
		}
		return p, fmt.Errorf("batch: %w", err)
	}
	return p, nil
}

// Schema returns the kept input columns followed by the output columns.
func (s *Stage) Schema() *arrow.Schema { return s.plan.schema }

// Placement returns the backend the model runs on and why it was chosen.
func (s *Stage) Placement() (backend, reason string) { return s.run.Placement() }

// BatchStats returns the batcher's figures of the last run: flushes by
// reason and the batch-size distribution.
func (s *Stage) BatchStats() batcher.Stats { return s.stats }

// Close releases the model and the pooled tensor buffers.
func (s *Stage) Close() error {
	err := s.run.Close()
	s.mem.close()
	return err
}

// inflight is one submitted batch.
type inflight struct {
	batch batcher.Batch
	Call  Call
	owned [][]byte
	first int64 // number of the batch's first row in the stream
	n     int64 // real rows run: the first n rows of rec()
	// compact, when rows of the batch were rejected before the run, holds
	// the rows that run (owned, released by finish); rows[i] is the
	// number of its row i in the stream.
	compact arrow.RecordBatch
	rows    []int64
	// held are rows screened out before the run, handed to the Rejecter
	// when the batch completes, merged in stream order with the rows
	// bisection rejects: the dead-letter order does not depend on timing.
	held []heldRow
	// bucket is the sorted window the batch is a part of (batch.bucket).
	bucket *bucket
}

// heldRow is a row rejected before the run, waiting for its turn.
type heldRow struct {
	row int64             // its number in the stream
	rec arrow.RecordBatch // the one row (owned)
	err error
}

// rec returns the record whose first n rows are run.
func (f *inflight) rec() arrow.RecordBatch {
	if f.compact != nil {
		return f.compact
	}
	return f.batch.Rec
}

// row returns the number in the stream of row i of rec().
func (f *inflight) row(i int64) int64 {
	if f.rows != nil {
		return f.rows[i]
	}
	return f.first + i
}

// rangeError names rows [lo, hi) of rec() in err.
func (f *inflight) rangeError(lo, hi int64, err error) error {
	if hi-lo == 1 {
		return fmt.Errorf("row %d: %w", f.row(lo), err)
	}
	return fmt.Errorf("rows %d-%d: %w", f.row(lo), f.row(hi-1), err)
}

// Run batches the input rows, keeps up to `instances` model calls running
// (and one full batch queued behind them) and emits their results in
// input order. The loop owns the
// batcher's timer, so a partial batch leaves by its deadline even when no
// more rows arrive.
func (s *Stage) Run(ctx context.Context, in []<-chan arrow.RecordBatch, emit stages.Emit) error {
	l, err := s.newRunLoop(ctx, in[0], emit)
	if err != nil {
		return err
	}
	defer l.close()
	for {
		if err := l.startReady(); err != nil {
			return err
		}
		if l.input == nil && l.b.Pending() == 0 && len(l.queue) == 0 && len(l.split) == 0 {
			return nil
		}
		if err := l.wait(); err != nil {
			return err
		}
	}
}

// runLoop is the state of one Run: the batcher, the calls in flight in
// the order they were submitted, and the input while it is open. Only
// Run's goroutine touches it.
type runLoop struct {
	s     *Stage
	ctx   context.Context
	emit  stages.Emit
	b     *batcher.Batcher
	input <-chan arrow.RecordBatch // nil once the input has ended
	queue []*inflight
	// split holds the later parts of a batch cut to batch.max_tokens (or
	// sorted by length, batch.bucket), started before the batcher's next
	// batch.
	split []part
	rows  int64 // rows submitted so far: the number of the next batch's first row
	timer *time.Timer
}

func (s *Stage) newRunLoop(ctx context.Context, input <-chan arrow.RecordBatch, emit stages.Emit) (*runLoop, error) {
	sizer, err := s.bud.sizer(s.policy)
	if err != nil {
		return nil, err
	}
	var opts []batcher.Option
	if sizer != nil {
		opts = append(opts, batcher.WithSizer(sizer))
	}
	b, err := batcher.New(s.policy, s.mem, opts...)
	if err != nil {
		return nil, err
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	return &runLoop{s: s, ctx: ctx, emit: emit, b: b, input: input, timer: timer}, nil
}

// close waits for the calls still running (a cancelled context interrupts
// them), frees everything they hold and keeps the batcher's figures.
func (l *runLoop) close() {
	l.timer.Stop()
	for _, f := range l.queue {
		l.drop(f)
		if f.bucket != nil {
			f.bucket.release()
		}
	}
	for _, p := range l.split {
		p.bt.Release()
		if p.bucket != nil {
			p.bucket.release()
		}
	}
	l.s.stats = l.b.Stats()
	l.b.Close()
}

// drop waits for a call whose result nobody will emit and frees what it
// holds.
func (l *runLoop) drop(f *inflight) {
	<-f.Call.Done()
	if outs, _ := f.Call.Result(); outs != nil {
		freeTensors(outs, l.s.mem)
	}
	l.s.finish(f)
}

// room reports whether one more batch may be submitted. Any ready batch
// may start while fewer than `instances` calls are in flight; one more,
// queued behind them, only when it is full (or the input has ended). That
// queued batch is packed while the backend runs, which then goes from one
// call to the next without waiting for this goroutine to be scheduled,
// pack and submit: on a busy machine that wait left the backend idle a
// quarter of the time. A partial batch never takes the queued place: it
// keeps its deadline for a free instance, as without it.
func (l *runLoop) room() bool {
	if l.s.bud.measuring() && len(l.queue) > 0 {
		return false // one call measures the outputs first
	}
	switch n := len(l.queue); {
	case n < l.s.conf.Instances:
		return true
	case n == l.s.conf.Instances:
		return l.input == nil || l.b.Pending() >= l.b.Target() || len(l.split) > 0
	}
	return false
}

// startReady starts every batch that is ready, while there is room.
func (l *runLoop) startReady() error {
	for l.room() {
		p, ok, err := l.nextBatch()
		if err != nil || !ok {
			return err
		}
		f, err := l.s.submit(l.ctx, p.bt, l.rows)
		if err != nil {
			return err
		}
		if p.bucket != nil {
			f.bucket, f.rows = p.bucket, p.streamRows()
		}
		l.rows += int64(p.bt.Rows)
		l.queue = append(l.queue, f)
	}
	return nil
}

// nextBatch cuts the batch to start: a ready one, or once the input has
// ended what is pending. It reports false when there is none.
func (l *runLoop) nextBatch() (part, bool, error) {
	var bt batcher.Batch
	var err error
	if len(l.split) > 0 {
		var p part
		p, l.split = l.split[0], l.split[1:]
		return p, true, nil
	}
	switch {
	case l.b.Ready():
		bt, err = l.b.Next()
	case l.input == nil && l.b.Pending() > 0:
		bt, err = l.b.Flush()
	default:
		return part{}, false, nil
	}
	if errors.Is(err, batcher.ErrNoBatch) {
		return part{}, false, nil
	}
	if err != nil {
		return part{}, false, err
	}
	parts, err := l.s.cut(l.ctx, bt, l.rows)
	if err != nil {
		return part{}, false, err
	}
	l.split = parts[1:]
	return parts[0], true, nil
}

// wait waits for one event and handles it: rows arriving, the input
// ending, the batcher's deadline, the oldest call finishing, or the
// context ending.
func (l *runLoop) wait() error {
	// Ready depends on the clock: look once and act on that one answer.
	// A deadline that passed since startReady looked means a batch can
	// start now, if an instance is free.
	ready := len(l.split) > 0 || l.b.Ready()
	if ready && l.room() {
		return nil
	}
	var oldest <-chan struct{}
	if len(l.queue) > 0 {
		oldest = l.queue[0].Call.Done()
	}
	// Stop reading while a full batch waits for a free instance: rows
	// then back up into the queues upstream instead of into memory.
	inCh := l.input
	if ready {
		inCh = nil
	}
	deadline := l.deadline(ready)
	defer l.timer.Stop()
	select {
	case rec, ok := <-inCh:
		if !ok {
			l.input = nil
			return nil
		}
		l.b.Add(rec)
		rec.Release()
	case <-deadline:
	case <-oldest:
		return l.completeOldest()
	case <-l.ctx.Done():
		return l.ctx.Err()
	}
	return nil
}

// deadline arms the timer for the batcher's next deadline and returns its
// channel, or nil. The deadline only matters when it could start a batch:
// nothing is ready yet and an instance is free. Arming it otherwise would
// spin (a deadline already passed fires at once) while the loop really
// waits for a call to finish. Every path leaves wait's select something
// to wait for: input, a call, or the deadline.
func (l *runLoop) deadline(ready bool) <-chan time.Time {
	if ready || l.input == nil || len(l.queue) >= l.s.conf.Instances {
		return nil
	}
	d, ok := l.b.UntilNext()
	if !ok {
		return nil
	}
	l.timer.Reset(d)
	return l.timer.C
}

// completeOldest emits the result of the oldest call, which has finished.
func (l *runLoop) completeOldest() error {
	f := l.queue[0]
	l.queue = l.queue[1:]
	// Start the next call before converting and emitting this one, which
	// may wait on downstream: the backend stays busy. Not after a call that
	// measures outputs the model does not size: its measure sizes the next
	// batch.
	if !l.s.bud.measuring() {
		if err := l.startReady(); err != nil {
			l.drop(f)
			return err
		}
	}
	return l.s.complete(l.ctx, l.b, f, l.emit)
}

// submit turns a batch into tensors and starts the model Call. With a
// Rejecter, rows that cannot become tensors are rejected first and the
// others run; a batch left without rows gets a call that is already done.
func (s *Stage) submit(ctx context.Context, bt batcher.Batch, first int64) (*inflight, error) {
	f := &inflight{batch: bt, first: first, n: int64(bt.Rows)}
	if s.reject != nil {
		if err := s.screen(ctx, f); err != nil {
			s.finish(f)
			return nil, err
		}
		if f.n == 0 {
			f.Call = doneCall{}
			return f, nil
		}
	}
	ts, owned, err := s.plan.tensors(f.rec(), s.mem, first)
	if err != nil {
		s.finish(f)
		return nil, err
	}
	s.countTokens(f.rec(), f.n)
	f.owned = owned
	if f.compact != nil {
		ts = s.plan.pad(ts, f.n, int64(s.policy.PadTo), &f.owned, s.mem)
	}
	c, err := s.run.Submit(ctx, ts, s.mem)
	if err != nil {
		s.finish(f)
		return nil, fmt.Errorf("rows %d-%d: %w", first, first+int64(bt.Rows)-1, err)
	}
	f.Call = c
	return f, nil
}

// finish frees what a batch held.
func (s *Stage) finish(f *inflight) {
	for _, buf := range f.owned {
		s.mem.Free(buf)
	}
	f.owned = nil
	if f.compact != nil {
		f.compact.Release()
		f.compact = nil
	}
	for _, h := range f.held {
		h.rec.Release()
	}
	f.held = nil
	f.batch.Release()
}

func freeTensors(ts []bridge.Tensor, mem memory.Allocator) {
	for _, t := range ts {
		if t.Data != nil {
			mem.Free(t.Data)
		}
	}
}

// complete turns a finished Call into the output batch and emits it. With
// a Rejecter, a batch the backend refused as invalid input is bisected
// (see isolate.go).
func (s *Stage) complete(ctx context.Context, b *batcher.Batcher, f *inflight, emit stages.Emit) error {
	defer s.finish(f)
	if f.n == 0 {
		return s.releaseHeld(ctx, f, math.MaxInt64) // every row was rejected before the run
	}
	outs, err := f.Call.Result()
	if err != nil {
		if s.reject != nil && bridge.ClassOf(err) == bridge.ClassInvalidInput {
			if err := s.isolate(ctx, f, err, emit); err != nil {
				return err
			}
			return s.releaseHeld(ctx, f, math.MaxInt64)
		}
		return fmt.Errorf("rows %d-%d: %w", f.first, f.first+int64(f.batch.Rows)-1, err)
	}
	// The backend's own time for the batch, not the time since submit,
	// which includes the wait behind the calls before it.
	if len(s.bud.cost.open) > 0 {
		if err := s.measure(b, f, outs); err != nil {
			freeTensors(outs, s.mem)
			return err
		}
	}
	took := f.Call.Ran()
	b.Sizer().Observe(f.batch.Rows+f.batch.Padding, took)
	s.observe(f, took)
	rec, err := s.output(f.rec(), 0, f.n, outs)
	if err != nil {
		return err
	}
	if err := s.releaseHeld(ctx, f, math.MaxInt64); err != nil {
		rec.Release()
		return err
	}
	return s.emitOut(ctx, f, rec, emit)
}

// output builds the output batch of rows [lo, lo+n) of rec from the
// model's outputs for them, taking ownership of the outputs' buffers
// (freed on error too).
func (s *Stage) output(rec arrow.RecordBatch, lo, n int64, outs []bridge.Tensor) (arrow.RecordBatch, error) {
	used := make([]bool, len(outs))
	var cols []arrow.Array
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for _, k := range s.plan.keep {
		cols = append(cols, array.NewSlice(rec.Column(k), lo, lo+n))
	}
	for _, op := range s.plan.outputs {
		if op.index >= len(outs) {
			freeTensors(outs, s.mem)
			return nil, fmt.Errorf("the model returned %d outputs, %q is number %d", len(outs), op.name, op.index+1)
		}
		used[op.index] = true
		arrs, err := s.outputArrays(op, outs[op.index], rec, lo, n)
		outs[op.index].Data = nil
		if err != nil {
			freeTensors(outs, s.mem)
			return nil, err
		}
		cols = append(cols, arrs...)
	}
	for i, t := range outs {
		if !used[i] && t.Data != nil {
			s.mem.Free(t.Data)
		}
	}
	return array.NewRecordBatch(s.plan.schema, cols, n), nil
}
