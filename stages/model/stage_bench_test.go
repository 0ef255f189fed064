package model_test

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// BenchmarkStageMLP runs the model stage over batches of 512 rows and
// reports Go heap bytes and allocations per batch in steady state: tensor
// buffers are pooled, so what remains is bookkeeping.
func BenchmarkStageMLP(b *testing.B) {
	stagetest.NeedORT(b)
	mem := memory.NewGoAllocator()
	const rows = 512
	batches := make([]arrow.RecordBatch, 64)
	for i := range batches {
		batches[i] = vectors(mem, "x", i*rows, rows, 32, uint64(i))
	}
	defer stagetest.Release(batches)
	s := mustBuild(b, mem, "model: mlp.onnx\ninputs: {x: x}\nkeep: [id]\nthreads: 1\nbatch: {max_rows: 512}\n", batches[0].Schema())
	op := s.(stages.Operator)
	run := func(n int) {
		in := make(chan arrow.RecordBatch, 4)
		go func() {
			for i := 0; i < n; i++ {
				rec := batches[i%len(batches)]
				rec.Retain()
				in <- rec
			}
			close(in)
		}()
		err := op.Run(context.Background(), []<-chan arrow.RecordBatch{in}, func(ctx context.Context, rec arrow.RecordBatch) error {
			rec.Release()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	run(8) // warm up: the pool fills
	b.ReportAllocs()
	b.ResetTimer()
	run(b.N)
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
