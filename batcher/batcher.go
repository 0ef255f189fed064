package batcher

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var (
	// ErrNoBatch is returned by [Batcher.Next] when no batch is ready and
	// by [Batcher.Flush] when no rows are pending.
	ErrNoBatch = errors.New("batcher: no batch ready")
	// ErrClosed is returned after [Batcher.Close].
	ErrClosed = errors.New("batcher: closed")
	// ErrSchemaMismatch is wrapped by [SchemaError].
	ErrSchemaMismatch = errors.New("batcher: schema mismatch")
)

// SchemaError reports an input whose schema differs from the schema of the
// first input; the batcher never mixes schemas in one batch.
type SchemaError struct {
	Want, Got *arrow.Schema
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("batcher: input schema changed: first input had %s, this one has %s",
		fieldList(e.Want), fieldList(e.Got))
}

// Unwrap returns [ErrSchemaMismatch].
func (e *SchemaError) Unwrap() error { return ErrSchemaMismatch }

func fieldList(s *arrow.Schema) string {
	out := "("
	for i, f := range s.Fields() {
		if i > 0 {
			out += ", "
		}
		out += f.Name + " " + f.Type.String()
		if f.Nullable {
			out += " null"
		}
	}
	return out + ")"
}

// Option configures a [Batcher].
type Option func(*Batcher)

// WithClock sets the clock the batcher reads; the default is the system
// clock.
func WithClock(c Clock) Option { return func(b *Batcher) { b.clock = c } }

// WithSizer sets the sizer that picks the target size. The default is
// [Fixed](MaxRows), or an [AdaptiveSizer] when the policy has Adaptive.
// The batcher never goes above the policy's MaxRows, whatever the sizer
// says.
func WithSizer(s Sizer) Option { return func(b *Batcher) { b.sizer = s } }

// Batcher turns a stream of record batches of any size into batches of the
// size a model runs best at: it coalesces small inputs, slices large ones
// without copying, and sends partial batches when their oldest row has
// waited long enough. See the package documentation for the loop around it.
//
// A Batcher is not safe for concurrent use and starts no goroutines.
type Batcher struct {
	policy    Policy
	preferred []int // ascending
	mem       memory.Allocator
	clock     Clock
	sizer     Sizer

	schema  *arrow.Schema
	queue   []entry // pending inputs, oldest first, from head
	head    int
	pending int64
	err     error // a refused input, reported by the next Next or Flush
	closed  bool

	scratch []arrow.Array // arrays to concatenate for one column
	temps   []arrow.Array // slices made for scratch, released after use
	cols    []arrow.Array // concatenated columns

	stats Stats
}

type entry struct {
	rec     arrow.RecordBatch
	off     int64     // rows of rec already taken
	arrival time.Time // when Add received rec
}

// New returns a batcher for p. Batches assembled by copying are allocated
// from mem; zero-copy slices share the inputs' buffers.
func New(p Policy, mem memory.Allocator, opts ...Option) (*Batcher, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if mem == nil {
		return nil, errors.New("batcher: nil allocator")
	}
	b := &Batcher{policy: p, preferred: p.preferredSorted(), mem: mem, clock: systemClock{}}
	for _, o := range opts {
		o(b)
	}
	if b.clock == nil {
		return nil, errors.New("batcher: nil clock")
	}
	if b.sizer == nil {
		if p.Adaptive != nil {
			s, err := NewAdaptiveSizer(*p.Adaptive, p.MaxRows)
			if err != nil {
				return nil, err
			}
			b.sizer = s
		} else {
			b.sizer = Fixed(p.MaxRows)
		}
	}
	return b, nil
}

// Sizer returns the sizer choosing the target size; the executor reports
// each run's latency to it through Observe.
func (b *Batcher) Sizer() Sizer { return b.sizer }

// Add queues rec and reports whether a batch is ready. It retains rec:
// the caller keeps its own reference and releases it as usual. Empty and
// nil batches are ignored. The time of the call is the arrival time of
// rec's rows, from which their deadline runs.
//
// A batch whose schema differs from the first input's, or one added after
// Close, is refused: it is not kept, Add returns true, and the next Next or
// Flush returns the error (a *[SchemaError] or [ErrClosed]).
func (b *Batcher) Add(rec arrow.RecordBatch) (ready bool) {
	if rec == nil || rec.NumRows() == 0 {
		return b.Ready()
	}
	if b.closed {
		b.refuse(ErrClosed)
		return true
	}
	if s := rec.Schema(); b.schema == nil {
		b.schema = s
	} else if s != b.schema && !s.Equal(b.schema) {
		b.refuse(&SchemaError{Want: b.schema, Got: s})
		return true
	}
	now := b.clock.Now()
	rec.Retain()
	b.queue = append(b.queue, entry{rec: rec, arrival: now})
	b.pending += rec.NumRows()
	b.stats.Inputs++
	b.stats.InputRows += rec.NumRows()
	return b.readyAt(now)
}

func (b *Batcher) refuse(err error) {
	b.stats.Rejected++
	if b.err == nil {
		b.err = err
	}
}

// Pending returns the number of rows waiting.
func (b *Batcher) Pending() int { return int(b.pending) }

// Target returns the current target size: the sizer's target, clamped to
// [1, MaxRows].
func (b *Batcher) Target() int { return int(b.target()) }

func (b *Batcher) target() int64 {
	return int64(min(max(b.sizer.Target(), 1), b.policy.MaxRows))
}

// Ready reports whether Next would return a batch (or an error) now.
func (b *Batcher) Ready() bool { return b.readyAt(b.clock.Now()) }

func (b *Batcher) readyAt(now time.Time) bool {
	switch {
	case b.err != nil:
		return true
	case b.pending == 0:
		return false
	case b.pending >= b.target():
		return true
	}
	return !now.Before(b.deadline())
}

// deadline is when the oldest pending row has waited MaxDelay.
func (b *Batcher) deadline() time.Time {
	return b.queue[b.head].arrival.Add(b.policy.MaxDelay)
}

// UntilNext returns how long until a batch is ready: 0 when one is ready
// now, otherwise the time until the oldest pending row's deadline. It
// returns false when nothing is pending and the caller has nothing to wait
// for.
func (b *Batcher) UntilNext() (time.Duration, bool) {
	if b.err != nil {
		return 0, true
	}
	if b.pending == 0 {
		return 0, false
	}
	if b.pending >= b.target() {
		return 0, true
	}
	return max(b.deadline().Sub(b.clock.Now()), 0), true
}

// Next takes the next ready batch (see [Policy] for the rules). It returns
// [ErrNoBatch] when no batch is ready. The batch's record belongs to the
// caller.
func (b *Batcher) Next() (Batch, error) {
	if err := b.check(); err != nil {
		return Batch{}, err
	}
	now := b.clock.Now()
	if b.pending == 0 {
		return Batch{}, ErrNoBatch
	}
	if t := b.target(); b.pending >= t {
		return b.take(t, Full, now)
	}
	if now.Before(b.deadline()) {
		return Batch{}, ErrNoBatch
	}
	n, r := b.partial(Deadline)
	return b.take(n, r, now)
}

// Flush takes the next batch whether or not it is ready, for the end of
// the input: call it until it returns [ErrNoBatch]. Batches are still at
// most the target size, and partial ones take a preferred size when the
// pending rows fill one.
func (b *Batcher) Flush() (Batch, error) {
	if err := b.check(); err != nil {
		return Batch{}, err
	}
	if b.pending == 0 {
		return Batch{}, ErrNoBatch
	}
	now := b.clock.Now()
	if t := b.target(); b.pending >= t {
		return b.take(t, Full, now)
	}
	n, r := b.partial(EndOfInput)
	return b.take(n, r, now)
}

// check returns, once, the error of a refused input; or ErrClosed.
func (b *Batcher) check() error {
	if err := b.err; err != nil {
		b.err = nil
		return err
	}
	if b.closed {
		return ErrClosed
	}
	return nil
}

// partial sizes a batch smaller than the target: the largest preferred size
// the pending rows fill, else everything pending with reason r.
func (b *Batcher) partial(r Reason) (int64, Reason) {
	for i := len(b.preferred) - 1; i >= 0; i-- {
		if n := int64(b.preferred[i]); n <= b.pending {
			return n, Preferred
		}
	}
	return b.pending, r
}

// take removes the first n pending rows and returns them as a batch.
func (b *Batcher) take(n int64, r Reason, now time.Time) (Batch, error) {
	waited := now.Sub(b.queue[b.head].arrival)
	pad := int64(0)
	if b.policy.PadTo > 0 {
		pad = int64(b.policy.PadTo) - n
	}
	rec, copied, err := b.assemble(n, pad)
	if err != nil {
		return Batch{}, err
	}
	b.consume(n)

	s := &b.stats
	s.Batches++
	s.Rows += n
	s.PadRows += pad
	if copied {
		s.Copied++
	}
	s.Flushes[r]++
	s.FlushRows[r] += n
	s.Sizes[SizeBucket(int(n))]++
	s.MaxWaited = max(s.MaxWaited, waited)
	return Batch{Rec: rec, Rows: int(n), Padding: int(pad), Reason: r, Waited: waited}, nil
}

// consume drops the first n pending rows, releasing inputs fully taken.
func (b *Batcher) consume(n int64) {
	b.pending -= n
	for n > 0 {
		e := &b.queue[b.head]
		avail := e.rec.NumRows() - e.off
		if avail > n {
			e.off += n
			break
		}
		n -= avail
		e.rec.Release()
		*e = entry{}
		b.head++
	}
	switch {
	case b.head == len(b.queue):
		b.queue, b.head = b.queue[:0], 0
	case b.head >= 64 && b.head*2 >= len(b.queue):
		k := copy(b.queue, b.queue[b.head:])
		clear(b.queue[k:])
		b.queue, b.head = b.queue[:k], 0
	}
}

// Close releases every pending input. Later calls to Next and Flush return
// [ErrClosed]; Close may be called more than once.
func (b *Batcher) Close() {
	for i := b.head; i < len(b.queue); i++ {
		b.queue[i].rec.Release()
	}
	clear(b.queue)
	b.queue, b.head, b.pending = b.queue[:0], 0, 0
	b.closed = true
}

// Stats returns a snapshot of the batcher's counters.
func (b *Batcher) Stats() Stats {
	s := b.stats
	s.Pending = int(b.pending)
	s.Target = b.Target()
	return s
}
