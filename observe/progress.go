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
// rows per second and, where the sources know their row count, an ETA.
type Progress struct {
	stats []*pipeline.StageStats
	track []*rateTracker
	opts  ProgressOptions
	start time.Time

	stop chan struct{}
	wg   sync.WaitGroup
	once sync.Once

	// Terminal mode only.
	bars   *mpb.Progress
	bar    []*mpb.Bar
	totals []int64 // the total each bar was given
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
	for range stats {
		p.track = append(p.track, &rateTracker{lastAt: p.start, sampled: true})
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
		s, t := s, p.track[i]
		bar := p.bars.New(0, mpb.BarStyle(),
			mpb.PrependDecorators(decor.Name(s.ID, decor.WC{W: width + 1, C: decor.DindentRight})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				return progressFigures(s, t.get(), time.Since(p.start))
			}, decor.WC{W: 44, C: decor.DindentRight})),
		)
		p.bar = append(p.bar, bar)
		p.totals = append(p.totals, 0)
	}
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

// sample updates rates and bars, or writes the log lines.
func (p *Progress) sample(now time.Time, logged []bool) {
	for i, s := range p.stats {
		rows := s.RowsOut.Load()
		p.track[i].update(rows, now)
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
		if done {
			logged[i] = true
			args = append(args, "done", true)
		} else if eta, ok := estimate(s, p.track[i].get()); ok {
			args = append(args, "eta", eta.String())
		}
		p.opts.Log.Info("progress", args...)
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
