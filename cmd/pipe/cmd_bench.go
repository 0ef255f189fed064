package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/mempool"
	"github.com/pipe-ml/pipe/internal/sweep"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/model"
)

// benchFlags are the settings of `pipe bench`.
type benchFlags struct {
	set                              []string
	stage                            string
	rows                             int64
	batch, instances, threads, backs string
	warmup, repeat                   int
	jsonPath, htmlPath, bestPath     string
}

func newBenchCmd(g *globals) *cobra.Command {
	var f benchFlags
	c := &cobra.Command{
		Use:   "bench JOB --stage ID",
		Short: "Sweep a model stage's settings over the job's data and find the fastest",
		Long: `Run the job's data (or --rows N of it) through one model stage while sweeping
batch sizes, instances, threads and backends, and print rows/s and batch
latency p50/p99 for every combination, marking the best.

The data arriving at the stage is computed once (the stages upstream of it
run as in the job) and held in memory. Each combination then runs --warmup
unmeasured passes and --repeat measured ones; rows/s is the median of the
measured passes, with its min-max spread. Combinations whose spread overlaps
the best one's are marked "~": their difference from the best may be noise.

Settings not swept keep the job's values; a swept setting not given keeps the
job's value as its only point. Each backend is tried strictly (no fallback).`,
		Example: `  pipe bench pipelines/quickstart.yaml --stage mlp --batch 64,256,1024 --instances 1,2
  pipe bench job.yaml --stage fraud --rows 100000 --backends cpu,ane --html bench.html --write-best job.best.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runBench(cmd, g, args[0], &f)
		},
	}
	fl := c.Flags()
	fl.StringArrayVar(&f.set, "set", nil, "override a stage setting: ID.KEY=VALUE (repeatable)")
	fl.StringVar(&f.stage, "stage", "", "id of the model stage to benchmark (required)")
	fl.Int64Var(&f.rows, "rows", 0, "use only the first N rows arriving at the stage (0: all)")
	fl.StringVar(&f.batch, "batch", "", "batch sizes (batch.max_rows) to try, comma-separated (default: the job's)")
	fl.StringVar(&f.instances, "instances", "", "instances to try, comma-separated (default: the job's)")
	fl.StringVar(&f.threads, "threads", "", "threads per model call to try, comma-separated; 0: runtime default (default: the job's)")
	fl.StringVar(&f.backs, "backends", "", "backends to try, comma-separated (default: the job's list, as one point)")
	fl.IntVar(&f.warmup, "warmup", 1, "unmeasured passes before measuring each combination")
	fl.IntVar(&f.repeat, "repeat", 3, "measured passes per combination")
	fl.StringVar(&f.jsonPath, "json", "", "write the results as JSON to FILE")
	fl.StringVar(&f.htmlPath, "html", "", "write a self-contained HTML report with charts to FILE")
	fl.StringVar(&f.bestPath, "write-best", "", "write a copy of the job with the best settings to FILE")
	return c
}

func runBench(cmd *cobra.Command, g *globals, path string, f *benchFlags) error {
	log, err := g.logger()
	if err != nil {
		return err
	}
	// Everything that can be checked without work is checked first.
	if err := checkBenchFlags(f); err != nil {
		return err
	}
	target, err := loadBenchTarget(path, f)
	if err != nil {
		return err
	}
	grid, err := benchGrid(cmd, f, target.base)
	if err != nil {
		return usage("%v", err)
	}
	// The stage is built once per combination: its placement lines are
	// noise unless asked for.
	stageLog := slog.New(slog.DiscardHandler)
	if log.Enabled(cmd.Context(), slog.LevelDebug) {
		stageLog = log
	}
	ctx := cmd.Context()
	mem := mempool.New()
	job, def := target.job, target.def
	fmt.Fprintf(g.stderr, "reading the input of stage %q...\n", def.ID)
	data, schema, err := captureInput(ctx, job, def, f.set, f.rows, mem, log)
	if err != nil {
		return fmt.Errorf("reading the input of stage %q: %w", def.ID, err)
	}
	defer releaseAll(data)
	b := &bench{entry: target.entry, base: target.base, id: def.ID, dir: job.Dir, schema: schema, data: data, mem: mem, log: stageLog}
	rep, err := b.sweep(ctx, g, grid, f, job.File)
	if err != nil {
		return err
	}
	best := sweep.MarkBest(rep.Results)
	if err := rep.WriteTable(g.stdout); err != nil {
		return err
	}
	if err := writeBenchReports(rep, job, f); err != nil {
		return err
	}
	if best < 0 {
		return errors.New("no combination could be measured")
	}
	return nil
}

// checkBenchFlags checks the flags that need no work to check.
func checkBenchFlags(f *benchFlags) error {
	switch {
	case f.stage == "":
		return usage("--stage: give the id of a model stage")
	case f.rows < 0:
		return usage("--rows: %d is negative", f.rows)
	case f.warmup < 0:
		return usage("--warmup: %d is negative", f.warmup)
	case f.repeat < 1:
		return usage("--repeat: %d; at least one measured pass is needed", f.repeat)
	}
	for _, p := range []struct{ flag, path string }{{"json", f.jsonPath}, {"html", f.htmlPath}, {"write-best", f.bestPath}} {
		if p.path != "" {
			if err := checkWritable(p.path); err != nil {
				return usage("--%s: %v", p.flag, err)
			}
		}
	}
	return nil
}

// benchTarget is the model stage a bench measures, with its decoded config.
type benchTarget struct {
	job   *pipeline.Job
	def   *pipeline.StageDef
	entry *stages.Entry
	base  *model.Config
}

// loadBenchTarget loads the job and decodes the config of the stage named
// by --stage.
func loadBenchTarget(path string, f *benchFlags) (*benchTarget, error) {
	job, err := pipeline.LoadFile(path, pipeline.LoadOptions{Set: f.set})
	if err != nil {
		return nil, err
	}
	def, err := modelStage(job, f.stage)
	if err != nil {
		return nil, usage("--stage: %v", err)
	}
	entry, err := stages.Default().Lookup("model")
	if err != nil {
		return nil, err
	}
	raw, errs := entry.Decode(def.With, job.Dir)
	if len(errs) > 0 {
		return nil, usage("stage %q: %v", def.ID, errors.Join(errs...))
	}
	return &benchTarget{job: job, def: def, entry: entry, base: raw.(*model.Config)}, nil
}

// sweep measures every combination of grid on the captured input.
func (b *bench) sweep(ctx context.Context, g *globals, grid sweep.Grid, f *benchFlags, jobFile string) (*sweep.Report, error) {
	var rows int64
	for _, r := range b.data {
		rows += r.NumRows()
	}
	if rows == 0 {
		return nil, fmt.Errorf("stage %q receives no rows; nothing to measure", b.id)
	}
	rep := &sweep.Report{Job: jobFile, Stage: b.id, Model: filepath.Base(string(b.base.Model)), Rows: rows,
		Warmup: f.warmup, Repeats: f.repeat, Started: time.Now(), Machine: sweep.Machine()}
	combos := grid.Combinations()
	for i, c := range combos {
		fmt.Fprintf(g.stderr, "[%d/%d] %s\n", i+1, len(combos), c)
		r := b.measure(ctx, c, f.warmup, f.repeat)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

// benchGrid builds the sweep from the flags, defaulting each setting to
// the job's value.
func benchGrid(cmd *cobra.Command, f *benchFlags, base *model.Config) (sweep.Grid, error) {
	var g sweep.Grid
	var err error
	ints := func(flag, val string, def int) ([]int, error) {
		if !cmd.Flags().Changed(flag) {
			return []int{def}, nil
		}
		return sweep.ParseInts(flag, val)
	}
	batch := base.Batch.MaxRows
	if batch <= 0 {
		batch = 256
	}
	if g.Batch, err = ints("batch", f.batch, batch); err != nil {
		return g, err
	}
	if g.Instances, err = ints("instances", f.instances, max(1, base.Instances)); err != nil {
		return g, err
	}
	if g.Threads, err = ints("threads", f.threads, base.Threads); err != nil {
		return g, err
	}
	if cmd.Flags().Changed("backends") {
		if g.Backends, err = sweep.ParseNames("backends", f.backs); err != nil {
			return g, err
		}
	} else {
		g.Backends = []string{strings.Join(base.Backends, "+")}
	}
	return g, g.Validate()
}

// modelStage finds the stage id in job and checks that it is a model stage.
func modelStage(job *pipeline.Job, id string) (*pipeline.StageDef, error) {
	var models []string
	var found *pipeline.StageDef
	for _, s := range job.Stages {
		if s.Type == "model" {
			models = append(models, s.ID)
		}
		if s.ID == id {
			found = s
		}
	}
	list := "none"
	if len(models) > 0 {
		list = strings.Join(models, ", ")
	}
	switch {
	case found == nil:
		return nil, fmt.Errorf("%q is not a stage of %s (model stages: %s)", id, job.File, list)
	case found.Type != "model":
		return nil, fmt.Errorf("stage %q is a %s stage, not a model stage (model stages: %s)", id, found.Type, list)
	case len(found.Inputs) != 1:
		return nil, fmt.Errorf("stage %q has %d inputs; a model stage reads one", id, len(found.Inputs))
	}
	return found, nil
}

// checkWritable reports whether a file can be created at path, without
// leaving anything behind.
func checkWritable(path string) error {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fmt.Errorf("%s is a folder", path)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("cannot write %s: %s is not a folder", path, dir)
	}
	tmp, err := os.CreateTemp(dir, ".pipe-bench-*")
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// bench measures combinations of one model stage over data held in memory.
type bench struct {
	entry  *stages.Entry
	base   *model.Config
	id     string
	dir    string
	schema *arrow.Schema
	data   []arrow.RecordBatch
	mem    memory.Allocator
	log    *slog.Logger
}

// measure builds the stage with c's settings and times warmup+repeat
// passes over the data. A combination that cannot be built or run is
// returned with its error.
func (b *bench) measure(ctx context.Context, c sweep.Combination, warmup, repeat int) sweep.Result {
	conf := *b.base
	conf.Backends = strings.Split(c.Backend, "+")
	conf.Strict = len(conf.Backends) == 1 && conf.Backends[0] != "auto"
	conf.Instances, conf.Threads = c.Instances, c.Threads
	conf.Batch.MaxRows = c.Batch
	conf.Batch.Adaptive = nil
	conf.Batch.PreferredRows = slices.DeleteFunc(slices.Clone(conf.Batch.PreferredRows), func(n int) bool { return n > c.Batch })
	ex, err := executor.New(executor.Options{CPUThreadsPerRun: max(1, c.Threads), Log: b.log})
	if err != nil {
		return sweep.Result{Combination: c, Error: err.Error()}
	}
	defer ex.Close()
	obs := &latencies{}
	env := &stages.Env{ID: b.id, Inputs: []*arrow.Schema{b.schema}, InputIDs: []string{"input"}, Mem: b.mem,
		Log: b.log.With("stage", b.id), JobDir: b.dir,
		Executor: ex, Batches: obs}
	st, err := b.entry.Build(&conf, env)
	if err != nil {
		return sweep.Result{Combination: c, Error: firstLine(err.Error())}
	}
	defer st.Close()
	op := st.(stages.Operator)
	var runs []sweep.Measurement
	var lats []time.Duration
	for i := range warmup + repeat {
		obs.reset()
		start := time.Now()
		n, err := feed(ctx, op, b.data)
		elapsed := time.Since(start)
		if err != nil {
			return sweep.Result{Combination: c, Error: firstLine(err.Error())}
		}
		if i >= warmup {
			runs = append(runs, sweep.Measurement{Rows: n, Elapsed: elapsed})
			lats = append(lats, obs.take()...)
		}
	}
	return sweep.Summarize(c, runs, lats)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// feed runs op once over data and returns the rows it emitted. The
// batches of data stay owned by the caller.
func feed(ctx context.Context, op stages.Operator, data []arrow.RecordBatch) (int64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch := make(chan arrow.RecordBatch, 4)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(ch)
		for _, r := range data {
			r.Retain()
			select {
			case ch <- r:
			case <-ctx.Done():
				r.Release()
				return
			}
		}
	}()
	var rows int64
	err := op.Run(ctx, []<-chan arrow.RecordBatch{ch}, func(_ context.Context, rec arrow.RecordBatch) error {
		rows += rec.NumRows()
		rec.Release()
		return nil
	})
	cancel()
	for r := range ch {
		r.Release()
	}
	wg.Wait()
	return rows, err
}

// latencies collects the batch latencies a model stage reports.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) ObserveBatch(_ string, ev stages.BatchEvent) {
	l.mu.Lock()
	l.d = append(l.d, ev.Latency)
	l.mu.Unlock()
}

func (l *latencies) reset() {
	l.mu.Lock()
	l.d = l.d[:0]
	l.mu.Unlock()
}

func (l *latencies) take() []time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.d)
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

// writeBenchReports writes the JSON, HTML and best-job files asked for.
func writeBenchReports(rep *sweep.Report, job *pipeline.Job, f *benchFlags) error {
	write := func(path string, fn func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		file, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := fn(file); err != nil {
			file.Close()
			return fmt.Errorf("write %s: %w", path, err)
		}
		return file.Close()
	}
	if err := write(f.jsonPath, rep.WriteJSON); err != nil {
		return err
	}
	if err := write(f.htmlPath, rep.WriteHTML); err != nil {
		return err
	}
	best, ok := rep.Best()
	if f.bestPath == "" || !ok {
		return nil
	}
	data, err := bestJob(job.Source, rep.Stage, best.Combination)
	if err != nil {
		return fmt.Errorf("--write-best: %w", err)
	}
	return os.WriteFile(f.bestPath, data, 0o644)
}

// bestJob returns the job file src with stage id's settings set to c,
// keeping everything else (comments included) as written.
func bestJob(src []byte, id string, c sweep.Combination) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty job")
	}
	list := mapValue(doc.Content[0], "stages")
	if list == nil || list.Kind != yaml.SequenceNode {
		return nil, errors.New("no stages list")
	}
	var with *yaml.Node
	for _, s := range list.Content {
		if v := mapValue(s, "id"); v != nil && v.Value == id {
			with = mapValue(s, "with")
			if with == nil {
				with = &yaml.Node{Kind: yaml.MappingNode}
				setKey(s, "with", with)
			}
		}
	}
	if with == nil || with.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("stage %q has no with: mapping", id)
	}
	backends := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, b := range strings.Split(c.Backend, "+") {
		backends.Content = append(backends.Content, scalar(b))
	}
	setKey(with, "backends", backends)
	setKey(with, "instances", scalar(strconv.Itoa(c.Instances)))
	setKey(with, "threads", scalar(strconv.Itoa(c.Threads)))
	batch := mapValue(with, "batch")
	if batch == nil || batch.Kind != yaml.MappingNode {
		batch = &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
		setKey(with, "batch", batch)
	}
	setKey(batch, "max_rows", scalar(strconv.Itoa(c.Batch)))
	// Adaptive sizing would override the measured size.
	deleteKey(batch, "adaptive")
	var sb strings.Builder
	enc := yaml.NewEncoder(&sb)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return []byte(sb.String()), nil
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

func mapValue(m *yaml.Node, key string) *yaml.Node {
	if m == nil || m.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// setKey sets key of mapping m to v, keeping the comments of a value it
// replaces.
func setKey(m *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			old := m.Content[i+1]
			v.HeadComment, v.LineComment, v.FootComment = old.HeadComment, old.LineComment, old.FootComment
			m.Content[i+1] = v
			return
		}
	}
	m.Content = append(m.Content, scalar(key), v)
}

func deleteKey(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}
