//go:build cgo

package ort

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/arrow/memory/mallocator"

	"github.com/pipe-ml/pipe/bridge"
)

// BenchmarkRunMLP is the "plain loop" baseline: one session of mlp.onnx
// with ONNX Runtime's default threading, batches of 512 rows from C memory,
// outputs copied into C memory and freed, one Run after another.
func BenchmarkRunMLP(b *testing.B) {
	const rows = 512
	s, err := cpuBackend(b).Open(context.Background(), modelPath(b, "mlp.onnx"), bridge.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	mem := memory.NewCheckedAllocator(mallocator.NewMallocator())
	defer mem.AssertSize(b, 0)
	x := mem.Allocate(rows * 32 * 4)
	defer mem.Free(x)
	copy(x, bytesOf(pseudo(rows*32, 1)))
	in := []bridge.Tensor{{Type: bridge.Float32, Shape: []int64{rows, 32}, Data: x}}
	ctx := context.Background()

	for b.Loop() {
		out, err := s.Run(ctx, in, mem)
		if err != nil {
			b.Fatal(err)
		}
		freeOutputs(mem, out)
	}
	b.ReportMetric(float64(b.N*rows)/b.Elapsed().Seconds(), "rows/s")
}
