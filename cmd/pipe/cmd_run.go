package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/applehealth"
	"github.com/pipe-ml/pipe/observe"
	"github.com/pipe-ml/pipe/observe/tracing"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// runLong is the help text of pipe run.
const runLong = `Run a job: build and check every stage, then stream the data through.

The input is split into work units (runs of Parquet row groups of at least
resources.unit_rows rows, or whole files), each computed and committed on its
own: part-UUUUU-NNNNN.parquet files plus a record in _pipe_units/. A rerun of a
killed or failed run skips the units already committed with the same job
fingerprint and computes the rest; the result is byte-identical to a clean run.

--shard i/n runs only shard i of n (contiguous units, balanced by rows);
--shard auto/n takes i from JOB_COMPLETION_INDEX (Kubernetes Indexed Jobs).
Every shard writes its manifest into _pipe_shards/; the last one to finish
(or pipe commit OUTPUT) writes the folder's _manifest.json and _SUCCESS.

The first SIGINT or SIGTERM stops the sources and drains what is in flight;
the unit being computed is not committed (units committed before are kept)
and pipe exits 1. A second signal aborts at once.

Each sink's folder gets _manifest.json (files, rows, SHA-256, the job's
fingerprint) and then _SUCCESS. Rerunning a job whose output is complete with
the same fingerprint does nothing and exits 0; complete output of another
fingerprint is refused (exit 2) unless --overwrite or the sink's overwrite: true.
A run replacing complete output writes its files under new names and leaves the
old output whole until its own _manifest.json replaces the old one.

Each sink's folder also gets metrics.json (every stage's figures, sampled over
time too) and report.html, a self-contained page drawn from it: throughput over
time, where each stage's time went, model batch sizes and latencies, and the work
units' timeline. A failed or stopped run writes both as well (and no _SUCCESS),
and ends saying what a rerun will do: resume from the committed units, or start
over.

One run writes a folder at a time (a lock in _pipe_lock/): a second run exits 2
at once, naming the holder. A folder holding files pipe did not write is
refused (exit 2) unless --overwrite, which writes beside them.`

// runFlags are the flags of pipe run.
type runFlags struct {
	set         []string
	quiet       bool
	overwrite   bool
	budget      string
	metricsAddr string
	shard       string
}

func newRunCmd(g *globals) *cobra.Command {
	var f runFlags
	c := &cobra.Command{
		Use:   "run JOB",
		Short: "Run a job",
		Long:  runLong,
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJob(g, cmd, args[0], &f)
		},
	}
	c.Flags().StringArrayVar(&f.set, "set", nil, "override a stage setting: ID.KEY=VALUE (repeatable; KEY may be dotted)")
	c.Flags().BoolVarP(&f.quiet, "quiet", "q", false, "print only warnings and errors (no progress, no summary, no info lines)")
	c.Flags().StringVar(&f.metricsAddr, "metrics-addr", "", "serve Prometheus /metrics on this address during the run (host:port; no host means loopback)")
	c.Flags().BoolVar(&f.overwrite, "overwrite", false, "replace complete output in the sinks' folders, whatever job wrote it (implies the sinks' overwrite: true)")
	c.Flags().StringVar(&f.budget, "max-bytes-in-flight", "", "budget for batches queued between stages (default 256MiB)")
	c.Flags().StringVar(&f.shard, "shard", "", "run shard i of n of the job's work units: i/n, or auto/n to take i from JOB_COMPLETION_INDEX")
	return c
}

// runJob is pipe run: it sets up logging and the progress display, builds
// and checks the job, then runs it.
func runJob(g *globals, cmd *cobra.Command, path string, f *runFlags) error {
	// Log lines go above the progress bars while they are drawn.
	errOut := g.stderr
	logOut := observe.NewLogWriter(errOut)
	g.stderr = logOut
	if fl := cmd.Flag("log-level"); f.quiet && fl != nil && !fl.Changed {
		g.logLevel = "warn" // -q: errors and warnings only
	}
	log, err := g.logger()
	if err != nil {
		return err
	}
	maxBytes, err := f.maxBytesInFlight()
	if err != nil {
		return err
	}
	watch, err := observe.NewWatch(observe.WatchOptions{MetricsAddr: f.metricsAddr, Progress: !f.quiet,
		Bars: observe.IsTerminal(errOut), Out: errOut, Log: log, LogWriter: logOut})
	if err != nil {
		return usage("--metrics-addr: %v", err)
	}
	defer watch.Stop()
	tr, err := tracing.Setup(context.Background(), "pipe", pipeline.Version)
	if err != nil {
		return usage("%v", err)
	}
	defer shutdownTracing(tr, log)
	opts := pipeline.BuildOptions{Log: log, MaxBytesInFlight: maxBytes, Health: applehealth.Read, Overwrite: f.overwrite, Tracer: tr.Tracer()}
	if opts.Shard, err = f.parseShard(); err != nil {
		return err
	}
	watch.Options(&opts)
	p, err := loadJob(g, path, f.set, opts)
	if err != nil {
		return err
	}
	if upToDate, err := checkBeforeRun(g, log, p, opts.Shard, f.quiet); upToDate || err != nil {
		return err
	}
	if err := watch.Start(p); err != nil {
		p.Close()
		return err
	}
	return runWatched(cmd.Context(), g, log, p, watch, f.quiet)
}

// maxBytesInFlight parses --max-bytes-in-flight; 0 when it is not given.
func (f *runFlags) maxBytesInFlight() (int64, error) {
	if f.budget == "" {
		return 0, nil
	}
	b, err := stages.ParseByteSize(f.budget)
	if err != nil {
		return 0, usage("--max-bytes-in-flight: %v", err)
	}
	return int64(b), nil
}

// parseShard parses --shard; the whole job when it is not given.
func (f *runFlags) parseShard() (pipeline.Shard, error) {
	if f.shard == "" {
		return pipeline.Shard{}, nil
	}
	sh, err := pipeline.ParseShard(f.shard)
	if err != nil {
		return sh, usage("--shard: %v", err)
	}
	return sh, nil
}

// runWatched runs p while watching for signals, stops the progress display
// and prints the summary (unless quiet).
func runWatched(ctx context.Context, g *globals, log *slog.Logger, p *pipeline.Pipeline, watch *observe.Watch, quiet bool) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopSignals := watchSignals(log, p.Stop, cancel)
	defer stopSignals()
	rep, err := p.Run(ctx)
	watch.Stop()
	if !quiet && rep != nil {
		fmt.Fprintln(g.stderr)
		_ = rep.WriteTable(g.stderr)
		if ex := p.Executor(); ex != nil {
			fmt.Fprintln(g.stderr)
			_ = writeBackends(g.stderr, usedBackends(ex.Backends()), false)
		}
	}
	if rep != nil && rep.TraceID != "" {
		log.Info("run traced", tracing.LogTraceID, rep.TraceID)
	}
	if err == nil || rep == nil {
		return err
	}
	if errors.Is(err, pipeline.ErrInterrupted) {
		err = fmt.Errorf("%w: the unit in progress was not committed", err)
	}
	return &runError{err: err, rerun: rep.Rerun()}
}

// runError is a run that failed or was stopped, with what a rerun will
// do, said last.
type runError struct {
	err   error
	rerun string
}

func (e *runError) Error() string { return e.err.Error() + "\n" + e.rerun }

func (e *runError) Unwrap() error { return e.err }

func newValidateCmd(g *globals) *cobra.Command {
	var (
		set     []string
		explain string
	)
	c := &cobra.Command{
		Use:   "validate JOB",
		Short: "Check a job without moving data",
		Long: `Check a job: the YAML, the graph (ids, inputs, cycles), every stage's settings,
and the schema along every edge. Sources read file metadata, never data.
Exits 0 when the job can run, 2 with every problem listed when it cannot.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if f := cmd.Flag("log-level"); f != nil && !f.Changed {
				g.logLevel = "warn" // placement lines belong to runs
			}
			log, err := g.logger()
			if err != nil {
				return err
			}
			p, err := loadJob(g, args[0], set, pipeline.BuildOptions{Log: log})
			if err != nil {
				return err
			}
			defer p.Close()
			if explain != "" {
				settings, err := p.Explain(explain)
				if err != nil {
					return usage("--explain: %v", err)
				}
				tw := tabwriter.NewWriter(g.stdout, 0, 0, 2, ' ', 0)
				fmt.Fprintf(tw, "# effective settings of stage %q; precedence: built-in default < job defaults < stage < PIPE_* variables < --set\n", explain)
				for _, s := range settings {
					fmt.Fprintf(tw, "%s:\t%s\t# %s\n", s.Key, s.Value, s.Origin)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				printEstimates(g, p.Estimates(), explain)
				return nil
			}
			fmt.Fprintf(g.stdout, "%s: ok (%d stages)\n", args[0], len(p.Stats()))
			printEstimates(g, p.Estimates(), "")
			units := p.WorkUnits()
			rows := stages.SumRows(units)
			switch {
			case len(units) == 1 && p.CheckShards(2) != nil:
				fmt.Fprintln(g.stdout, "work units: 1 (a rerun redoes the whole job; --shard i/n with n > 1 is refused)")
			case len(units) == 1:
				fmt.Fprintln(g.stdout, "work units: 1 (a rerun redoes the whole job; under --shard i/n one shard runs it, the others have nothing to do)")
			case rows >= 0:
				fmt.Fprintf(g.stdout, "work units: %d, %d rows (--shard i/n splits them)\n", len(units), rows)
			default:
				fmt.Fprintf(g.stdout, "work units: %d (--shard i/n splits them)\n", len(units))
			}
			printInputs(g, p.Inputs(), filepath.Dir(args[0]))
			return nil
		},
	}
	c.Flags().StringArrayVar(&set, "set", nil, "override a stage setting: ID.KEY=VALUE")
	c.Flags().StringVar(&explain, "explain", "", "print the effective settings of stage ID and where each came from")
	return c
}

// printInputs prints, for each source that lists its files, the files its
// paths matched and those it skipped in its folders, with the reason; at
// most maxListed of each, named relative to the job's folder dir.
func printInputs(g *globals, ins []pipeline.StageInputs, dir string) {
	const maxListed = 8
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	name := func(p string) string {
		if r, err := filepath.Rel(dir, p); err == nil && !strings.HasPrefix(r, "..") {
			return filepath.ToSlash(r)
		}
		return p
	}
	list := func(names []string) string {
		if len(names) > maxListed {
			names = append(names[:maxListed:maxListed], fmt.Sprintf("... and %d more", len(names)-maxListed))
		}
		return strings.Join(names, ", ")
	}
	for _, in := range ins {
		var m, s []string
		for _, p := range in.Matched {
			m = append(m, name(p))
		}
		fmt.Fprintf(g.stdout, "files: %s: %d matched (%s)\n", in.Stage, len(m), list(m))
		for _, n := range in.Skipped {
			s = append(s, name(n.Path)+": "+n.Reason)
		}
		if len(s) > 0 {
			fmt.Fprintf(g.stdout, "files: %s: %d skipped (%s)\n", in.Stage, len(s), list(s))
		}
	}
}

// printEstimates prints the memory estimate of every stage that makes one
// (of stage only, when only is set), and its warning on stderr.
func printEstimates(g *globals, es []pipeline.StageEstimate, only string) {
	for _, e := range es {
		if only != "" && e.Stage != only {
			continue
		}
		prefix := "memory: " + e.Stage + ": "
		if only != "" {
			prefix = "# memory: "
		}
		fmt.Fprintln(g.stdout, prefix+e.Note)
		if e.Warning != "" {
			fmt.Fprintf(g.stderr, "warning: stage %s: %s\n", e.Stage, e.Warning)
		}
	}
}

func newGraphCmd(g *globals) *cobra.Command {
	var format string
	c := &cobra.Command{
		Use:   "graph JOB",
		Short: "Print a job's stage graph (dot or mermaid)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "dot" && format != "mermaid" {
				return usage("--format: %q is not one of dot, mermaid", format)
			}
			job, err := pipeline.LoadFile(args[0], pipeline.LoadOptions{})
			if err != nil {
				return err
			}
			return pipeline.WriteGraph(g.stdout, job, format)
		},
	}
	c.Flags().StringVar(&format, "format", "dot", "output format: dot or mermaid")
	return c
}

func newDocsCmd(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "docs",
		Short: "Print the stage reference (Markdown)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return pipeline.WriteDocs(g.stdout, stages.Default())
		},
	}
}

// usedBackends keeps the backends that ran a model.
func usedBackends(bs []executor.BackendStatus) []executor.BackendStatus {
	var out []executor.BackendStatus
	for _, b := range bs {
		if len(b.Models) > 0 {
			out = append(out, b)
		}
	}
	return out
}

// watchSignals handles SIGINT and SIGTERM while a run goes on: the first
// calls stop (the soft stop: sources stop, in-flight batches drain), a
// second calls abort (cancels running model calls). The returned function
// stops watching and waits for the watcher to exit.
func watchSignals(log *slog.Logger, stop, abort func()) func() {
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for n := 1; ; n++ {
			select {
			case <-done:
				return
			case s := <-sigs:
				if n == 1 {
					log.Warn("stopping: draining in-flight batches; signal again to abort", "signal", s.String())
					stop()
				} else {
					log.Warn("aborting", "signal", s.String())
					abort()
				}
			}
		}
	})
	return func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
	}
}

// checkBeforeRun makes the checks of pipe run before any data moves, and
// applies the job's memory limit. It reports whether the output is already
// complete (nothing to run: leftovers of an unfinished replacement are
// removed); on an error or up to date it has closed p.
func checkBeforeRun(g *globals, log *slog.Logger, p *pipeline.Pipeline, sh pipeline.Shard, quiet bool) (bool, error) {
	if err := p.CheckOutputs(); err != nil {
		p.Close()
		if !errors.Is(err, pipeline.ErrUpToDate) {
			return false, &usageError{err}
		}
		if lerr := p.RemoveLeftovers(); lerr != nil {
			log.Warn("could not remove the files of an unfinished run", "err", lerr)
		}
		if !quiet {
			fmt.Fprintf(g.stderr, "output is complete (fingerprint %s); nothing to do\n", p.Fingerprint())
		}
		return true, nil
	}
	if err := p.CheckShards(sh.Count); err != nil {
		p.Close()
		return false, &usageError{err}
	}
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(p.MemoryLimit())
	}
	return false, nil
}
