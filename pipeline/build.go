package pipeline

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/trace"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/mempool"
	"github.com/pipe-ml/pipe/stages"
)

// BuildOptions configure [Build].
type BuildOptions struct {
	// Registry holds the stage types; nil means stages.Default().
	Registry *stages.Registry
	// Mem allocates every Arrow buffer of the run; nil means a pool that
	// recycles freed buffers (internal/mempool, keeping at most 64 MiB).
	Mem memory.Allocator
	// Log receives the run's log lines; nil discards them.
	Log *slog.Logger
	// Batches is told about every batch a model stage completes (metrics,
	// progress); nil: nobody watches.
	Batches stages.BatchObserver
	// MaxBytesInFlight bounds the bytes of batches queued between stages
	// (0: the job's resources.max_bytes_in_flight, else
	// DefaultMaxBytesInFlight).
	MaxBytesInFlight int64
	// Registerer receives the run's Prometheus metrics; nil: none are
	// registered. Never the global registry.
	Registerer prometheus.Registerer
	// Health reads the machine's health signals for the executor (thermal
	// state scales accelerated backends, memory pressure evicts models);
	// nil: not polled. The binary passes the Apple bridge's reader.
	Health func() (executor.HealthReading, error)
	// Overwrite lets the run replace complete output whatever its
	// fingerprint (pipe run --overwrite): sinks get
	// [stages.Env.Overwrite] and [Pipeline.CheckOutputs] never reports
	// [ErrUpToDate].
	Overwrite bool
	// Shard selects the work units this process runs (pipe run --shard);
	// the zero value runs them all.
	Shard Shard
	// Tracer records the run's spans (see trace.go); nil records none.
	Tracer trace.Tracer
}

// Pipeline is a built job: every stage constructed and checked, ready to
// run once.
type Pipeline struct {
	job      *Job
	nodes    []*node // topological order
	warnings []Problem
	mem      memory.Allocator
	log      *slog.Logger
	budget   int64
	exec     *executor.Executor
	stop     chan struct{}
	stopMu   sync.Mutex
	stopped  bool
	ran      bool

	tr        trace.Tracer         // BuildOptions.Tracer; nil: not traced
	overwrite bool                 // BuildOptions.Overwrite
	shard     Shard                // BuildOptions.Shard
	unitRows  int64                // resources.unit_rows
	batches   stages.BatchObserver // BuildOptions.Batches
	pins      *stages.FilePins     // the files the stages read, for every unit and the fingerprint
	reg       *stages.Registry
	reportMu  sync.Mutex                      // serialises collectReport across passes
	plan      *unitPlan                       // set by Run
	keep      stages.Stage                    // the sharded source built by Build, open during Run
	fpOnce    sync.Once                       // computes fp
	fp        string                          // the job's fingerprint
	jobFP     string                          // the job's fingerprint without its inputs
	objOnce   sync.Once                       // computes objs
	objs      map[string]stages.ObjectVersion // the sources' objects by URL
	memLimit  int64                           // resources.memory_limit
	locks     *folderLocks                    // held on the output folders from LockOutputs to the end of Run
	gens      map[folderKey]int               // generation of each output folder's new files (prepareFolders)
}

type node struct {
	idx       int // position in Pipeline.nodes
	def       *StageDef
	entry     *stages.Entry
	conf      any
	stage     stages.Stage
	schema    *arrow.Schema // the stage's schema when Build checked the job
	details   any           // the stage's own report, taken before Close
	policy    *errorPolicy  // on_error skip or dead_letter; nil for fail
	dlq       stages.Sink   // the dead-letter sink built by Build, for dead_letter
	inputs    []*node
	consumers []*node
	stats     *StageStats
}

// Build checks a job's graph and builds every stage, passing each the
// schemas arriving on its inputs. All problems are reported at once in a
// [*ValidationError]; on error no stage is left open.
func Build(job *Job, opts BuildOptions) (*Pipeline, error) {
	p := newPipeline(job, opts)
	ps := &problems{file: job.File}
	ps.list = append(ps.list, job.problems...)
	nodes := checkGraph(job, p.reg, ps)
	checkErrorPolicies(nodes, ps)
	order := topoOrder(nodes, ps)
	if opts.Shard.Count < 0 || opts.Shard.Index < 0 || opts.Shard.Index >= opts.Shard.count() {
		ps.add(0, 0, "", "shard %d/%d: the index must be from 0 to the count minus one", opts.Shard.Index, opts.Shard.Count)
	}
	res := decodeResources(job, ps)
	p.applyResources(res)
	applyS3(job)
	if needsExecutor(nodes) {
		p.openExecutor(res, opts, ps)
	}
	p.buildStages(job, nodes, order, ps)
	p.checkFolders(ps)
	if err := ps.err(); err != nil {
		p.closeStages(order)
		return nil, err
	}
	p.warnUnread(order)
	return p, nil
}

// newPipeline returns an empty pipeline with the options' defaults filled in.
func newPipeline(job *Job, opts BuildOptions) *Pipeline {
	reg := opts.Registry
	if reg == nil {
		reg = stages.Default()
	}
	mem := opts.Mem
	if mem == nil {
		mem = mempool.New()
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{job: job, mem: mem, log: log, budget: opts.MaxBytesInFlight, stop: make(chan struct{}),
		overwrite: opts.Overwrite, shard: opts.Shard, reg: reg, batches: opts.Batches, pins: stages.NewFilePins(), tr: opts.Tracer}
}

// decodeResources decodes the job's `resources:` block (PIPE_* overrides
// already merged), adding its problems to ps.
func decodeResources(job *Job, ps *problems) Resources {
	var res Resources
	for _, err := range stages.DecodeNode(job.resourcesNode, &res, "resources", job.Dir) {
		var fe *stages.FieldError
		if errors.As(err, &fe) {
			ps.add(fe.Line, fe.Col, "", "%s: %s", fe.Path, fe.Msg)
		} else {
			ps.add(0, 0, "", "resources: %v", err)
		}
	}
	return res
}

// applyResources sets the run's limits from res, defaults where unset.
func (p *Pipeline) applyResources(res Resources) {
	if p.budget <= 0 {
		p.budget = int64(res.MaxBytesInFlight)
	}
	if p.budget <= 0 {
		p.budget = DefaultMaxBytesInFlight
	}
	p.memLimit = int64(res.MemoryLimit)
	if p.memLimit <= 0 {
		p.memLimit = DefaultMemoryLimit
	}
	p.unitRows = int64(res.UnitRows)
	if p.unitRows <= 0 {
		p.unitRows = DefaultUnitRows
	}
}

// openExecutor creates the job's executor from its resources.
func (p *Pipeline) openExecutor(res Resources, opts BuildOptions, ps *problems) {
	ex, err := executor.New(executor.Options{
		MemoryBudget:     int64(res.MemoryBudget),
		MaxConcurrency:   res.MaxConcurrency,
		ModelMemory:      int64(res.ModelMemory),
		AdmissionTimeout: res.AdmissionTimeout.D(),
		Registerer:       opts.Registerer,
		Health:           opts.Health,
		Log:              p.log,
	})
	if err != nil {
		ps.add(0, 0, "", "resources: %v", err)
		return
	}
	p.exec = ex
}

// buildStages decodes every config (even of stages that cannot be built,
// so that all problems are reported at once) and builds the stages in
// topological order, skipping those downstream of a failure.
func (p *Pipeline) buildStages(job *Job, nodes, order []*node, ps *problems) {
	failed := map[*node]bool{}
	for _, n := range nodes {
		if n.entry == nil {
			failed[n] = true
			continue
		}
		if n.entry.NeedsExecutor {
			n.stats.Batches = newBatchStats()
		}
		if conf, ok := decodeNode(n, job, ps); ok {
			n.conf = conf
		} else {
			failed[n] = true
		}
	}
	for _, n := range order {
		skip := failed[n]
		for _, in := range n.inputs {
			skip = skip || failed[in]
		}
		if skip {
			failed[n] = true
			continue
		}
		if err := p.buildNode(n, n.conf, ps); err != nil {
			failed[n] = true
		} else if err := p.newErrorPolicy(n); err != nil {
			ps.add(n.def.node.Line, n.def.node.Column, n.def.ID, "%v", err)
			failed[n] = true
		}
	}
	p.nodes = order
	for i, n := range order {
		n.idx = i
	}
}

// checkFolders reports sinks and dead-letter outputs sharing a folder.
func (p *Pipeline) checkFolders(ps *problems) {
	seen := map[string]string{}
	for _, d := range p.fileDirs() {
		if prev, dup := seen[d.dir]; dup {
			ps.add(d.n.def.node.Line, d.n.def.node.Column, d.n.def.ID, "%s writes into %s, which %s writes too; every sink and dead-letter folder needs its own", d.id(), d.dir, prev)
		}
		seen[d.dir] = d.id()
	}
}

// closeStages closes what a failed Build opened.
func (p *Pipeline) closeStages(order []*node) {
	for _, n := range order {
		if n.stage != nil {
			_ = n.stage.Close()
		}
		if n.dlq != nil {
			_ = n.dlq.Close()
		}
	}
	if p.exec != nil {
		_ = p.exec.Close()
	}
}

// warnUnread warns about stages whose output nothing reads.
func (p *Pipeline) warnUnread(order []*node) {
	for _, n := range order {
		if n.entry.Kind != stages.KindSink && len(n.consumers) == 0 {
			p.warnings = append(p.warnings, Problem{File: p.job.File, Line: n.def.node.Line, Col: n.def.node.Column,
				Stage: n.def.ID, Msg: "output is not read by any stage"})
		}
	}
}

// checkGraph resolves types and inputs and checks ids and arity.
func checkGraph(job *Job, reg *stages.Registry, ps *problems) []*node {
	byID := map[string]*node{}
	var nodes []*node
	var ids []string
	for _, s := range job.Stages {
		n := &node{def: s, stats: &StageStats{ID: s.ID, Type: s.Type}}
		nodes = append(nodes, n)
		if s.ID == "" {
			continue
		}
		if prev, dup := byID[s.ID]; dup {
			ps.add(s.idNode.Line, s.idNode.Column, "", "duplicate stage id %q (first at line %d)", s.ID, prev.def.idNode.Line)
			continue
		}
		byID[s.ID] = n
		ids = append(ids, s.ID)
	}
	for _, n := range nodes {
		s := n.def
		if s.Type != "" {
			e, err := reg.Lookup(s.Type)
			if err != nil {
				ps.add(s.typeNode.Line, s.typeNode.Column, s.ID, "%v", err)
			} else {
				n.entry = e
				n.stats.Kind = e.Kind.String()
			}
		}
		for i, in := range s.Inputs {
			pos := s.inputNodes[i]
			src, ok := byID[in]
			switch {
			case in == s.ID:
				ps.add(pos.Line, pos.Column, s.ID, "a stage cannot read its own output")
				n.entry = nil
			case !ok:
				msg := fmt.Sprintf("input %q is not a stage of this job", in)
				if near := nearest(in, ids); near != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", near)
				}
				ps.add(pos.Line, pos.Column, s.ID, "%s", msg)
				n.entry = nil
			default:
				n.inputs = append(n.inputs, src)
				src.consumers = append(src.consumers, n)
			}
		}
		if n.entry != nil {
			checkArity(n, ps)
		}
	}
	return nodes
}

func checkArity(n *node, ps *problems) {
	e, s := n.entry, n.def
	got := len(s.Inputs)
	line, col := s.node.Line, s.node.Column
	switch {
	case e.Kind == stages.KindSource && got > 0:
		ps.add(line, col, s.ID, "%s is a source and takes no inputs", e.Name)
		n.entry = nil
	case e.Kind != stages.KindSource && got == 0:
		ps.add(line, col, s.ID, "%s needs %s (add inputs: [...])", e.Name, inputsWanted(e))
		n.entry = nil
	case e.Kind != stages.KindSource && (got < e.MinInputs || (e.MaxInputs >= 0 && got > e.MaxInputs)):
		ps.add(line, col, s.ID, "%s takes %s, got %d", e.Name, inputsWanted(e), got)
		n.entry = nil
	}
}

func inputsWanted(e *stages.Entry) string {
	switch {
	case e.MaxInputs < 0:
		return fmt.Sprintf("at least %d inputs", e.MinInputs)
	case e.MinInputs == e.MaxInputs && e.MinInputs == 1:
		return "exactly one input"
	case e.MinInputs == e.MaxInputs:
		return fmt.Sprintf("exactly %d inputs", e.MinInputs)
	}
	return fmt.Sprintf("%d to %d inputs", e.MinInputs, e.MaxInputs)
}

// topoOrder sorts nodes so that every stage comes after its inputs,
// keeping file order among independent stages, and reports cycles.
func topoOrder(nodes []*node, ps *problems) []*node {
	indeg := map[*node]int{}
	for _, n := range nodes {
		indeg[n] = len(n.inputs)
	}
	var order []*node
	done := map[*node]bool{}
	for progress := true; progress; {
		progress = false
		for _, n := range nodes {
			if done[n] || indeg[n] > 0 {
				continue
			}
			done[n], progress = true, true
			order = append(order, n)
			for _, c := range n.consumers {
				indeg[c]--
			}
		}
	}
	if len(order) == len(nodes) {
		return order
	}
	// Report each cycle once, starting from its first stage in file order.
	reported := map[*node]bool{}
	for _, n := range nodes {
		if done[n] || reported[n] {
			continue
		}
		cycle := findCycle(n, done)
		if cycle == nil || reported[cycle[0]] {
			continue
		}
		ids := make([]string, 0, len(cycle)+1)
		first := cycle[0]
		for _, c := range cycle {
			reported[c] = true
			ids = append(ids, c.def.ID)
			if c.def.node.Line < first.def.node.Line {
				first = c
			}
		}
		// Rotate so the cycle starts at its first stage in the file.
		for ids[0] != first.def.ID {
			ids = append(ids[1:], ids[0])
		}
		ids = append(ids, ids[0])
		ps.add(first.def.node.Line, first.def.node.Column, "", "cycle: %s", strings.Join(ids, " -> "))
	}
	for _, n := range nodes {
		if !done[n] {
			n.entry = nil
		}
	}
	return order
}

// findCycle follows inputs from n (not yet ordered) until a node repeats and
// returns the cycle in data-flow order, or nil.
func findCycle(n *node, done map[*node]bool) []*node {
	var path []*node
	pos := map[*node]int{}
	cur := n
	for cur != nil {
		if i, seen := pos[cur]; seen {
			cyc := path[i:]
			// path follows inputs (consumer -> producer); reverse for data flow.
			out := make([]*node, len(cyc))
			for j := range cyc {
				out[j] = cyc[len(cyc)-1-j]
			}
			return out
		}
		pos[cur] = len(path)
		path = append(path, cur)
		var next *node
		for _, in := range cur.inputs {
			if !done[in] {
				next = in
				break
			}
		}
		cur = next
	}
	return nil
}

// decodeNode decodes the stage's config block into its typed config.
func decodeNode(n *node, job *Job, ps *problems) (any, bool) {
	s := n.def
	conf, errs := n.entry.Decode(s.With, job.Dir)
	for _, err := range errs {
		var fe *stages.FieldError
		if errors.As(err, &fe) {
			line, col := fe.Line, fe.Col
			if line == 0 {
				line, col = s.node.Line, s.node.Column
			}
			if flag := s.setForField(fe.Path, fe.Msg); flag != "" {
				ps.addFlag(flag, s.ID, "%s: %s", fe.Path, fe.Msg)
				continue
			}
			ps.add(line, col, s.ID, "%s: %s", fe.Path, fe.Msg)
		} else {
			ps.add(s.node.Line, s.node.Column, s.ID, "%v", err)
		}
	}
	return conf, len(errs) == 0
}

// stageEnv returns the Env of n's constructor: the schemas of its inputs'
// stages in place, the job's allocator, logger, pins and, for types that
// need it, executor.
func (p *Pipeline) stageEnv(n *node) *stages.Env {
	inputs := make([]*arrow.Schema, len(n.inputs))
	inputIDs := make([]string, len(n.inputs))
	for i, in := range n.inputs {
		inputs[i] = in.schema
		inputIDs[i] = in.def.ID
	}
	env := &stages.Env{
		ID:        n.def.ID,
		Inputs:    inputs,
		InputIDs:  inputIDs,
		Mem:       p.mem,
		Log:       p.log.With("stage", n.def.ID),
		JobDir:    p.job.Dir,
		Files:     p.pins,
		Overwrite: p.overwrite,
	}
	if n.entry != nil && n.entry.NeedsExecutor {
		env.Executor = p.exec
		env.Batches = batchRecorder{stats: n.stats.Batches, next: p.batches}
	}
	return env
}

// buildNode constructs the stage from its decoded config.
func (p *Pipeline) buildNode(n *node, conf any, ps *problems) error {
	s := n.def
	st, err := buildSafely(n.entry, conf, p.stageEnv(n))
	if err != nil {
		line, col := s.node.Line, s.node.Column
		if s.With != nil {
			line, col = s.With.Line, s.With.Column
		}
		if flag := s.setForMessage(err.Error()); flag != "" {
			ps.addFlag(flag, s.ID, "%v", err)
			return err
		}
		ps.add(line, col, s.ID, "%v", err)
		return err
	}
	n.stage = st
	n.schema = st.Schema()
	return nil
}

// buildSafely turns a panic in a constructor into an error.
func buildSafely(e *stages.Entry, conf any, env *stages.Env) (s stages.Stage, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("panic while building %s stage: %v", e.Name, r)
		}
	}()
	return e.Build(conf, env)
}

// DefaultMemoryLimit is resources.memory_limit when unset.
const DefaultMemoryLimit = 1 << 30

// MemoryLimit returns the job's soft heap limit (resources.memory_limit),
// which `pipe run` applies as the Go runtime's memory limit.
func (p *Pipeline) MemoryLimit() int64 { return p.memLimit }

// Job returns the job the pipeline was built from.
func (p *Pipeline) Job() *Job { return p.job }

// Warnings returns problems that do not stop the job, such as a stage whose
// output nobody reads.
func (p *Pipeline) Warnings() []Problem { return p.warnings }

// Close releases every stage. Run closes them itself; call Close only for a
// pipeline that is built but not run (pipe validate).
func (p *Pipeline) Close() error {
	if p.ran {
		return nil
	}
	p.ran = true
	p.locks.release()
	var errs []error
	for _, n := range p.nodes {
		if err := n.stage.Close(); err != nil {
			errs = append(errs, &StageError{Stage: n.def.ID, Err: err})
		}
		if n.dlq != nil {
			if err := n.dlq.Close(); err != nil {
				errs = append(errs, &StageError{Stage: n.def.ID, Err: err})
			}
		}
	}
	if p.exec != nil {
		if err := p.exec.Close(); err != nil {
			errs = append(errs, fmt.Errorf("executor: %w", err))
		}
	}
	return errors.Join(errs...)
}

// needsExecutor reports whether any stage's type runs models.
func needsExecutor(nodes []*node) bool {
	for _, n := range nodes {
		if n.entry != nil && n.entry.NeedsExecutor {
			return true
		}
	}
	return false
}

// Executor returns the job's executor, nil when no stage runs a model.
func (p *Pipeline) Executor() *executor.Executor { return p.exec }
