package stages

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ErrTooManyErrors is wrapped by the error a [Rejecter] returns when the
// stage's max_errors budget is spent.
var ErrTooManyErrors = errors.New("too many failed rows")

// OnError values: what a stage does with rows it cannot process.
const (
	// OnErrorFail ends the run at the first failing row (the default).
	OnErrorFail = "fail"
	// OnErrorSkip drops failing rows, counting them against max_errors.
	OnErrorSkip = "skip"
	// OnErrorDeadLetter drops failing rows from the stream and writes them,
	// with the stage id and the error, to the stage's dead-letter folder.
	OnErrorDeadLetter = "dead_letter"
)

// Rejecter receives the rows a stage could not process. The runtime gives
// one to every stage whose on_error is skip or dead_letter ([Env.Reject]);
// for transforms the runtime isolates failing rows itself, operators (the
// model stage) call it for the rows they isolated.
type Rejecter interface {
	// Reject records that every row of rec failed with err. rec is borrowed
	// for the call. It returns nil when the stage goes on without those
	// rows, or an error (wrapping [ErrTooManyErrors]) that the stage must
	// return to end the run: the stage's max_errors budget is spent.
	// Safe for concurrent use.
	Reject(ctx context.Context, rec arrow.RecordBatch, err error) error
}

// Columns of [RawRowSchema].
const (
	RawFileColumn = "_pipe_file"
	RawLineColumn = "_pipe_line"
	RawTextColumn = "_pipe_raw"
)

// RawRowSchema is the schema of the records a source hands to its
// [Rejecter]: rows that could not be decoded, as the file, the line and
// the row's text.
var RawRowSchema = arrow.NewSchema([]arrow.Field{
	{Name: RawFileColumn, Type: arrow.BinaryTypes.String},
	{Name: RawLineColumn, Type: arrow.PrimitiveTypes.Int64},
	{Name: RawTextColumn, Type: arrow.BinaryTypes.String},
}, nil)

// RejectRaw hands one undecodable row of a source to r, as a
// [RawRowSchema] record allocated from mem.
func RejectRaw(ctx context.Context, r Rejecter, mem memory.Allocator, file string, line int64, raw string, err error) error {
	fb := array.NewStringBuilder(mem)
	defer fb.Release()
	lb := array.NewInt64Builder(mem)
	defer lb.Release()
	tb := array.NewStringBuilder(mem)
	defer tb.Release()
	fb.Append(file)
	lb.Append(line)
	tb.Append(raw)
	cols := []arrow.Array{fb.NewArray(), lb.NewArray(), tb.NewArray()}
	rec := array.NewRecordBatch(RawRowSchema, cols, 1)
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	return r.Reject(ctx, rec, err)
}

// RejecterTaker is implemented by sources that can set undecodable rows
// aside. Sources made by [Sharder.Shard] get no [Env]: the runtime hands
// them the work unit's Rejecter with SetRejecter before the first Next.
type RejecterTaker interface {
	SetRejecter(Rejecter)
}
