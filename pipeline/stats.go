package pipeline

import (
	"sync/atomic"
	"time"
)

// StageStats are the figures the runtime records around one stage. Stages
// do not count for themselves. Counters are updated atomically while the job
// runs and may be read at any time (progress, metrics).
type StageStats struct {
	ID, Type, Kind string

	RowsIn, RowsOut       atomic.Int64
	BatchesIn, BatchesOut atomic.Int64
	BytesOut              atomic.Int64
	// BusyNanos is time spent inside the stage's own calls (Next, Process,
	// Write, Commit; an operator's whole Run).
	BusyNanos atomic.Int64
	// BlockedNanos is time spent waiting for downstream to accept a batch:
	// backpressure.
	BlockedNanos atomic.Int64
	// BlockedInNanos is time spent waiting for a batch from upstream
	// (summed over a stage's inputs).
	BlockedInNanos atomic.Int64
	Errors         atomic.Int64
	// Rejected counts rows the stage set aside (on_error skip or
	// dead_letter).
	Rejected atomic.Int64
	// TotalRows is the number of rows a source will produce, when known
	// from metadata; -1 otherwise.
	TotalRows atomic.Int64
	// UnitsTotal is, on a source, the number of work units the run
	// computes (those not already committed); UnitsDone how many of them
	// are committed so far. 0 before the run plans its units.
	UnitsTotal, UnitsDone atomic.Int64
	// BytesTotal is, on a source whose units are whole files of unknown
	// row counts (CSV, JSON lines), the size of the files the run reads;
	// BytesRead how many of those bytes its passes have read so far.
	BytesTotal, BytesRead atomic.Int64
	// Done is set when the stage has finished.
	Done atomic.Bool
	// Batches holds the figures of a model stage's batches; nil for stage
	// types that run no models.
	Batches *BatchStats
}

// Busy returns the stage's busy time.
func (s *StageStats) Busy() time.Duration { return time.Duration(s.BusyNanos.Load()) }

// Blocked returns the time the stage waited on downstream.
func (s *StageStats) Blocked() time.Duration { return time.Duration(s.BlockedNanos.Load()) }

// BlockedIn returns the time the stage waited on upstream.
func (s *StageStats) BlockedIn() time.Duration { return time.Duration(s.BlockedInNanos.Load()) }

// Stats returns the live statistics of every stage, in topological order.
func (p *Pipeline) Stats() []*StageStats {
	out := make([]*StageStats, len(p.nodes))
	for i, n := range p.nodes {
		out[i] = n.stats
	}
	return out
}
