package batcher

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// assemble builds a record of the first n pending rows followed by pad
// copies of the last of them, without changing the queue. copied reports
// whether the buffers are new (coalesced or padded) rather than shared
// with an input. The record belongs to the caller.
func (b *Batcher) assemble(n, pad int64) (rec arrow.RecordBatch, copied bool, err error) {
	first := b.queue[b.head]
	if pad <= 0 && first.rec.NumRows()-first.off >= n {
		// One input holds the whole batch: share its buffers.
		if first.off == 0 && first.rec.NumRows() == n {
			first.rec.Retain()
			return first.rec, false, nil
		}
		return first.rec.NewSlice(first.off, first.off+n), false, nil
	}
	pad = max(pad, 0)

	ncols := len(b.schema.Fields())
	b.cols = b.cols[:0]
	defer func() {
		for _, c := range b.cols {
			c.Release()
		}
		clear(b.cols)
		b.cols = b.cols[:0]
	}()
	for c := range ncols {
		col, err := b.concatColumn(c, n, pad)
		if err != nil {
			return nil, false, fmt.Errorf("batcher: column %q: %w", b.schema.Field(c).Name, err)
		}
		b.cols = append(b.cols, col)
	}
	return array.NewRecordBatch(b.schema, b.cols, n+pad), true, nil
}

// concatColumn concatenates column c of the first n pending rows and pad
// copies of the last one into a new array allocated from b.mem.
func (b *Batcher) concatColumn(c int, n, pad int64) (arrow.Array, error) {
	b.scratch, b.temps = b.scratch[:0], b.temps[:0]
	defer func() {
		for _, a := range b.temps {
			a.Release()
		}
		clear(b.temps)
		clear(b.scratch)
	}()
	var last arrow.Array // the array holding the last real row
	var lastRow int64
	need := n
	for i := b.head; need > 0; i++ {
		e := b.queue[i]
		col := e.rec.Column(c)
		k := min(e.rec.NumRows()-e.off, need)
		if e.off == 0 && k == int64(col.Len()) {
			b.scratch = append(b.scratch, col)
		} else {
			s := array.NewSlice(col, e.off, e.off+k)
			b.temps = append(b.temps, s)
			b.scratch = append(b.scratch, s)
		}
		last, lastRow = col, e.off+k-1
		need -= k
	}
	if pad > 0 {
		row := array.NewSlice(last, lastRow, lastRow+1)
		b.temps = append(b.temps, row)
		for range pad {
			b.scratch = append(b.scratch, row)
		}
	}
	return array.Concatenate(b.scratch, b.mem)
}
