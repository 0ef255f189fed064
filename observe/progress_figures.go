package observe

import (
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/pipe-ml/pipe/internal/units"
	"github.com/pipe-ml/pipe/pipeline"
)

// batchTracker follows a model stage's batches between two samples of
// the progress display: the mean rows per batch and the median latency
// of the batches of the last interval that had any. Written by the
// progress goroutine, read by mpb's decorators.
type batchTracker struct {
	stats       *pipeline.BatchStats
	lastBatches int64
	lastRows    int64
	lastLat     []int64
	size, p50   atomic.Uint64 // float64 bits
}

func newBatchTracker(b *pipeline.BatchStats) *batchTracker {
	if b == nil {
		return nil
	}
	return &batchTracker{stats: b}
}

// update takes the batches since the last call.
func (t *batchTracker) update() {
	batches, rows := t.stats.Batches.Load(), t.stats.Rows.Load()
	upper, lat, _, _ := t.stats.Latency.Snapshot()
	if n := batches - t.lastBatches; n > 0 {
		diff := make([]int64, len(lat))
		for i := range lat {
			diff[i] = lat[i]
			if i < len(t.lastLat) {
				diff[i] -= t.lastLat[i]
			}
		}
		t.size.Store(math.Float64bits(float64(rows-t.lastRows) / float64(n)))
		t.p50.Store(math.Float64bits(pipeline.Quantile(upper, diff, 0.5)))
	}
	t.lastBatches, t.lastRows, t.lastLat = batches, rows, lat
}

// figures returns the mean batch rows and the latency median in seconds
// of the last interval with batches; ok false before the first batch.
func (t *batchTracker) figures() (size, p50 float64, ok bool) {
	if t == nil {
		return 0, 0, false
	}
	size = math.Float64frombits(t.size.Load())
	return size, math.Float64frombits(t.p50.Load()), size > 0
}

// batchText is a model stage's batch figures for its progress line; ""
// for other stages or before a batch.
func batchText(t *batchTracker) string {
	size, p50, ok := t.figures()
	if !ok {
		return ""
	}
	return fmt.Sprintf("  batch %.0f  p50 %s", size, units.Seconds(p50))
}

// overall is the progress of the whole run: work units committed of
// those to compute, and the time left: from the sources' known rows and
// their rate when every source knows its rows; else from the bytes of
// their files read so far (CSV, JSON lines) when every source knows its
// files' sizes; else from the units' pace. ok is false before the run
// planned its units.
type overall struct {
	done, total int64
	eta         time.Duration
	hasETA      bool
}

func overallProgress(stats []*pipeline.StageStats, rates []float64, elapsed time.Duration) (o overall, ok bool) {
	var left, rate float64
	var bytesLeft, bytesRead float64
	rowsKnown, bytesKnown := true, true
	for i, s := range stats {
		if s.Kind != "source" {
			continue
		}
		o.total, o.done = max(o.total, s.UnitsTotal.Load()), max(o.done, s.UnitsDone.Load())
		if bt := s.BytesTotal.Load(); bt > 0 {
			br := min(s.BytesRead.Load(), bt)
			bytesLeft += float64(bt - br)
			bytesRead += float64(br)
		} else {
			bytesKnown = false
		}
		total := s.TotalRows.Load()
		if total < 0 {
			rowsKnown = false
			continue
		}
		left += math.Max(float64(total-s.RowsOut.Load()), 0)
		rate += rates[i]
	}
	if o.total == 0 {
		return o, false
	}
	switch {
	case rowsKnown && rate > 0:
		o.eta, o.hasETA = time.Duration(left/rate*float64(time.Second)), true
	case bytesKnown && bytesRead > 0:
		o.eta, o.hasETA = time.Duration(float64(elapsed)*bytesLeft/bytesRead), true
	case o.done > 0 && o.done < o.total:
		o.eta, o.hasETA = time.Duration(float64(elapsed)*float64(o.total-o.done)/float64(o.done)), true
	}
	o.eta = o.eta.Round(time.Second)
	return o, true
}

func (o overall) String() string {
	s := fmt.Sprintf("%d/%d units", o.done, o.total)
	if o.hasETA && o.done < o.total {
		s += "  ETA " + o.eta.String()
	}
	return s
}
