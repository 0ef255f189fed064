package pipeline

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"go.opentelemetry.io/otel/trace"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/observe/tracing"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// UnitsReport says how a run split its work: the job's work units, the
// shard this process ran, and how many units an earlier run had already
// committed (resume).
type UnitsReport struct {
	// Total is the number of work units of the whole job.
	Total int `json:"total"`
	// Shard is "i/n"; "0/1" for an unsharded run.
	Shard string `json:"shard"`
	// Assigned is the number of units of this shard.
	Assigned int `json:"assigned"`
	// Skipped counts assigned units found committed with this job's
	// fingerprint and left alone; Ran counts units computed by this run.
	Skipped int `json:"skipped"`
	// Kept counts, of the skipped units, those an incremental run kept
	// from the committed output (their inputs unchanged).
	Kept int `json:"kept,omitempty"`
	Ran  int `json:"ran"`
	// Committed is true when the run wrote the folders' manifests and
	// success markers: every shard was done.
	Committed bool `json:"committed"`
	// Waiting lists the shards without a manifest when Committed is false.
	Waiting []int `json:"waiting_for,omitempty"`
	// Resumable is true when a rerun keeps the units committed by this
	// run and earlier ones: the sinks write folders and the run does not
	// overwrite.
	Resumable bool `json:"resumable"`
}

// logResume says, once, what the run does with an earlier run's output:
// it resumes (keeps the units committed with this fingerprint and replaces
// the rest of what the earlier run left), or replaces an incomplete
// earlier run's files.
func (p *Pipeline) logResume(u *UnitsReport, todo int) {
	if u.Skipped > 0 {
		p.log.Info(fmt.Sprintf("resuming: %d of %d work units are already committed and kept; computing the other %d", u.Skipped, u.Assigned, todo),
			"shard", p.shard.String())
		return
	}
	leftovers := 0
	for _, d := range p.fileDirs() {
		f := folderAt(d.dir)
		m := output.Committed(context.Background(), f)
		if m == nil {
			m = &output.Manifest{}
		}
		if names, err := output.Unlisted(context.Background(), f, m); err == nil {
			leftovers += len(names)
		}
	}
	if leftovers > 0 {
		p.log.Info("output folder holds an incomplete earlier run; its uncommitted files will be replaced", "files", leftovers)
	}
}

// unitPlan is how a run splits its job.
type unitPlan struct {
	units   []stages.Unit
	sharder stages.Sharder   // nil: one unit, every stage rebuilt
	src     *node            // the sharded source
	empty   bool             // the source has no unit: one pass reads nothing
	mine    []int            // units of this shard
	todo    []int            // units of this shard not yet committed
	fps     []string         // each unit's fingerprint
	kept    map[int]keptUnit // units of this shard kept from committed output (incremental)
}

// planUnits lists the job's work units. A job with exactly one source that
// splits ([stages.Sharder]) has that source's units; any other job is one
// unit.
func (p *Pipeline) planUnits() (*unitPlan, error) {
	plan, err := p.listUnits(p.shard.count())
	if err != nil {
		return nil, err
	}
	plan.mine = AssignUnits(plan.units, p.shard)
	p.unitFingerprints(plan)
	plan.kept = p.findKept(context.Background(), plan)
	dirs := p.fileDirs()
	for _, u := range plan.mine {
		if plan.kept[u] != nil {
			continue
		}
		done := len(dirs) > 0 && !p.overwrite
		for _, d := range dirs {
			if done && !output.UnitDone(context.Background(), folderAt(d.dir), u, plan.fps[u]) {
				done = false
			}
		}
		if !done {
			plan.todo = append(plan.todo, u)
		}
	}
	return plan, nil
}

// WorkUnits lists the job's work units, in the order shards split them.
// Call it before Run.
func (p *Pipeline) WorkUnits() []stages.Unit {
	plan, _ := p.listUnits(1)
	return plan.units
}

// CheckShards reports, before any data moves, whether the job can run as
// n shards: a job that is one work unit (several sources, or a source that
// does not split) cannot, for n > 1.
func (p *Pipeline) CheckShards(n int) error {
	_, err := p.listUnits(n)
	return err
}

// listUnits lists the job's work units; it fails when the job is one unit
// and shards > 1.
func (p *Pipeline) listUnits(shards int) (*unitPlan, error) {
	var srcs []*node
	for _, n := range p.nodes {
		if n.entry.Kind == stages.KindSource {
			srcs = append(srcs, n)
		}
	}
	plan := &unitPlan{}
	if len(srcs) == 1 {
		if sh, ok := srcs[0].stage.(stages.Sharder); ok {
			plan.sharder, plan.src = sh, srcs[0]
			plan.units = sh.Units(p.unitRows)
			if len(plan.units) == 0 {
				// No rows at all: one pass over nothing, so that the sinks
				// still write a file holding the schema.
				plan.empty = true
				plan.units = []stages.Unit{{Key: "no input rows", Rows: 0}}
			}
		}
	}
	if plan.sharder == nil {
		rows := int64(-1)
		if len(srcs) == 1 {
			if rc, ok := srcs[0].stage.(stages.RowCounter); ok {
				if n, ok := rc.TotalRows(); ok {
					rows = n
				}
			}
		}
		plan.units = []stages.Unit{{Key: "all input", Rows: rows}}
		if shards > 1 {
			why := fmt.Sprintf("it has %d sources", len(srcs))
			if len(srcs) == 1 {
				why = fmt.Sprintf("its source %q (%s) does not split into work units", srcs[0].def.ID, srcs[0].def.Type)
			}
			return plan, fmt.Errorf("%w: the job is one work unit: %s", ErrNotShardable, why)
		}
	}
	return plan, nil
}

// ErrNotShardable is returned when a job that is one work unit is asked to
// run as several shards.
var ErrNotShardable = errors.New("cannot split the job into shards")

// fileDir is the output folder of a sink that lists its files: a sink
// stage's, or a stage's dead-letter folder.
type fileDir struct {
	n   *node
	dir string
	dlq bool // the folder of n's dead-letter sink
}

// folderKey names an output folder by its writer: a node's sink or its
// dead-letter sink.
type folderKey struct {
	idx int
	dlq bool
}

func (d fileDir) key() folderKey { return folderKey{d.n.idx, d.dlq} }

// lister returns the sink built by Build that writes the folder.
func (d fileDir) lister() stages.FileLister { return d.pick(d.n.stage, d.n.dlq) }

// pick returns whichever of a node's sink and dead-letter sink writes the
// folder, as a FileLister.
func (d fileDir) pick(stage stages.Stage, dlq stages.Sink) stages.FileLister {
	var st stages.Stage = stage
	if d.dlq {
		st = dlq
	}
	fl, _ := st.(stages.FileLister)
	return fl
}

// id names the folder's writer in messages and manifests.
func (d fileDir) id() string {
	if d.dlq {
		return d.n.def.ID + ".dead_letter"
	}
	return d.n.def.ID
}

func (p *Pipeline) fileDirs() []fileDir {
	var out []fileDir
	for _, n := range p.nodes {
		if fl, ok := n.stage.(stages.FileLister); ok && fl.OutputDir() != "" {
			out = append(out, fileDir{n: n, dir: fl.OutputDir()})
		}
		if fl, ok := n.dlq.(stages.FileLister); ok && fl.OutputDir() != "" {
			out = append(out, fileDir{n: n, dir: fl.OutputDir(), dlq: true})
		}
	}
	return out
}

// runUnits runs the shard's uncommitted work units in order, each as one
// pass of the graph over freshly built stages, passesInFlight at a time,
// committing each unit's output on its own. The first failure cancels the
// passes in flight; units committed before it stay committed.
func (p *Pipeline) runUnits(ctx context.Context, rep *Report, tl *unitTimeline) error {
	plan, err := p.planUnits()
	if err != nil {
		p.closeBuilt(nil)
		return err
	}
	p.plan = plan
	rep.Units = &UnitsReport{Total: len(plan.units), Shard: p.shard.String(), Assigned: len(plan.mine), Skipped: len(plan.mine) - len(plan.todo), Kept: len(plan.kept)}
	rep.Units.Resumable = len(p.fileDirs()) > 0 && !p.overwrite
	if p.job.Incremental() {
		p.logIncremental(plan)
	} else {
		p.logResume(rep.Units, len(plan.todo))
	}
	// Progress: the rows still to read.
	todo := make([]stages.Unit, len(plan.todo))
	for i, u := range plan.todo {
		todo[i] = plan.units[u]
	}
	total := stages.SumRows(todo)
	for _, n := range p.nodes {
		n.stats.TotalRows.Store(-1)
		if n.entry.Kind == stages.KindSource && (plan.sharder != nil || total >= 0) {
			n.stats.TotalRows.Store(total)
		}
		if n.entry.Kind == stages.KindSource {
			n.stats.UnitsTotal.Store(int64(len(plan.todo)))
			n.stats.BytesTotal.Store(stages.SumBytes(todo))
		}
	}
	p.closeBuilt(plan.src)
	if len(plan.todo) > 0 || len(plan.kept) > 0 {
		if err := p.prepareFolders(); err != nil {
			return err
		}
		if err := p.recordKept(ctx, plan); err != nil {
			return err
		}
	}
	ran, err := p.runPasses(ctx, plan, tl)
	rep.Units.Ran = ran
	return err
}

// firstError keeps the first error reported to it; safe for concurrent use.
type firstError struct {
	mu  sync.Mutex
	err error
}

func (f *firstError) set(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
	}
}

func (f *firstError) get() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// runPasses runs a pass per unit to do and returns how many succeeded and
// the first failure. A unit's pass starts when the previous one has read
// all its input: one drains (its last batches, its files' completion and
// fsync) while the next one reads, so at most passesInFlight are in flight
// and their model calls overlap only in that drain. A failing pass stops
// new ones from starting; the others in flight finish and commit, so that a
// rerun has less to redo.
func (p *Pipeline) runPasses(ctx context.Context, plan *unitPlan, tl *unitTimeline) (int, error) {
	var (
		wg    sync.WaitGroup
		first firstError
		ran   atomic.Int64
		prev  *pass
	)
	slots := make(chan struct{}, passesInFlight)
	for _, u := range plan.todo {
		if prev != nil {
			<-prev.read
		}
		slots <- struct{}{}
		switch {
		case first.get() != nil:
		case p.isStopped():
			first.set(ErrInterrupted)
		case ctx.Err() != nil:
			first.set(fmt.Errorf("run cancelled: %w", ctx.Err()))
		}
		var ps *pass
		if first.get() == nil {
			var err error
			if ps, err = p.instantiate(plan, u); err != nil {
				first.set(err)
			}
		}
		if ps == nil {
			<-slots
			break
		}
		prev = ps
		wg.Go(func() {
			defer func() { <-slots }()
			span := tl.begin(u, plan.units[u].Key)
			uctx, uspan := p.startUnit(ctx, plan, u)
			err := p.runPassSafely(uctx, ps)
			tracing.End(uspan, err)
			tl.end(span, err)
			switch {
			case err == nil:
				ran.Add(1)
				p.unitDone()
			case len(plan.units) > 1 && !errors.Is(err, ErrInterrupted):
				first.set(fmt.Errorf("work unit %d (%s): %w", u, plan.units[u].Key, err))
			default:
				first.set(err)
			}
		})
	}
	wg.Wait()
	return int(ran.Load()), first.get()
}

// unitDone counts a committed unit on every source's figures.
func (p *Pipeline) unitDone() {
	for _, n := range p.nodes {
		if n.entry.Kind == stages.KindSource {
			n.stats.UnitsDone.Add(1)
		}
	}
}

// runPassSafely runs a pass, turning a panic outside the stages'
// goroutines (which recover their own) into an error, after aborting and
// closing the pass's stages.
func (p *Pipeline) runPassSafely(ctx context.Context, ps *pass) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
			ps.markRead()
			p.abort(ps)
			ps.close()
		}
	}()
	return p.runPass(ctx, ps)
}

// passesInFlight is how many work units run at once.
const passesInFlight = 2

// closeBuilt closes the stages built by Build, which checked the job; every
// pass builds its own. keep (the sharded source, which makes the passes'
// sources) stays open until the run ends.
func (p *Pipeline) closeBuilt(keep *node) {
	for _, n := range p.nodes {
		if n.dlq != nil {
			if err := n.dlq.Close(); err != nil {
				p.log.Warn("close", "stage", n.def.ID, "output", "dead_letter", "err", err)
			}
		}
		if keep != nil && n == keep {
			p.keep = n.stage
			continue
		}
		if err := n.stage.Close(); err != nil {
			p.log.Warn("close", "stage", n.def.ID, "err", err)
		}
	}
}

// pass is one work unit's run of the graph: a fresh instance of every
// stage (indexed like Pipeline.nodes), with its dead-letter sink and
// rejecter where the stage has an on_error policy.
type pass struct {
	unit int
	// spans holds each stage's span on the pass, for the batch events of
	// traced runs (nil when the run is not traced).
	spans []atomic.Pointer[trace.Span]
	st    []inst
	// read is closed when the pass's sources have read everything (or the
	// pass ended): the next unit's pass may start then.
	read     chan struct{}
	readOnce sync.Once
}

// markRead closes ps.read, once.
func (ps *pass) markRead() { ps.readOnce.Do(func() { close(ps.read) }) }

type inst struct {
	stage  stages.Stage
	dlq    stages.Sink   // nil without dead_letter
	reject *passRejecter // nil without on_error skip or dead_letter
}

// lister returns the pass's sink writing folder d.
func (ps *pass) lister(d fileDir) stages.FileLister {
	in := ps.st[d.n.idx]
	return d.pick(in.stage, in.dlq)
}

// close closes every instance of the pass.
func (ps *pass) close() []error {
	var errs []error
	for _, in := range ps.st {
		if in.stage != nil {
			if err := in.stage.Close(); err != nil {
				errs = append(errs, err)
			}
		}
		if in.dlq != nil {
			if err := in.dlq.Close(); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// instantiate builds every stage for one work unit: the sharded source's
// shard of the unit, the other stages from their configs, sinks naming
// their files after the unit. On error nothing is left open.
func (p *Pipeline) instantiate(plan *unitPlan, unit int) (*pass, error) {
	ps := &pass{unit: unit, st: make([]inst, len(p.nodes)), read: make(chan struct{})}
	for _, n := range p.nodes {
		in := &ps.st[n.idx]
		var err error
		if n.policy != nil {
			in.reject = &passRejecter{ep: n.policy, unit: plan.units[unit].Key, p: p}
			if n.policy.dir != "" {
				in.dlq, err = p.buildDeadLetter(n, output.PartPrefix(unit, p.gens[folderKey{n.idx, true}]))
				in.reject.dlq = in.dlq
			}
		}
		var st stages.Stage
		switch {
		case err != nil:
		case n == plan.src && plan.empty:
			st, err = plan.sharder.Shard(p.unitRows, []int{})
		case n == plan.src:
			st, err = plan.sharder.Shard(p.unitRows, []int{unit})
			if rt, ok := st.(stages.RejecterTaker); ok && err == nil && in.reject != nil {
				rt.SetRejecter(in.reject)
			}
		default:
			env := p.stageEnv(n)
			if n.entry.Kind == stages.KindSink {
				env.PartPrefix = output.PartPrefix(unit, p.gens[folderKey{n.idx, false}])
			}
			if in.reject != nil {
				env.Reject = in.reject
			}
			p.traceBatches(ps, n, env)
			st, err = buildSafely(n.entry, n.conf, env)
		}
		if err == nil && n.entry.Kind != stages.KindSink && !st.Schema().Equal(n.schema) {
			_ = st.Close()
			err = fmt.Errorf("schema changed since the job was checked: %s, was %s", st.Schema(), n.schema)
		}
		if err != nil {
			ps.close()
			return nil, &StageError{Stage: n.def.ID, Err: fmt.Errorf("work unit %d (%s): %w", unit, plan.units[unit].Key, err)}
		}
		in.stage = st
	}
	return ps, nil
}

// prepareFolders readies every sink folder for new units, under the run's
// lock: it removes what a replacement stopped before its clean-up left, the
// manifests of shards of other jobs, creates the units journal (whose
// presence marks part files as an unfinished run's) and picks the
// generation the run's files are named in: one past the committed output's,
// which stays whole until the run's own manifest replaces it.
func (p *Pipeline) prepareFolders() error {
	ctx := context.Background()
	fp := p.Fingerprint()
	p.gens = map[folderKey]int{}
	for _, d := range p.fileDirs() {
		wrap := func(err error) error {
			return &StageError{Stage: d.id(), Err: fmt.Errorf("prepare %s: %w", d.dir, err)}
		}
		f := folderAt(d.dir)
		if err := output.CheckPipeFolders(ctx, f); err != nil {
			return wrap(err)
		}
		if err := f.MkdirAll(ctx, stages.UnitsDir); err != nil {
			return wrap(err)
		}
		m := output.Committed(ctx, f)
		if err := output.RemoveStale(ctx, f, m); err != nil {
			return wrap(err)
		}
		p.gens[d.key()] = output.NextGeneration(m)
		output.RemoveOtherShardManifests(ctx, f, fp)
		if err := f.Sync(ctx, ""); err != nil {
			return wrap(err)
		}
	}
	return nil
}

// recordUnit writes the unit's journal entry into every sink folder, after
// every sink of the pass committed.
func (p *Pipeline) recordUnit(ps *pass) error {
	unit := ps.unit
	if err := failpoint.Inject("commit/beforeUnitRecord"); err != nil {
		return err
	}
	ctx := context.Background()
	fp := p.plan.fps[unit]
	var inputs []output.InputFile
	if p.job.Incremental() {
		inputs = p.stampInputs(p.plan.units[unit])
	}
	for _, d := range p.fileDirs() {
		f := folderAt(d.dir)
		files, rows, err := output.DescribeFiles(ctx, f, ps.lister(d).OutputFiles())
		if err != nil {
			return &StageError{Stage: d.id(), Err: fmt.Errorf("record unit %d: %w", unit, err)}
		}
		if !d.dlq {
			for _, fl := range files {
				d.n.stats.BytesOut.Add(fl.Bytes) // a sink's bytes out: what it wrote
			}
		}
		r := &output.UnitRecord{Version: output.ManifestVersion, Fingerprint: fp, Unit: unit, Key: p.plan.units[unit].Key, Rows: rows, Files: files,
			Generation: p.gens[d.key()], Inputs: inputs}
		if err := output.WriteUnitRecord(ctx, f, r); err != nil {
			return &StageError{Stage: d.id(), Err: fmt.Errorf("record unit %d: %w", unit, err)}
		}
	}
	return failpoint.Inject("commit/afterUnitRecord")
}
