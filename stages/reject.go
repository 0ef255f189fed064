package stages

import (
	"context"
	"errors"

	"github.com/apache/arrow-go/v18/arrow"
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
