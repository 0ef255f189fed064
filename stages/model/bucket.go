package model

import (
	"context"
	"fmt"
	"sort"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/batcher"
)

// bucket is a batch (the window) whose rows were sorted by length and cut
// into parts by batch.max_tokens: rows of similar length run together, so
// padding stays small. The parts' outputs are put back in the window's
// row order before the window is emitted.
type bucket struct {
	first int64 // the stream number of the window's first row
	// pos[w] is the position in length order of the window's row w.
	pos   []int64
	parts int
	outs  []arrow.RecordBatch // the parts' outputs so far, in length order
}

// part is one piece of work the run loop submits: a batch and, when it is
// a part of a sorted window, the window it belongs to.
type part struct {
	bt     batcher.Batch
	bucket *bucket
	rows   []int64 // with a bucket: each row's position in the window
}

// cut turns a batch from the batcher into the parts to run: sorted by
// length and cut (batch.bucket), cut in row order (batch.max_tokens), or
// the batch itself. first is the stream number of bt's first row.
func (s *Stage) cut(ctx context.Context, bt batcher.Batch, first int64) ([]part, error) {
	if s.conf.Batch.Bucket {
		parts, err := s.bucketParts(ctx, bt)
		if err == nil {
			parts[0].bucket.first = first
		}
		return parts, err
	}
	pieces := s.splitTokens(bt)
	parts := make([]part, len(pieces))
	for i, pc := range pieces {
		parts[i] = part{bt: pc}
	}
	return parts, nil
}

// streamRows returns the stream numbers of a bucket part's rows.
func (p part) streamRows() []int64 {
	out := make([]int64, len(p.rows))
	for i, w := range p.rows {
		out[i] = p.bucket.first + w
	}
	return out
}

// emitOut emits a batch's output; a part of a sorted window waits for
// the window's other parts and the window is emitted whole, in order.
func (s *Stage) emitOut(ctx context.Context, f *inflight, rec arrow.RecordBatch, emit func(context.Context, arrow.RecordBatch) error) error {
	if f.bucket == nil {
		return emit(ctx, rec)
	}
	whole, err := f.bucket.add(ctx, rec, s.mem)
	if err != nil || whole == nil {
		return err
	}
	return emit(ctx, whole)
}

// bucketParts sorts bt's rows by length (stable), takes them in that order
// and cuts the result like splitTokens. bt is released.
func (s *Stage) bucketParts(ctx context.Context, bt batcher.Batch) ([]part, error) {
	n := int64(bt.Rows)
	lens := s.plan.rowLens(bt.Rec, 0, n)
	order := make([]int64, n)
	for i := range order {
		order[i] = int64(i)
	}
	sort.SliceStable(order, func(a, b int) bool { return lens[order[a]] < lens[order[b]] })
	sorted, err := takeRows(ctx, bt.Rec, order, s.mem)
	bt.Release()
	if err != nil {
		return nil, err
	}
	bk := &bucket{pos: make([]int64, n)}
	for p, w := range order {
		bk.pos[w] = int64(p)
	}
	pieces := s.splitTokens(batcher.Batch{Rec: sorted, Rows: int(n), Reason: bt.Reason, Waited: bt.Waited})
	bk.parts = len(pieces)
	out := make([]part, len(pieces))
	at := 0
	for i, pc := range pieces {
		out[i] = part{bt: pc, bucket: bk, rows: order[at : at+pc.Rows]}
		at += pc.Rows
	}
	return out, nil
}

// takeRows returns the rows of rec at idx, in that order.
func takeRows(ctx context.Context, rec arrow.RecordBatch, idx []int64, mem memory.Allocator) (arrow.RecordBatch, error) {
	ib := array.NewInt64Builder(mem)
	ib.AppendValues(idx, nil)
	indices := ib.NewArray()
	ib.Release()
	defer indices.Release()
	ctx = computeCtx(ctx, mem)
	cols := make([]arrow.Array, rec.NumCols())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	for i, c := range rec.Columns() {
		var err error
		if cols[i], err = compute.TakeArray(ctx, c, indices); err != nil {
			return nil, fmt.Errorf("sorting rows by length: column %q: %w", rec.ColumnName(i), err)
		}
	}
	return array.NewRecordBatch(rec.Schema(), cols, int64(len(idx))), nil
}

// computeCtx returns ctx carrying mem for arrow compute kernels, with
// compute's own parallelism off.
func computeCtx(ctx context.Context, mem memory.Allocator) context.Context {
	ec := compute.DefaultExecCtx()
	ec.NumParallel = 1
	return compute.WithAllocator(compute.SetExecCtx(ctx, ec), mem)
}

// add keeps a part's output (owned); when every part is in, it returns
// the window's output in the window's row order (owned by the caller),
// else nil.
func (b *bucket) add(ctx context.Context, rec arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	b.outs = append(b.outs, rec)
	if len(b.outs) < b.parts {
		return nil, nil
	}
	defer b.release()
	whole, err := concatRecords(b.outs, mem)
	if err != nil {
		return nil, err
	}
	defer whole.Release()
	return takeRows(ctx, whole, b.pos, mem)
}

// release frees the outputs kept so far.
func (b *bucket) release() {
	for _, r := range b.outs {
		r.Release()
	}
	b.outs = nil
}

// concatRecords appends records of one schema into one.
func concatRecords(recs []arrow.RecordBatch, mem memory.Allocator) (arrow.RecordBatch, error) {
	schema := recs[0].Schema()
	cols := make([]arrow.Array, schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	var rows int64
	for _, r := range recs {
		rows += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		var err error
		if cols[i], err = array.Concatenate(parts, mem); err != nil {
			return nil, err
		}
	}
	return array.NewRecordBatch(schema, cols, rows), nil
}

// checkBucket checks that batch.bucket has what it needs.
func checkBucket(conf Config, p *plan, rejects bool) error {
	switch {
	case !conf.Batch.Bucket:
		return nil
	case conf.Batch.MaxTokens <= 0:
		return fmt.Errorf("batch.bucket: set batch.max_tokens, the padded size each sorted part may have")
	case !p.hasRagged():
		return fmt.Errorf("batch.bucket: no model input is fed by a variable-length list column, so there is nothing to sort by")
	case rejects:
		return fmt.Errorf("batch.bucket: not available with on_error skip or dead_letter (rows are set aside in stream order)")
	}
	return nil
}
