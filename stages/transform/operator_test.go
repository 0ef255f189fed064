package transform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// idBatch returns a batch of schema (id int64, then float64 columns) with
// ids lo..hi-1; every float column holds id*10+its index.
func idBatch(mem memory.Allocator, schema *arrow.Schema, lo, hi int) arrow.RecordBatch {
	cols := make([]arrow.Array, schema.NumFields())
	for c, f := range schema.Fields() {
		switch f.Type.ID() {
		case arrow.INT64:
			b := array.NewInt64Builder(mem)
			for i := lo; i < hi; i++ {
				b.Append(int64(i))
			}
			cols[c] = b.NewArray()
			b.Release()
		default:
			b := array.NewFloat64Builder(mem)
			for i := lo; i < hi; i++ {
				b.Append(float64(i*10 + c))
			}
			cols[c] = b.NewArray()
			b.Release()
		}
	}
	rec := array.NewRecordBatch(schema, cols, int64(hi-lo))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// chunked cuts rows 0..sum(sizes)-1 into batches of the given sizes.
func chunked(mem memory.Allocator, schema *arrow.Schema, sizes ...int) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	lo := 0
	for _, n := range sizes {
		out = append(out, idBatch(mem, schema, lo, lo+n))
		lo += n
	}
	return out
}

// send is one batch to deliver on one input.
type send struct {
	input int
	rec   arrow.RecordBatch
}

// opRun runs op over channels of capacity buf fed by one goroutine that
// delivers sends in order, then closes every channel. emit collects the
// output; block (when > 0) makes the block-th emit wait for cancellation.
// It returns the emitted batches (the caller releases them) and Run's error.
// Batches not delivered are released.
type opRun struct {
	op      stages.Operator
	inputs  int
	buf     int
	sends   []send
	block   int
	timeout time.Duration
}

func (r opRun) run(t *testing.T) ([]arrow.RecordBatch, error) {
	t.Helper()
	timeout := r.timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	chans := make([]chan arrow.RecordBatch, r.inputs)
	in := make([]<-chan arrow.RecordBatch, r.inputs)
	for i := range chans {
		chans[i] = make(chan arrow.RecordBatch, r.buf)
		in[i] = chans[i]
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer func() {
			for _, ch := range chans {
				close(ch)
			}
		}()
		for k, s := range r.sends {
			select {
			case chans[s.input] <- s.rec:
			case <-ctx.Done():
				for _, rest := range r.sends[k:] {
					rest.rec.Release()
				}
				return
			}
		}
	}()
	var out []arrow.RecordBatch
	emit := func(ctx context.Context, rec arrow.RecordBatch) error {
		if r.block > 0 && len(out)+1 == r.block {
			rec.Release()
			cancel()
			<-ctx.Done()
			return ctx.Err()
		}
		out = append(out, rec)
		return nil
	}
	err := r.op.Run(ctx, in, emit)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("operator timed out: deadlock?")
	}
	cancel()
	wg.Wait()
	for _, ch := range chans { // what the operator did not receive
		for rec := range ch {
			rec.Release()
		}
	}
	return out, err
}

// rowsOf renders each batch as its ids, batches separated by "|".
func rowsOf(recs []arrow.RecordBatch) string {
	var parts []string
	for _, r := range recs {
		parts = append(parts, keptIDs(r))
	}
	return strings.Join(parts, " | ")
}

func releaseAll(recs []arrow.RecordBatch) {
	for _, r := range recs {
		r.Release()
	}
}

func schemaOf(names ...string) *arrow.Schema {
	fields := []arrow.Field{field("id", i64)}
	for _, n := range names {
		fields = append(fields, field(n, f64))
	}
	return arrow.NewSchema(fields, nil)
}

// roundRobin orders sends one batch per input in turn.
func roundRobin(batches ...[]arrow.RecordBatch) []send {
	var out []send
	for k := 0; ; k++ {
		any := false
		for i, bs := range batches {
			if k < len(bs) {
				out = append(out, send{i, bs[k]})
				any = true
			}
		}
		if !any {
			return out
		}
	}
}

// sequential orders sends input by input: all of the first, then the next.
func sequential(order []int, batches ...[]arrow.RecordBatch) []send {
	var out []send
	for _, i := range order {
		for _, b := range batches[i] {
			out = append(out, send{i, b})
		}
	}
	return out
}

func fmtIDs(lo, hi int) string {
	var ids []string
	for i := lo; i < hi; i++ {
		ids = append(ids, fmt.Sprint(i))
	}
	return strings.Join(ids, " ")
}
