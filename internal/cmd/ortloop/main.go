// Command ortloop is the baseline of the model benchmark: a plain loop that
// calls ONNX Runtime (through bridge/ort, the same binding pipe uses) on one
// model, batch after batch, over rows already in memory. `make bench` runs
// it beside the equivalent pipe job with the same batch size and threads.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"syscall"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/ort"
)

func main() {
	model := flag.String("model", "testdata/models/mlp.onnx", "model file")
	rows := flag.Int("rows", 2_000_000, "rows to score")
	batch := flag.Int("batch", 512, "rows per call")
	threads := flag.Int("threads", 1, "intra-op threads")
	width := flag.Int("width", 32, "values per row of the model's input")
	flag.Parse()
	if err := run(*model, *rows, *batch, *threads, *width); err != nil {
		fmt.Fprintln(os.Stderr, "ortloop:", err)
		os.Exit(1)
	}
}

func run(model string, rows, batch, threads, width int) error {
	b := ort.NewBackend("cpu", nil, ort.CPUCapabilities())
	if err := b.Available(); err != nil {
		return err
	}
	ctx := context.Background()
	sess, err := b.Open(ctx, model, bridge.Options{IntraOpThreads: threads, InterOpThreads: 1})
	if err != nil {
		return err
	}
	defer sess.Close()
	in := sess.Info().Inputs[0]
	// The rows, already in memory as one float32 buffer.
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]float32, rows*width)
	for i := range data {
		data[i] = float32(rng.NormFloat64())
	}
	raw := arrow.Float32Traits.CastToBytes(data)
	mem := memory.NewGoAllocator()
	before := usage()
	start := time.Now()
	done := 0
	for done < rows {
		n := min(batch, rows-done)
		t := bridge.Tensor{Type: in.Type, Shape: []int64{int64(n), int64(width)}, Data: raw[4*done*width : 4*(done+n)*width]}
		outs, err := sess.Run(ctx, []bridge.Tensor{t}, mem)
		if err != nil {
			return err
		}
		for _, o := range outs {
			if o.Data != nil {
				mem.Free(o.Data)
			}
		}
		done += n
	}
	sec := time.Since(start).Seconds()
	after := usage()
	fmt.Printf("rows=%d seconds=%.3f rows_per_second=%.0f cpu_seconds=%.2f minor_faults=%d\n",
		rows, sec, float64(rows)/sec, after.cpu-before.cpu, after.faults-before.faults)
	return nil
}

// rusage is the process's CPU time (user and system) and minor page faults
// so far.
type rusage struct {
	cpu    float64
	faults int64
}

func usage() rusage {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return rusage{}
	}
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return rusage{cpu: sec(ru.Utime) + sec(ru.Stime), faults: int64(ru.Minflt)}
}
