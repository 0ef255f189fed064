package observe

import (
	"context"
	"io"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/pipe-ml/pipe/pipeline"
)

// WatchOptions configure [NewWatch].
type WatchOptions struct {
	// MetricsAddr, when set, is where /metrics is served during the run
	// (see [Listen]).
	MetricsAddr string
	// Progress turns the progress display on; Bars chooses bars over log
	// lines (typically [IsTerminal] of Out).
	Progress, Bars bool
	// Out receives the bars.
	Out io.Writer
	// Log receives progress lines and endpoint errors.
	Log *slog.Logger
	// Interval overrides the progress interval (tests).
	Interval time.Duration
	// LogWriter, when set, carries the logger's output; it is routed
	// above the bars while they are drawn.
	LogWriter *LogWriter
}

// Watch observes one run of a job: it owns the run's Prometheus registry,
// the metrics endpoint and the progress display. Use it as NewWatch, Options (into Build), Start(p),
// Stop.
type Watch struct {
	opts     WatchOptions
	registry *prometheus.Registry
	server   *Server
	progress *Progress
}

// NewWatch creates the registry and binds the metrics address, so that an
// address in use fails before any work starts.
func NewWatch(opts WatchOptions) (*Watch, error) {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	w := &Watch{opts: opts, registry: prometheus.NewRegistry()}
	var err error
	if opts.MetricsAddr != "" {
		if w.server, err = Listen(opts.MetricsAddr); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// Registry returns the run's registry.
func (w *Watch) Registry() *prometheus.Registry { return w.registry }

// Addr returns the address of the metrics endpoint, "" when none.
func (w *Watch) Addr() string {
	if w.server == nil {
		return ""
	}
	return w.server.Addr()
}

// Options sets the registerer on o, for the executor's backend metrics.
func (w *Watch) Options(o *pipeline.BuildOptions) {
	o.Registerer = w.registry
}

// Start registers the per-stage collector of the built pipeline p, starts
// serving metrics and starts the progress display.
func (w *Watch) Start(p *pipeline.Pipeline) error {
	if err := Register(w.registry, NewStageCollector(p.Stats()), NewBatchCollector(p.Stats())); err != nil {
		return err
	}
	if w.server != nil {
		w.server.Serve(w.registry, w.opts.Log)
		w.opts.Log.Info("serving metrics", "addr", "http://"+w.server.Addr()+"/metrics")
	}
	if w.opts.Progress {
		w.progress = StartProgress(w.opts.Out, p.Stats(), ProgressOptions{Bars: w.opts.Bars, Log: w.opts.Log,
			Interval: w.opts.Interval, LogWriter: w.opts.LogWriter})
	}
	return nil
}

// Stop ends the progress display and the metrics endpoint, waiting for
// their goroutines. It is safe to call without Start and more than once.
func (w *Watch) Stop() {
	if w.progress != nil {
		w.progress.Stop()
	}
	if w.server != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if err := w.server.Close(ctx); err != nil {
			w.opts.Log.Warn("metrics endpoint", "err", err)
		}
		w.server = nil
	}
}
