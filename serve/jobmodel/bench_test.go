package jobmodel

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/pipe-ml/pipe/internal/mempool"
)

// BenchmarkInfer: one-row requests from many goroutines through the
// two-model endpoint, without HTTP: what the graph, the batching across
// clients and the tensor conversions cost per request.
//
//	go test -run XXX -bench Infer -benchtime 3s ./serve/jobmodel
func BenchmarkInfer(b *testing.B) {
	eps, err := Open(context.Background(), chainJob(b, ""), Ends{}, Options{Mem: mempool.New()})
	if err != nil {
		b.Fatal(err)
	}
	defer func() {
		for _, e := range eps {
			_ = e.Close(context.Background())
		}
	}()
	ep := eps[0]
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(1, 2))
		req := request(rng, 0, 1)
		for pb.Next() {
			if _, err := ep.Infer(context.Background(), req); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
