package pipeline

import (
	"slices"
	"sync"
	"time"
)

// Time series: while a job runs, a goroutine owned by Run samples every
// stage's counters at a fixed interval; the run report keeps what changed
// in each interval, from which report.html draws throughput over time and
// where time went.
const (
	seriesEvery = 250 * time.Millisecond // first sampling interval
	seriesLimit = 600                    // most intervals kept; longer runs halve their resolution
)

// SeriesReport holds the time series of a run: for every interval (ending
// at TSeconds[i] seconds after the start), what each stage did in it.
// Consecutive intervals are merged in pairs whenever there would be more
// than 600, so a long run keeps its whole span at a coarser step.
type SeriesReport struct {
	// IntervalSeconds is the sampling step once merged; the last interval
	// ends with the run and may be shorter.
	IntervalSeconds float64       `json:"interval_seconds"`
	TSeconds        []float64     `json:"t_seconds"`
	Stages          []StageSeries `json:"stages"`
}

// StageSeries is one stage's figures per interval, aligned with
// [SeriesReport.TSeconds]. Each slice sums to the stage's total over the
// run: Rows to its rows out (rows in for a sink), the seconds to its busy
// and blocked times.
type StageSeries struct {
	ID                string    `json:"id"`
	Rows              []int64   `json:"rows"`
	RowsPerSecond     []float64 `json:"rows_per_second"`
	BusySeconds       []float64 `json:"busy_seconds"`
	BlockedInSeconds  []float64 `json:"blocked_in_seconds"`
	BlockedOutSeconds []float64 `json:"blocked_out_seconds"`
	// Batches, MeanBatchRows and LatencyP50Seconds are a model stage's
	// batches in the interval (0 rows and 0 seconds when it ran none).
	Batches           []int64   `json:"batches,omitempty"`
	MeanBatchRows     []float64 `json:"mean_batch_rows,omitempty"`
	LatencyP50Seconds []float64 `json:"latency_p50_seconds,omitempty"`
}

// stageSample is a stage's cumulative counters at one instant.
type stageSample struct {
	rows, busy, blockedIn, blockedOut int64
	batches, batchRows                int64
	latency                           []int64 // histogram counts
}

// seriesRecorder samples stats every interval until stopped. Safe for
// concurrent use.
type seriesRecorder struct {
	stats []*StageStats
	start time.Time
	every time.Duration
	limit int

	mu   sync.Mutex
	t    []float64
	out  []StageSeries
	last []stageSample

	quit chan struct{}
	wg   sync.WaitGroup
}

// newSeriesRecorder returns a recorder starting at start, not yet
// sampling on its own (see run).
func newSeriesRecorder(stats []*StageStats, start time.Time, every time.Duration, limit int) *seriesRecorder {
	r := &seriesRecorder{stats: stats, start: start, every: every, limit: max(limit, 2), quit: make(chan struct{})}
	r.out = make([]StageSeries, len(stats))
	r.last = make([]stageSample, len(stats))
	for i, s := range stats {
		r.out[i] = StageSeries{ID: s.ID, Rows: []int64{}, RowsPerSecond: []float64{}, BusySeconds: []float64{},
			BlockedInSeconds: []float64{}, BlockedOutSeconds: []float64{}}
		if s.Batches != nil {
			r.out[i].Batches, r.out[i].MeanBatchRows, r.out[i].LatencyP50Seconds = []int64{}, []float64{}, []float64{}
		}
		r.last[i] = sampleStage(s)
	}
	return r
}

// run samples every interval in a goroutine until stop.
func (r *seriesRecorder) run() {
	r.wg.Go(func() {
		tick := time.NewTicker(r.every)
		defer tick.Stop()
		for {
			select {
			case <-r.quit:
				return
			case now := <-tick.C:
				r.sample(now, false)
			}
		}
	})
}

// stop ends the sampling goroutine, takes the last sample at end and
// returns the series.
func (r *seriesRecorder) stop(end time.Time) *SeriesReport {
	close(r.quit)
	r.wg.Wait()
	r.sample(end, true)
	return r.report()
}

// report returns the series recorded so far.
func (r *seriesRecorder) report() *SeriesReport {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &SeriesReport{IntervalSeconds: r.every.Seconds(), TSeconds: slices.Clone(r.t), Stages: r.out}
}

func sampleStage(s *StageStats) stageSample {
	rows := s.RowsOut.Load()
	if s.Kind == "sink" {
		rows = s.RowsIn.Load()
	}
	out := stageSample{rows: rows, busy: s.BusyNanos.Load(), blockedIn: s.BlockedInNanos.Load(), blockedOut: s.BlockedNanos.Load()}
	if b := s.Batches; b != nil {
		out.batches, out.batchRows = b.Batches.Load(), b.Rows.Load()
		_, out.latency, _, _ = b.Latency.Snapshot()
	}
	return out
}

// sample records the interval ending at now. Once intervals were merged,
// samples closer than the merged step to the previous one are skipped,
// unless final.
func (r *seriesRecorder) sample(now time.Time, final bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := now.Sub(r.start).Seconds()
	dt := t
	if n := len(r.t); n > 0 {
		dt = t - r.t[n-1]
	}
	if !final && len(r.t) > 0 && dt < 0.9*r.every.Seconds() {
		return
	}
	r.t = append(r.t, t)
	for i, s := range r.stats {
		cur, prev := sampleStage(s), r.last[i]
		r.last[i] = cur
		o := &r.out[i]
		rows := cur.rows - prev.rows
		o.Rows = append(o.Rows, rows)
		o.RowsPerSecond = append(o.RowsPerSecond, perSecond(rows, dt))
		o.BusySeconds = append(o.BusySeconds, seconds(cur.busy-prev.busy))
		o.BlockedInSeconds = append(o.BlockedInSeconds, seconds(cur.blockedIn-prev.blockedIn))
		o.BlockedOutSeconds = append(o.BlockedOutSeconds, seconds(cur.blockedOut-prev.blockedOut))
		if s.Batches == nil {
			continue
		}
		batches := cur.batches - prev.batches
		o.Batches = append(o.Batches, batches)
		o.MeanBatchRows = append(o.MeanBatchRows, perBatch(cur.batchRows-prev.batchRows, batches))
		o.LatencyP50Seconds = append(o.LatencyP50Seconds, intervalP50(s.Batches.Latency, prev.latency, cur.latency))
	}
	if len(r.t) > r.limit {
		r.halve()
	}
}

// intervalP50 is the median latency of the batches between two snapshots
// of h's counts; 0 when there were none.
func intervalP50(h *Histogram, prev, cur []int64) float64 {
	upper, _, _, _ := h.Snapshot()
	diff := make([]int64, len(cur))
	var total int64
	for i := range cur {
		diff[i] = cur[i]
		if i < len(prev) {
			diff[i] -= prev[i]
		}
		total += diff[i]
	}
	if total == 0 {
		return 0
	}
	return quantile(upper, diff, total, 0.5)
}

// halve merges the intervals in pairs (an odd last one stays alone).
// Rows, batches and seconds add up; the latency median of a pair is the
// batch-weighted mean of the two, an approximation.
func (r *seriesRecorder) halve() {
	n := len(r.t)
	var t []float64
	for i := 1; i < n; i += 2 {
		t = append(t, r.t[i])
	}
	if n%2 == 1 {
		t = append(t, r.t[n-1])
	}
	for i := range r.out {
		o := &r.out[i]
		if o.Batches != nil {
			o.LatencyP50Seconds = mergeWeighted(o.LatencyP50Seconds, o.Batches)
			o.MeanBatchRows = mergeWeighted(o.MeanBatchRows, o.Batches)
			o.Batches = mergeSum(o.Batches)
		}
		o.Rows = mergeSum(o.Rows)
		o.BusySeconds = mergeSum(o.BusySeconds)
		o.BlockedInSeconds = mergeSum(o.BlockedInSeconds)
		o.BlockedOutSeconds = mergeSum(o.BlockedOutSeconds)
		o.RowsPerSecond = o.RowsPerSecond[:0]
		for j, rows := range o.Rows {
			start := 0.0
			if j > 0 {
				start = t[j-1]
			}
			o.RowsPerSecond = append(o.RowsPerSecond, perSecond(rows, t[j]-start))
		}
	}
	r.t = t
	r.every *= 2
}

func mergeSum[T int64 | float64](v []T) []T {
	out := make([]T, 0, (len(v)+1)/2)
	for i := 0; i < len(v); i += 2 {
		s := v[i]
		if i+1 < len(v) {
			s += v[i+1]
		}
		out = append(out, s)
	}
	return out
}

func mergeWeighted(v []float64, w []int64) []float64 {
	out := make([]float64, 0, (len(v)+1)/2)
	for i := 0; i < len(v); i += 2 {
		sum, n := v[i]*float64(w[i]), w[i]
		if i+1 < len(v) {
			sum, n = sum+v[i+1]*float64(w[i+1]), n+w[i+1]
		}
		out = append(out, perBatch64(sum, n))
	}
	return out
}

func perSecond(n int64, dt float64) float64 {
	if dt <= 0 {
		return 0
	}
	return float64(n) / dt
}

func perBatch(rows, batches int64) float64 { return perBatch64(float64(rows), batches) }

func perBatch64(v float64, batches int64) float64 {
	if batches <= 0 {
		return 0
	}
	return v / float64(batches)
}

func seconds(nanos int64) float64 { return time.Duration(nanos).Seconds() }
