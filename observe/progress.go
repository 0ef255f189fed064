package observe

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/pipe-ml/pipe/internal/units"
	"github.com/pipe-ml/pipe/pipeline"
)

// ProgressOptions configure [StartProgress].
type ProgressOptions struct {
	// Bars draws one live bar per stage with mpb; otherwise a log line per
	// stage is written every Interval. See [IsTerminal].
	Bars bool
	// Interval between log lines (0: 5s) or bar updates (0: 200ms).
	Interval time.Duration
	// Log receives the plain progress lines; nil discards them.
	Log *slog.Logger
	// LogWriter, when set, is routed above the bars while they are drawn.
	LogWriter *LogWriter
}

// IsTerminal reports whether w is a terminal, where progress bars belong.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && (isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd()))
}

// Progress shows how far each stage of a running job has got: rows done,
// rows per second, a model stage's batch size and latency median over the
// last interval and, where the sources know their row count, an ETA; and
// the whole run's work units with the time left.
type Progress struct {
	stats []*pipeline.StageStats
	track []*rateTracker
	batch []*batchTracker // nil for stages that run no model
	opts  ProgressOptions
	start time.Time

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	// Terminal mode only.
	bars   *mpb.Progress
	bar    []*mpb.Bar
	totals []int64 // the total each bar was given
	all    *mpb.Bar
}

// rateTracker follows one stage's rows per second; it is written by the
// progress goroutine and read by mpb's decorators.
type rateTracker struct {
	rate     atomic.Uint64 // float64 bits, rows per second
	lastRows int64
	lastAt   time.Time
	sampled  bool
}

func (t *rateTracker) update(rows int64, now time.Time) {
	if !t.sampled {
		t.lastRows, t.lastAt, t.sampled = rows, now, true
		return
	}
	dt := now.Sub(t.lastAt).Seconds()
	if dt <= 0 {
		return
	}
	inst := float64(rows-t.lastRows) / dt
	old := math.Float64frombits(t.rate.Load())
	next := inst
	if old > 0 {
		next = old + 0.3*(inst-old)
	}
	t.rate.Store(math.Float64bits(next))
	t.lastRows, t.lastAt = rows, now
}

func (t *rateTracker) get() float64 { return math.Float64frombits(t.rate.Load()) }

// StartProgress starts reporting the progress of stats (from
// [pipeline.Pipeline.Stats]) to w, as bars or log lines, until
// [Progress.Stop].
func StartProgress(w io.Writer, stats []*pipeline.StageStats, opts ProgressOptions) *Progress {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
		if opts.Bars {
			opts.Interval = 200 * time.Millisecond
		}
	}
	p := &Progress{stats: stats, opts: opts, start: time.Now(), stop: make(chan struct{})}
	for _, s := range stats {
		p.track = append(p.track, &rateTracker{lastAt: p.start, sampled: true})
		p.batch = append(p.batch, newBatchTracker(s.Batches))
	}
	if opts.Bars {
		p.startBars(w)
	}
	p.wg.Add(1)
	go p.loop()
	return p
}

func (p *Progress) startBars(w io.Writer) {
	p.bars = mpb.New(mpb.WithOutput(w), mpb.WithWidth(100), mpb.WithRefreshRate(p.opts.Interval), mpb.WithAutoRefresh())
	width := 0
	for _, s := range p.stats {
		width = max(width, len(s.ID))
	}
	for i, s := range p.stats {
		s, t, b := s, p.track[i], p.batch[i]
		bar := p.bars.New(0, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name(s.ID, decor.WC{W: width + 1, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				return progressFigures(s, t.get(), time.Since(p.start)) + batchText(b)
			}, decor.WC{W: 64, C: decor.DindentRight})),
		)
		p.bar = append(p.bar, bar)
		p.totals = append(p.totals, 0)
	}
	p.all = p.bars.New(0, mpb.BarStyle(),
		mpb.PrependDecorators(decor.Name("all", decor.WC{W: width + 1, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
			o, _ := p.overall()
			return o.String()
		}, decor.WC{W: 64, C: decor.DindentRight})),
	)
	if p.opts.LogWriter != nil {
		p.opts.LogWriter.route(p.bars)
	}
}

// progressFigures formats rows done, rows per second and the ETA.
func progressFigures(s *pipeline.StageStats, rate float64, elapsed time.Duration) string {
	rows := s.RowsOut.Load()
	if s.Done.Load() && elapsed > 0 {
		return fmt.Sprintf("%s rows  %s rows/s  done", humanCount(float64(rows)), humanCount(float64(rows)/elapsed.Seconds()))
	}
	out := fmt.Sprintf("%s rows  %s rows/s", humanCount(float64(rows)), humanCount(rate))
	if eta, ok := estimate(s, rate); ok {
		out += "  ETA " + eta.String()
	}
	return out
}

// estimate returns the time left for a stage that knows its total.
func estimate(s *pipeline.StageStats, rate float64) (time.Duration, bool) {
	total := s.TotalRows.Load()
	if total < 0 || rate <= 0 {
		return 0, false
	}
	left := float64(total - s.RowsOut.Load())
	if left < 0 {
		left = 0
	}
	return time.Duration(left / rate * float64(time.Second)).Round(time.Second), true
}

func humanCount(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}

func (p *Progress) loop() {
	defer p.wg.Done()
	tick := time.NewTicker(p.opts.Interval)
	defer tick.Stop()
	logged := make([]bool, len(p.stats)) // done line written
	for {
		select {
		case <-p.stop:
			p.sample(time.Now(), logged)
			return
		case now := <-tick.C:
			p.sample(now, logged)
		}
	}
}

// overall returns the run's progress over its work units.
func (p *Progress) overall() (overall, bool) {
	rates := make([]float64, len(p.track))
	for i, t := range p.track {
		rates[i] = t.get()
	}
	return overallProgress(p.stats, rates, time.Since(p.start))
}

// sample updates rates and bars, or writes the log lines.
func (p *Progress) sample(now time.Time, logged []bool) {
	for i, s := range p.stats {
		rows := s.RowsOut.Load()
		p.track[i].update(rows, now)
		if p.batch[i] != nil {
			p.batch[i].update()
		}
		if p.bars != nil {
			bar := p.bar[i]
			if total := max(p.barTotal(s), rows); total != p.totals[i] {
				p.totals[i] = total
				bar.SetTotal(total, false)
			}
			bar.SetCurrent(rows)
			if s.Done.Load() && !bar.Completed() {
				bar.SetTotal(-1, true)
			}
			continue
		}
		if logged[i] {
			continue
		}
		rate := p.track[i].get()
		done := s.Done.Load()
		if elapsed := now.Sub(p.start).Seconds(); done && elapsed > 0 {
			rate = float64(rows) / elapsed // the run's average
		}
		args := []any{"stage", s.ID, "rows", rows, "rows_per_second", math.Round(rate)}
		if size, p50, ok := p.batch[i].figures(); ok {
			args = append(args, "batch_rows", math.Round(size), "latency_p50", units.Seconds(p50))
		}
		if done {
			logged[i] = true
			args = append(args, "done", true)
		} else if eta, ok := estimate(s, p.track[i].get()); ok {
			args = append(args, "eta", eta.String())
		}
		p.opts.Log.Info("progress", args...)
	}
	p.sampleOverall()
}

// sourcesDone reports whether every source has finished: the run is over
// and the time left means nothing.
func (p *Progress) sourcesDone() bool {
	for _, s := range p.stats {
		if s.Kind == "source" && !s.Done.Load() {
			return false
		}
	}
	return true
}

// sampleOverall moves the bar of the whole run, or logs its line while
// units remain.
func (p *Progress) sampleOverall() {
	o, ok := p.overall()
	switch {
	case !ok:
	case p.all != nil:
		p.all.SetTotal(o.total, false)
		p.all.SetCurrent(o.done)
	case o.done < o.total && !p.sourcesDone():
		args := []any{"units_done", o.done, "units_total", o.total}
		if o.hasETA {
			args = append(args, "eta", o.eta.String())
		}
		p.opts.Log.Info("progress of all units", args...)
	}
}

// barTotal is the length of a stage's bar: its own row count when known
// (sources); otherwise, when every source knows its count, their sum, as
// if each row went through (a filter's bar then ends short of full until
// it is done); otherwise 0.
func (p *Progress) barTotal(s *pipeline.StageStats) int64 {
	if t := s.TotalRows.Load(); t > 0 {
		return t
	}
	var sum int64
	for _, o := range p.stats {
		if o.Kind != "source" {
			continue
		}
		t := o.TotalRows.Load()
		if t <= 0 {
			return 0
		}
		sum += t
	}
	return sum
}

// Stop takes a last sample, completes or aborts the bars and waits for
// every goroutine of the progress display. It is safe to call twice.
func (p *Progress) Stop() {
	p.once.Do(func() {
		close(p.stop)
		p.wg.Wait()
		if p.bars == nil {
			return
		}
		if p.opts.LogWriter != nil {
			p.opts.LogWriter.route(nil)
		}
		if o, ok := p.overall(); ok && o.done == o.total {
			p.all.SetTotal(-1, true)
		} else {
			p.all.Abort(false)
		}
		for i, bar := range p.bar {
			if !bar.Completed() {
				if p.stats[i].Done.Load() {
					bar.SetTotal(-1, true)
				} else {
					bar.Abort(false)
				}
			}
		}
		p.bars.Wait()
	})
}
