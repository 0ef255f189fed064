package batcher

import (
	"math/bits"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// Reason says why a batch was sent.
type Reason uint8

const (
	// Full: the target size was reached.
	Full Reason = iota
	// Preferred: the delay was spent (or the input ended) and the pending
	// rows filled a preferred size.
	Preferred
	// Deadline: the oldest pending row had waited MaxDelay; whatever was
	// pending was sent.
	Deadline
	// EndOfInput: the input ended and [Batcher.Flush] sent what was left.
	EndOfInput

	// NumReasons is the number of reasons, for arrays indexed by Reason.
	NumReasons = 4
)

var reasonNames = [NumReasons]string{"full", "preferred", "deadline", "end_of_input"}

// String returns the reason as a metric label: full, preferred, deadline,
// end_of_input.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Batch is one batch to run, as returned by [Batcher.Next] and
// [Batcher.Flush].
type Batch struct {
	// Rec belongs to the caller, who releases it (see [Batch.Release]).
	// Its first Rows rows are real; the Padding rows after them repeat the
	// last real row. Rec.NumRows() == Rows + Padding.
	Rec arrow.RecordBatch
	// Rows is the number of real rows.
	Rows int
	// Padding is the number of rows added to reach the policy's PadTo.
	Padding int
	// Reason is why the batch was sent.
	Reason Reason
	// Waited is how long the oldest row of the batch waited in the
	// batcher.
	Waited time.Duration
}

// Release releases b.Rec, if any.
func (b Batch) Release() {
	if b.Rec != nil {
		b.Rec.Release()
	}
}

// SizeBuckets is the number of buckets of [Stats.Sizes].
const SizeBuckets = 32

// SizeBucket returns the index of the [Stats.Sizes] bucket that counts a
// batch of rows real rows: the smallest i with rows ≤ 2^i.
func SizeBucket(rows int) int {
	if rows <= 1 {
		return 0
	}
	return min(bits.Len(uint(rows-1)), SizeBuckets-1)
}

// Stats is a snapshot of what a [Batcher] has done. Flushes and Sizes
// explain small batches: many Deadline flushes of a few rows mean the
// input is slower than MaxDelay lets batches fill; EndOfInput flushes are
// the tail of the input.
type Stats struct {
	// Inputs and InputRows count the record batches given to Add and their
	// rows; Rejected counts those refused (schema changed, batcher closed).
	Inputs, InputRows, Rejected int64
	// Batches and Rows count the batches taken and their real rows;
	// PadRows counts padding rows.
	Batches, Rows, PadRows int64
	// Copied counts batches that were assembled by copying (coalesced from
	// several inputs, or padded); the others are zero-copy slices.
	Copied int64
	// Flushes counts batches by reason; FlushRows their real rows.
	Flushes, FlushRows [NumReasons]int64
	// Sizes is the distribution of real rows per batch: Sizes[i] counts
	// batches with 2^(i-1) < rows ≤ 2^i (Sizes[0]: one row), the buckets
	// of a Prometheus histogram with upper bounds 1, 2, 4, 8, ...
	Sizes [SizeBuckets]int64
	// MaxWaited is the longest any row waited in the batcher.
	MaxWaited time.Duration
	// Pending is the number of rows pending now; Target the current
	// target size.
	Pending, Target int
}
