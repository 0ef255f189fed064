package model

import (
	"context"
	"fmt"
	"math/bits"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/stages"
)

// This file holds what the stage does with bad rows when the job gives it
// a [stages.Rejecter] (on_error skip or dead_letter): rows whose input
// cannot become a tensor are rejected before the run, and a batch the
// backend refuses as invalid input is bisected until the rows it refuses
// are isolated. Without a Rejecter none of it runs: the first failure ends
// the run.

// nullMsg is the message of a null in a model input column.
const nullMsg = "null value; the model cannot take nulls"

// rowFault is one row of a batch that cannot be fed to the model.
type rowFault struct {
	row int64 // in the batch
	err error
}

// nullRows returns, in row order, the rows among the first n of rec that
// hold a null in a column feeding the model (or a list of the wrong
// length), each with a [*RowError]
// naming the first such column and the row's number in the stream (first
// is the number of rec's row 0). It returns nil when every row can be fed.
func (p *plan) nullRows(rec arrow.RecordBatch, n, first int64) []rowFault {
	var bad []error // allocated at the first null
	markMsg := func(r int64, col, msg string) {
		if bad == nil {
			bad = make([]error, n)
		}
		if bad[r] == nil {
			bad[r] = &RowError{Column: col, Row: first + r, Msg: msg}
		}
	}
	mark := func(r int64, col string) { markMsg(r, col, nullMsg) }
	scan := func(col arrow.Array, name string) {
		if col.NullN() == 0 {
			return
		}
		for r := range n {
			if col.IsNull(int(r)) {
				mark(r, name)
			}
		}
	}
	for _, ip := range p.inputs {
		switch {
		case ip.constant != nil:
		case ip.cols != nil:
			for j, ci := range ip.cols {
				scan(rec.Column(ci), ip.colNames[j])
			}
		case ip.listed:
			l := rec.Column(ip.col).(array.ListLike)
			for r := range n {
				if msg := listRowFault(l, ip, r); msg != "" {
					markMsg(r, ip.colName, msg)
				}
			}
		default:
			col := rec.Column(ip.col)
			scan(col, ip.colName)
			fsl, ok := col.(*array.FixedSizeList)
			if !ok || fsl.ListValues().NullN() == 0 {
				continue
			}
			per := int64(fsl.DataType().(*arrow.FixedSizeListType).Len())
			vals := fsl.ListValues()
			start := int64(fsl.Offset()) * per
			for r := range n {
				for k := range per {
					if vals.IsNull(int(start + r*per + k)) {
						mark(r, ip.colName)
						break
					}
				}
			}
		}
	}
	if bad == nil {
		return nil
	}
	var faults []rowFault
	for r, err := range bad {
		if err != nil {
			faults = append(faults, rowFault{row: int64(r), err: err})
		}
	}
	return faults
}

// screen sets aside the rows of f's batch that cannot be fed to the model
// (nulls in input columns) in f.held, rejected when the batch completes
// ([Stage.releaseHeld]), and leaves the other rows in f.compact for the
// run.
func (s *Stage) screen(ctx context.Context, f *inflight) error {
	rec := f.batch.Rec
	faults := s.plan.nullRows(rec, f.n, f.first)
	if faults == nil {
		return nil
	}
	for _, ft := range faults {
		f.held = append(f.held, heldRow{row: f.first + ft.row, rec: rec.NewSlice(ft.row, ft.row+1), err: ft.err})
	}
	// The good rows, as runs of consecutive rows.
	var runs [][2]int64
	var rows []int64
	next := int64(0)
	for _, ft := range append(faults, rowFault{row: f.n}) {
		if ft.row > next {
			runs = append(runs, [2]int64{next, ft.row})
			for r := next; r < ft.row; r++ {
				rows = append(rows, f.first+r)
			}
		}
		next = ft.row + 1
	}
	f.n = int64(len(rows))
	switch len(runs) {
	case 0:
		return nil
	case 1:
		f.compact = rec.NewSlice(runs[0][0], runs[0][1])
	default:
		c, err := concatRuns(rec, runs, s.mem)
		if err != nil {
			return err
		}
		f.compact = c
	}
	f.rows = rows
	return nil
}

// concatRuns copies the given row ranges of rec, in order, into one new
// record allocated from mem; the caller releases it.
func concatRuns(rec arrow.RecordBatch, runs [][2]int64, mem memory.Allocator) (arrow.RecordBatch, error) {
	var n int64
	for _, r := range runs {
		n += r[1] - r[0]
	}
	cols := make([]arrow.Array, 0, rec.NumCols())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	parts := make([]arrow.Array, len(runs))
	for _, col := range rec.Columns() {
		for i, r := range runs {
			parts[i] = array.NewSlice(col, r[0], r[1])
		}
		c, err := array.Concatenate(parts, mem)
		for _, p := range parts {
			p.Release()
		}
		if err != nil {
			return nil, fmt.Errorf("copying the rows that can be run: %w", err)
		}
		cols = append(cols, c)
	}
	return array.NewRecordBatch(rec.Schema(), cols, n), nil
}

// rejectRows hands rows [lo, hi) of rec to the Rejecter with err and
// counts them. It returns the Rejecter's error (the budget is spent).
func (s *Stage) rejectRows(ctx context.Context, rec arrow.RecordBatch, lo, hi int64, err error) error {
	part := rec.NewSlice(lo, hi)
	defer part.Release()
	s.rejected.Add(hi - lo)
	return s.reject.Reject(ctx, part, err)
}

// releaseHeld hands the rows held back by screen whose stream number is
// below before to the Rejecter, in order.
func (s *Stage) releaseHeld(ctx context.Context, f *inflight, before int64) error {
	for len(f.held) > 0 && f.held[0].row < before {
		h := f.held[0]
		f.held = f.held[1:]
		s.rejected.Add(1)
		err := s.reject.Reject(ctx, h.rec, h.err)
		h.rec.Release()
		if err != nil {
			return err
		}
	}
	return nil
}

// maxDepth is how deep bisection of n rows goes: ceil(log2(n)) halvings
// reach single rows, plus one as a guard.
func maxDepth(n int64) int {
	if n <= 1 {
		return 1
	}
	return bits.Len64(uint64(n-1)) + 1
}

// isolate handles a batch the backend refused as invalid input: it
// bisects the batch's rows, emitting the results of the parts that run
// and rejecting the single rows that still fail, in input order.
func (s *Stage) isolate(ctx context.Context, f *inflight, cause error, emit stages.Emit) error {
	return s.bisect(ctx, f, 0, f.n, cause, 0, maxDepth(f.n), emit)
}

// bisect isolates the failing rows of [lo, hi), which failed with cause,
// at depth levels of halving below the whole batch.
func (s *Stage) bisect(ctx context.Context, f *inflight, lo, hi int64, cause error, depth, limit int, emit stages.Emit) error {
	if hi-lo == 1 || depth >= limit {
		if err := s.releaseHeld(ctx, f, f.row(lo)); err != nil {
			return err
		}
		return s.rejectRows(ctx, f.rec(), lo, hi, f.rangeError(lo, hi, cause))
	}
	mid := lo + (hi-lo)/2
	if err := s.runPart(ctx, f, lo, mid, depth+1, limit, emit); err != nil {
		return err
	}
	return s.runPart(ctx, f, mid, hi, depth+1, limit, emit)
}

// runPart runs rows [lo, hi) of f and emits their result; when the backend
// refuses them as invalid input it bisects them further. Any other error
// ends the run, as it would for a whole batch.
func (s *Stage) runPart(ctx context.Context, f *inflight, lo, hi int64, depth, limit int, emit stages.Emit) error {
	part := f.rec().NewSlice(lo, hi)
	defer part.Release()
	ts, owned, err := s.plan.tensors(part, s.mem, f.row(lo))
	defer func() {
		for _, b := range owned {
			s.mem.Free(b)
		}
	}()
	if err != nil {
		return err
	}
	ts = s.plan.pad(ts, hi-lo, int64(s.policy.PadTo), &owned, s.mem)
	s.bisectRuns.Add(1)
	c, err := s.run.Submit(ctx, ts, s.mem)
	if err != nil {
		return f.rangeError(lo, hi, err)
	}
	// The tensors borrow part and owned until the call is done.
	<-c.Done()
	outs, err := c.Result()
	if err != nil {
		if bridge.ClassOf(err) == bridge.ClassInvalidInput {
			return s.bisect(ctx, f, lo, hi, err, depth, limit, emit)
		}
		return f.rangeError(lo, hi, err)
	}
	rec, err := s.output(f.rec(), lo, hi-lo, outs)
	if err != nil {
		return err
	}
	return emit(ctx, rec)
}

// pad extends the batched input tensors of n rows to `to` rows (the
// batch policy's pad_to: the model's static batch size, or the one the job
// asks for) by repeating the last row, as the batcher pads, in buffers
// from mem appended to owned. With to <= n the tensors are returned as
// they are.
func (p *plan) pad(ts []bridge.Tensor, n, to int64, owned *[][]byte, mem memory.Allocator) []bridge.Tensor {
	if to <= n {
		return ts
	}
	for i, ip := range p.inputs {
		if !ip.batched {
			continue
		}
		t := ts[i]
		row := len(t.Data) / int(n)
		buf := mem.Allocate(int(to) * row)
		*owned = append(*owned, buf)
		copy(buf, t.Data)
		last := t.Data[len(t.Data)-row:]
		for r := int(n); r < int(to); r++ {
			copy(buf[r*row:], last)
		}
		shape := append([]int64{to}, t.Shape[1:]...)
		ts[i] = bridge.Tensor{Type: t.Type, Shape: shape, Data: buf}
	}
	return ts
}

// doneCall is the call of a batch whose rows were all rejected before the
// run: it is done at once and has no outputs.
type doneCall struct{}

var closedDone = func() chan struct{} {
	c := make(chan struct{})
	close(c)
	return c
}()

func (doneCall) Done() <-chan struct{}            { return closedDone }
func (doneCall) Result() ([]bridge.Tensor, error) { return nil, nil }
func (doneCall) Ran() time.Duration               { return 0 }
