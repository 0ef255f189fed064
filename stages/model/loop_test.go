package model_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// TestOneRowBatchesNeverStall feeds thousands of one-row batches with a
// deadline so short that it often passes between two looks at the batcher:
// the loop must always either read, wait for a call, or wait for the
// deadline, never nothing (a stall that once hung the JSON-lines benchmark).
func TestOneRowBatchesNeverStall(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	const n = 3000
	s := mustBuild(t, mem, "model: mlp.onnx\ninputs: {x: x}\nkeep: [id]\nthreads: 1\nbatch: {max_rows: 64, max_delay: 20us}\n", vectors(memory.DefaultAllocator, "x", 0, 1, 32, 1).Schema())
	op := s.(stages.Operator)
	in := make(chan arrow.RecordBatch)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	go func() {
		defer close(in)
		for i := 0; i < n; i++ {
			rec := vectors(mem, "x", i, 1, 32, uint64(i))
			select {
			case in <- rec:
			case <-ctx.Done():
				rec.Release()
				return
			}
			if i%7 == 0 {
				time.Sleep(15 * time.Microsecond) // let deadlines pass now and then
			}
		}
	}()
	var rows int64
	err := op.Run(ctx, []<-chan arrow.RecordBatch{in}, func(ctx context.Context, rec arrow.RecordBatch) error {
		rows += rec.NumRows()
		rec.Release()
		return nil
	})
	if err != nil {
		t.Fatalf("after %d of %d rows: %v (the loop stalled until the test's deadline)", rows, n, err)
	}
	if rows != n {
		t.Fatalf("%d rows out, want %d", rows, n)
	}
	for range in {
	}
}
