package model_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/backendtest"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestQueuedBatch checks the one full batch the stage queues behind its
// running calls, through the executor: while the backend holds every
// instance, the stage reads exactly the rows of the running batches, of
// one queued batch and of one more batch, which waits full; the backend
// never runs more than `instances` calls at once; every row comes out
// once, in order, with the backend's value.
func TestQueuedBatch(t *testing.T) {
	const k, maxRows, n = 4, 4, 64
	path := filepath.Join(t.TempDir(), "m.fake")
	if err := os.WriteFile(path, []byte("fake"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, instances := range []int{1, 2} {
		t.Run(fmt.Sprintf("instances=%d", instances), func(t *testing.T) {
			name := fmt.Sprintf("queuefake%d", instances)
			fb := backendtest.New(backendtest.Config{Name: name, K: k}).Register(t)
			mem := stagetest.Mem(t)
			// The lane allows more than instances: the model's own
			// limit must hold.
			ex := newExecutor(t, executor.Options{MaxConcurrency: map[string]int{name: instances + 2}})
			with := fmt.Sprintf("model: %s\nbackends: [%s]\ninputs: {x: x}\noutputs: {y: y}\nkeep: [id]\ninstances: %d\nbatch: {max_rows: %d, max_delay: 1h}\n",
				path, name, instances, maxRows)
			s := buildRejecting(t, mem, nil, ex, with, vectors(memory.DefaultAllocator, "x", 0, 1, k, 1).Schema())
			gate := make(chan struct{}) // after the build: the executor warms the model up
			fb.SetGate(gate)

			in := make(chan arrow.RecordBatch) // unbuffered: sent counts the rows the stage read
			var sent atomic.Int64
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			go func() {
				defer close(in)
				for i := range n {
					rec := vectors(mem, "x", i, 1, k, uint64(i))
					select {
					case in <- rec:
						sent.Add(1)
					case <-ctx.Done():
						rec.Release()
						return
					}
				}
			}()
			var ids []int64
			var ys []float32
			runErr := make(chan error, 1)
			go func() {
				runErr <- s.Run(ctx, []<-chan arrow.RecordBatch{in}, func(ctx context.Context, rec arrow.RecordBatch) error {
					defer rec.Release()
					ids = append(ids, rec.Column(0).(*array.Int64).Int64Values()...)
					ys = append(ys, flatF32(rec.Column(1))[:rec.NumRows()*k]...)
					return nil
				})
			}()

			// Running batches, the queued one, and one waiting full.
			want := int64((instances + 2) * maxRows)
			for sent.Load() < want || fb.Running() < instances {
				if ctx.Err() != nil {
					t.Fatalf("the stage read %d rows and runs %d calls, want %d rows read and %d running", sent.Load(), fb.Running(), want, instances)
				}
				time.Sleep(time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // room to read too much, if it would
			if got := sent.Load(); got != want {
				t.Errorf("with every instance busy the stage read %d rows, want %d", got, want)
			}
			close(gate)
			if err := <-runErr; err != nil {
				t.Fatal(err)
			}
			if p := fb.Peak(); p > instances {
				t.Errorf("the backend ran %d calls at once, instances is %d", p, instances)
			}
			if len(ids) != n {
				t.Fatalf("%d rows out, want %d", len(ids), n)
			}
			for i, id := range ids {
				if id != int64(i) {
					t.Fatalf("row %d has id %d: order lost", i, id)
				}
				x := vectors(memory.DefaultAllocator, "x", i, 1, k, uint64(i))
				xs := flatF32(x.Column(1))
				for j := range k {
					if got, want := ys[i*k+j], 2*xs[j]+1; got != want {
						t.Fatalf("row %d y[%d] = %v, want %v", i, j, got, want)
					}
				}
				x.Release()
			}
		})
	}
}
