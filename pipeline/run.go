package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"golang.org/x/sync/errgroup"

	"github.com/pipe-ml/pipe/observe/tracing"
	"github.com/pipe-ml/pipe/stages"
)

// Stop begins a soft stop: sources stop reading, every stage drains what is
// in flight, and Run returns [ErrInterrupted] without committing any sink.
// It is safe to call from any goroutine, more than once. Cancelling Run's
// context is the hard stop: in-flight calls are interrupted.
func (p *Pipeline) Stop() {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	if !p.stopped {
		p.stopped = true
		close(p.stop)
	}
}

func (p *Pipeline) isStopped() bool {
	p.stopMu.Lock()
	defer p.stopMu.Unlock()
	return p.stopped
}

// Run runs the pipeline once: one goroutine per stage, connected by bounded
// queues. The first error cancels every stage and is returned as a
// [*StageError] naming the stage; a panic inside a stage becomes such an
// error with the stack. Sinks commit only when every stage succeeded; on
// failure they abort. Run returns after every goroutine it started has
// exited and every stage is closed. The report is returned in all cases.
func (p *Pipeline) Run(ctx context.Context) (*Report, error) {
	if p.ran {
		return nil, errors.New("pipeline: Run called twice")
	}
	// Refuse, before any data moves, to replace complete output the sinks
	// may not replace or to write beside files pipe did not write: first
	// touching nothing, then again holding the folders.
	err := p.checkConflicts(p.Outputs())
	if err == nil {
		err = p.LockOutputs()
	}
	if err == nil {
		err = p.checkConflicts(p.Outputs())
	}
	if err != nil {
		rep := &Report{Job: p.job.Name, File: p.job.File, Started: time.Now()}
		_ = p.Close()
		rep.Finished = rep.Started
		rep.fill(p, err)
		return rep, err
	}
	p.ran = true
	defer p.locks.release()
	rep := &Report{Job: p.job.Name, File: p.job.File, Started: time.Now()}
	ctx, span := p.startRun(ctx, rep)
	defer func() { tracing.End(span, err) }()
	series := newSeriesRecorder(p.Stats(), rep.Started, seriesEvery, seriesLimit)
	series.run()
	timeline := newUnitTimeline(rep.Started)
	err = p.runUnits(ctx, rep, timeline)
	for _, n := range p.nodes {
		n.stats.Done.Store(true)
	}
	rep.Series, rep.Timeline = series.stop(time.Now()), timeline.list()
	if cerr := p.closeRun(); err == nil {
		err = cerr
	}
	err = p.finish(rep, err)
	return rep, err
}

// closeRun closes the sharded source kept open for the passes and the
// executor, returning their errors joined.
func (p *Pipeline) closeRun() error {
	var closeErrs []error
	if p.keep != nil {
		if cerr := p.keep.Close(); cerr != nil {
			closeErrs = append(closeErrs, cerr)
		}
	}
	if p.exec != nil {
		if cerr := p.exec.Close(); cerr != nil {
			closeErrs = append(closeErrs, fmt.Errorf("executor: %w", cerr))
		}
	}
	return errors.Join(closeErrs...)
}

// finish writes what a run leaves once its passes are over: the shard's
// manifests, the run reports, and when every shard is done the folders'
// manifests and success markers, in that order. A run that failed or was
// stopped writes only its reports, into the folders that exist.
func (p *Pipeline) finish(rep *Report, err error) error {
	complete := false
	if err == nil {
		complete, err = p.writeShardManifests(rep)
	}
	rep.Finished = time.Now()
	rep.fill(p, err)
	if werr := p.writeReports(rep, err == nil); werr != nil {
		if err != nil {
			p.log.Warn("could not write the run report", "err", werr)
			return err
		}
		err = werr
		rep.Status, rep.Error = "failed", werr.Error()
	}
	if err == nil && complete {
		if cerr := p.commitFolders(); cerr != nil {
			err = cerr
			rep.Status, rep.Error = "failed", cerr.Error()
		}
	}
	return err
}

// LockOutputs takes the run's locks on every output folder (see
// [output.LockDir]): an [*output.LockedError] when another run holds one, and nothing
// held then. Run takes them itself; a caller takes them first to look at
// the folders ([Pipeline.CheckOutputs]) with no other run writing. They are
// held until Run returns, or Close.
func (p *Pipeline) LockOutputs() error {
	if p.locks != nil {
		return nil
	}
	var dirs []string
	for _, d := range p.fileDirs() {
		dirs = append(dirs, d.dir)
	}
	l, err := lockFolders(dirs, p.shard)
	if err != nil {
		return err
	}
	p.locks = l
	return nil
}

// runPass runs the graph once over a pass's stages (one work unit): one
// goroutine per stage, connected by bounded queues, then commits every sink
// or aborts them all, and closes the stages. Passes of other units may run
// at the same time; each gets its share of the byte budget.
func (p *Pipeline) runPass(ctx context.Context, ps *pass) error {
	w := p.wire()
	err := p.runStages(ctx, ps, w)
	for _, e := range w.all {
		e.drain()
	}
	err = p.passError(ctx, err)
	// Commit every sink and record the unit, or abort them all.
	if err == nil {
		err = p.commit(ctx, ps)
	}
	if err != nil {
		p.abort(ps)
	}
	if cerr := p.closePass(ps); err == nil {
		err = cerr
	}
	return err
}

// wiring is a pass's edges: one per (consumer, input position).
type wiring struct {
	outs, ins map[*node][]*edge
	all       []*edge
}

// wire makes a pass's edges, sharing max_bytes_in_flight between the
// passes in flight and their edges.
func (p *Pipeline) wire() *wiring {
	w := &wiring{outs: map[*node][]*edge{}, ins: map[*node][]*edge{}}
	nEdges := 0
	for _, n := range p.nodes {
		nEdges += len(n.inputs)
	}
	perEdge := p.budget / passesInFlight
	if nEdges > 0 {
		perEdge /= int64(nEdges)
	}
	for _, n := range p.nodes {
		for _, in := range n.inputs {
			e := newEdge(perEdge)
			w.all = append(w.all, e)
			w.ins[n] = append(w.ins[n], e)
			w.outs[in] = append(w.outs[in], e)
		}
	}
	return w
}

// runStages runs every stage of the pass in its own goroutine and waits
// for them all; the pass is marked read once its sources are done.
func (p *Pipeline) runStages(ctx context.Context, ps *pass, w *wiring) error {
	g, gctx := errgroup.WithContext(ctx)
	var sources sync.WaitGroup
	for _, n := range p.nodes {
		if n.entry.Kind == stages.KindSource {
			sources.Add(1)
		}
		g.Go(func() error {
			defer func() {
				for _, e := range w.outs[n] {
					e.close()
				}
				if n.entry.Kind == stages.KindSource {
					sources.Done()
				}
			}()
			return p.runGuarded(gctx, ps, n, w)
		})
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sources.Wait()
		ps.markRead()
	}()
	err := g.Wait()
	<-done        // every goroutine above has returned, so sources are done
	ps.markRead() // a pass that failed before its sources finished
	return err
}

// runGuarded runs one stage, turning a panic into its error and naming
// the stage in any error.
func (p *Pipeline) runGuarded(ctx context.Context, ps *pass, n *node, w *wiring) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
		if err != nil {
			n.stats.Errors.Add(1)
			err = &StageError{Stage: n.def.ID, Err: err}
		}
	}()
	ctx, span := p.startStage(ctx, ps, n)
	defer func() { tracing.End(span, err) }()
	return p.runNode(ctx, ps, n, w.ins[n], w.outs[n])
}

// passError is the pass's outcome once its stages returned: a hard stop
// is reported as such rather than as a stage's failure to send, and a
// soft stop as ErrInterrupted.
func (p *Pipeline) passError(ctx context.Context, err error) error {
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("run cancelled: %w", ctx.Err())
	}
	if err == nil && p.isStopped() {
		err = ErrInterrupted
	}
	return err
}

// closePass collects every stage instance's report and closes it (and its
// dead-letter sink), returning the close errors joined.
func (p *Pipeline) closePass(ps *pass) error {
	var closeErrs []error
	for _, n := range p.nodes {
		in := ps.st[n.idx]
		p.collectReport(n, in.stage)
		if cerr := in.stage.Close(); cerr != nil {
			closeErrs = append(closeErrs, &StageError{Stage: n.def.ID, Err: cerr})
		}
		if in.dlq != nil {
			if cerr := in.dlq.Close(); cerr != nil {
				closeErrs = append(closeErrs, &StageError{Stage: n.def.ID, Err: fmt.Errorf("dead_letter: %w", cerr)})
			}
		}
	}
	return errors.Join(closeErrs...)
}

func (p *Pipeline) commit(ctx context.Context, ps *pass) error {
	for _, n := range p.nodes {
		in := ps.st[n.idx]
		if n.policy == nil {
			continue
		}
		if err := n.policy.checkBudget(); err != nil {
			return err
		}
		if in.dlq == nil {
			continue
		}
		// A unit without failed rows leaves no dead-letter file.
		if in.reject.rows == 0 {
			if a, ok := in.dlq.(stages.Aborter); ok {
				if err := a.Abort(); err != nil {
					return &StageError{Stage: n.def.ID, Err: fmt.Errorf("dead_letter: %w", err)}
				}
				continue
			}
		}
		if err := in.dlq.Commit(ctx); err != nil {
			return &StageError{Stage: n.def.ID, Err: fmt.Errorf("dead_letter: commit: %w", err)}
		}
	}
	for _, n := range p.nodes {
		sink, ok := ps.st[n.idx].stage.(stages.Sink)
		if !ok {
			continue
		}
		start := time.Now()
		err := commitSink(ctx, sink)
		n.stats.BusyNanos.Add(int64(time.Since(start)))
		if err != nil {
			return &StageError{Stage: n.def.ID, Err: fmt.Errorf("commit: %w", err)}
		}
	}
	return p.recordUnit(ps)
}

// commitSink commits a sink, turning a panic into an error.
func commitSink(ctx context.Context, s stages.Sink) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return s.Commit(ctx)
}

func (p *Pipeline) abort(ps *pass) {
	for _, n := range p.nodes {
		for _, st := range []stages.Stage{ps.st[n.idx].stage, ps.st[n.idx].dlq} {
			if a, ok := st.(stages.Aborter); ok {
				if err := a.Abort(); err != nil {
					p.log.Warn("abort failed", "stage", n.def.ID, "err", err)
				}
			}
		}
	}
}

// runNode runs one stage until its input ends or the context is cancelled.
func (p *Pipeline) runNode(ctx context.Context, ps *pass, n *node, in, out []*edge) error {
	emit := func(ctx context.Context, rec arrow.RecordBatch) error {
		return p.emit(ctx, n, out, rec)
	}
	inst := ps.st[n.idx]
	switch st := inst.stage.(type) {
	case stages.Source:
		return p.runSource(ctx, n, st, emit)
	case stages.Transform:
		return p.runTransform(ctx, n, st, inst.reject, in[0], emit)
	case stages.Operator:
		return p.runOperator(ctx, n, st, in, emit)
	case stages.Sink:
		return p.runSink(ctx, n, st, in[0])
	}
	return fmt.Errorf("stage of type %T has no known role", inst.stage)
}

// emit sends rec to every consumer of n, retaining once per extra consumer.
// It takes ownership of rec.
func (p *Pipeline) emit(ctx context.Context, n *node, out []*edge, rec arrow.RecordBatch) error {
	rows := rec.NumRows()
	if len(out) == 0 || rows == 0 {
		if rows > 0 {
			n.stats.RowsOut.Add(rows)
			n.stats.BatchesOut.Add(1)
		}
		rec.Release()
		return nil
	}
	size := recordBytes(rec)
	n.stats.RowsOut.Add(rows)
	n.stats.BatchesOut.Add(1)
	n.stats.BytesOut.Add(size)
	for range len(out) - 1 {
		rec.Retain()
	}
	start := time.Now()
	defer func() { n.stats.BlockedNanos.Add(int64(time.Since(start))) }()
	for i, e := range out {
		if err := e.send(ctx, rec, size); err != nil {
			for range len(out) - i {
				rec.Release()
			}
			return err
		}
	}
	return nil
}

func (p *Pipeline) runSource(ctx context.Context, n *node, src stages.Source, emit stages.Emit) error {
	rp, _ := src.(stages.ReadProgresser)
	var read int64 // what rp said last
	defer func() {
		if rp != nil {
			n.stats.BytesRead.Add(rp.BytesRead() - read)
		}
	}()
	for {
		select {
		case <-p.stop:
			return nil
		default:
		}
		start := time.Now()
		rec, err := src.Next(ctx)
		n.stats.BusyNanos.Add(int64(time.Since(start)))
		if rp != nil {
			r := rp.BytesRead()
			n.stats.BytesRead.Add(r - read)
			read = r
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := emit(ctx, rec); err != nil {
			return err
		}
	}
}

func (p *Pipeline) recvIn(ctx context.Context, n *node, e *edge) (arrow.RecordBatch, bool, error) {
	start := time.Now()
	rec, ok, err := e.recv(ctx)
	n.stats.BlockedInNanos.Add(int64(time.Since(start)))
	if ok {
		n.stats.RowsIn.Add(rec.NumRows())
		n.stats.BatchesIn.Add(1)
	}
	return rec, ok, err
}

func (p *Pipeline) runTransform(ctx context.Context, n *node, t stages.Transform, reject *passRejecter, in *edge, emit stages.Emit) error {
	for {
		rec, ok, err := p.recvIn(ctx, n, in)
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		start := time.Now()
		out, err := t.Process(ctx, rec)
		if err != nil && reject != nil && ctx.Err() == nil {
			// on_error skip or dead_letter: set the failing rows aside.
			err = p.isolateRows(ctx, reject, t, rec, err, emit)
			out = nil
		}
		n.stats.BusyNanos.Add(int64(time.Since(start)))
		rec.Release()
		if err != nil {
			return err
		}
		if out != nil {
			if err := emit(ctx, out); err != nil {
				return err
			}
		}
	}
	f, ok := t.(stages.Flusher)
	if !ok {
		return nil
	}
	for {
		start := time.Now()
		out, err := f.Flush(ctx)
		n.stats.BusyNanos.Add(int64(time.Since(start)))
		if err != nil {
			return err
		}
		if out == nil {
			return nil
		}
		if err := emit(ctx, out); err != nil {
			return err
		}
	}
}

// runOperator feeds each input edge into a channel through a forwarder
// goroutine owned by this call, and runs the operator's loop.
func (p *Pipeline) runOperator(ctx context.Context, n *node, op stages.Operator, in []*edge, emit stages.Emit) error {
	octx, cancel := context.WithCancel(ctx)
	defer cancel()
	chans := make([]<-chan arrow.RecordBatch, len(in))
	var wg sync.WaitGroup
	for i, e := range in {
		ch := make(chan arrow.RecordBatch)
		chans[i] = ch
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(ch)
			for {
				rec, ok, err := p.recvIn(octx, n, e)
				if err != nil { // only when the context ended, reported below
					return
				}
				if !ok {
					return
				}
				select {
				case ch <- rec:
				case <-octx.Done():
					rec.Release()
					return
				}
			}
		}()
	}
	start := time.Now()
	err := op.Run(octx, chans, emit)
	n.stats.BusyNanos.Add(int64(time.Since(start)))
	cancel()
	// Release what the operator left unread, then wait for the forwarders.
	for _, ch := range chans {
		for rec := range ch {
			rec.Release()
		}
	}
	wg.Wait()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	return err
}

func (p *Pipeline) runSink(ctx context.Context, n *node, s stages.Sink, in *edge) error {
	for {
		rec, ok, err := p.recvIn(ctx, n, in)
		if err != nil {
			return err
		}
		if !ok {
			return nil
		}
		start := time.Now()
		err = s.Write(ctx, rec)
		n.stats.BusyNanos.Add(int64(time.Since(start)))
		if err == nil {
			n.stats.RowsOut.Add(rec.NumRows())
			n.stats.BatchesOut.Add(1)
		}
		rec.Release()
		if err != nil {
			return err
		}
	}
}
