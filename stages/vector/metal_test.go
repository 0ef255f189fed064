package vector

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func metalUsable() bool {
	b, err := bridge.Lookup("metal")
	return err == nil && b.Available() == nil
}

// TestMetalMatchesCPU runs every operation on the same random batch with
// both backends. GitHub's macOS runners expose only a paravirtual GPU whose
// kernels return zeros, so the test runs where PIPE_METAL_TESTS=1 says a
// real Apple GPU is present.
func TestMetalMatchesCPU(t *testing.T) {
	if os.Getenv("PIPE_METAL_TESTS") != "1" {
		t.Skip("set PIPE_METAL_TESTS=1 on an Apple silicon Mac to compare the Metal kernels with the CPU ones")
	}
	if !metalUsable() {
		t.Fatalf("PIPE_METAL_TESTS=1 but the metal backend is unavailable")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	rows := make([][]float32, 200)
	for i := range rows {
		if i%17 == 0 {
			continue // null vector
		}
		rows[i] = []float32{rng.Float32()*4 - 2, rng.Float32()*4 - 2, rng.Float32()*4 - 2}
	}
	for _, with := range []string{
		"{column: x, op: normalize, into: y, backend: %s}",
		"{column: x, op: softmax, into: y, backend: %s}",
		"{column: x, op: matmul, into: y, matrix: [[1, -2], [0.5, 3], [2, 0]], backend: %s}",
		"{column: x, op: topk, k: 2, into: y, backend: %s}",
	} {
		t.Run(with, func(t *testing.T) {
			mem := stagetest.Mem(t)
			var got [2][][]float32
			for i, b := range []string{"cpu", "metal"} {
				s := stagetest.MustBuild(t, nil, mem, "vector", fmt.Sprintf(with, b), "", inSchema)
				in := batch(t, mem, rows...)
				out, err := s.(stages.Transform).Process(context.Background(), in)
				in.Release()
				if err != nil {
					t.Fatalf("%s: %v", b, err)
				}
				got[i] = append([][]float32(nil), floatRows(t, out.Column(2))...)
				for r := range got[i] {
					got[i][r] = append([]float32(nil), got[i][r]...)
				}
				out.Release()
			}
			for r := range rows {
				if !near(got[1][r], got[0][r]) {
					t.Errorf("row %d: metal %v, cpu %v", r, got[1][r], got[0][r])
				}
			}
		})
	}
}
