package stages

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
)

// Kind says which role a stage type plays in a job's graph.
type Kind int

// The kinds of stage.
const (
	KindSource    Kind = iota + 1 // no inputs; produces batches
	KindTransform                 // one input; one batch in, at most one batch out
	KindOperator                  // one or more inputs; owns its loop
	KindSink                      // one or more inputs; writes batches out; no output
)

func (k Kind) String() string {
	switch k {
	case KindSource:
		return "source"
	case KindTransform:
		return "transform"
	case KindOperator:
		return "operator"
	case KindSink:
		return "sink"
	}
	return "unknown"
}

// Stage is what every stage has: the schema of the batches it emits and a
// way to release its resources. Sinks report a nil schema.
type Stage interface {
	// Schema returns the schema of every batch the stage emits. It is known
	// when the constructor returns, before any data moves.
	Schema() *arrow.Schema
	// Close releases the stage's resources. The runtime calls it exactly
	// once, after the stage's last other call has returned, on success and on
	// failure alike.
	Close() error
}

// Source produces batches from outside the job: files, generators.
type Source interface {
	Stage
	// Next returns the next batch, or io.EOF when the source is exhausted.
	// The returned batch is owned by the caller. Every batch holds at most
	// the source's configured batch_rows rows and at least one row.
	Next(ctx context.Context) (arrow.RecordBatch, error)
}

// Transform maps each batch of its single input to at most one batch.
type Transform interface {
	Stage
	// Process transforms in, which is borrowed for the call. It returns a new
	// batch owned by the caller, or nil when nothing comes out (a filter that
	// drops every row). To pass in through unchanged, Retain it and return it.
	Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error)
}

// Emit hands a batch to the stage's consumers. It takes ownership of rec
// whatever it returns; it blocks while downstream is full and returns the
// context's error when the run is cancelled.
type Emit func(ctx context.Context, rec arrow.RecordBatch) error

// Operator is a stage that owns its loop: it reads from one or more inputs
// when it chooses, keeps timers, runs work in parallel and emits in its own
// time. Model stages (dynamic batching), zip and merge are operators.
type Operator interface {
	Stage
	// Run consumes its inputs, one channel per entry of the stage's `inputs`
	// list in order, until every channel is closed, and emits results
	// through emit. Batches received are owned by the operator. Run returns
	// nil after its last emit at end of input, or the first error. It must
	// return promptly when ctx is cancelled, after stopping any goroutine it
	// started.
	Run(ctx context.Context, in []<-chan arrow.RecordBatch, emit Emit) error
}

// Sink writes batches out of the job. Its inputs are merged into one stream
// before Write.
type Sink interface {
	Stage
	// Write writes rec, which is borrowed for the call.
	Write(ctx context.Context, rec arrow.RecordBatch) error
	// Commit makes everything written visible under its final names. The
	// runtime calls it once, after the last Write of a run that succeeded.
	// Until Commit returns nil no file under a final name may be partial.
	Commit(ctx context.Context) error
}

// Flusher is implemented by transforms that hold rows back: at end of input
// the runtime calls Flush until it returns nil.
type Flusher interface {
	Flush(ctx context.Context) (arrow.RecordBatch, error)
}

// RowCounter is implemented by sources that know how many rows they will
// produce before reading them (Parquet and IPC file footers, generators).
// ok is false when the count is unknown.
type RowCounter interface {
	TotalRows() (n int64, ok bool)
}

// Aborter is implemented by sinks that can discard partial output when the
// run fails. The runtime calls Abort instead of Commit, before Close.
type Aborter interface {
	Abort() error
}

// ColumnReader is implemented by stages that read only some columns of
// their input and pass the others through untouched: serving a model stage
// on its own asks clients for these columns alone.
type ColumnReader interface {
	ReadColumns() []string
}

// OutputDirer is implemented by sinks that write into a folder, so that the
// runtime can put the run report (metrics.json) beside the data.
type OutputDirer interface {
	OutputDir() string
}

// Reporter is implemented by stages with figures of their own for the run
// report, such as a model stage's placement and batching. The runtime calls
// Report after the stage's last other call, before Close; the value is
// written as JSON under the stage's "details" and summarised by String.
type Reporter interface {
	Report() fmt.Stringer
}

// ReportMerger is implemented by report values whose figures add up across
// instances: the runtime builds a stage once per work unit and merges the
// reports of the units a run computed, in order. Without it the report of
// the last unit stands.
type ReportMerger interface {
	// Merge returns the figures of earlier (a report of the same type from
	// an earlier unit) and the receiver together.
	Merge(earlier fmt.Stringer) fmt.Stringer
}
