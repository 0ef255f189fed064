package executor_test

import (
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	_ "github.com/pipe-ml/pipe/bridge/ort" // registers cpu
	"github.com/pipe-ml/pipe/executor"
)

// TestONNXRuntimeCPU runs testdata/models/mlp.onnx on the real cpu
// backend. It fails when ONNX Runtime cannot be loaded, unless
// PIPE_TEST_NO_ORT=1.
func TestONNXRuntimeCPU(t *testing.T) {
	cpu, err := bridge.Lookup("cpu")
	if err != nil {
		t.Fatal(err)
	}
	if err := cpu.Available(); err != nil {
		if os.Getenv("PIPE_TEST_NO_ORT") == "1" {
			t.Skipf("PIPE_TEST_NO_ORT=1 and ONNX Runtime is not loadable: %v", err)
		}
		t.Fatalf("ONNX Runtime is not loadable (set PIPE_TEST_NO_ORT=1 to skip): %v", err)
	}
	_, file, _, _ := runtime.Caller(0)
	path := filepath.Join(filepath.Dir(file), "..", "testdata", "models", "mlp.onnx")

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	e, err := executor.New(executor.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	}()
	m, err := e.Open(context.Background(), executor.ModelSpec{
		Stage: "mlp", Path: path, Backends: []string{"auto"},
		Session: bridge.Options{IntraOpThreads: 1, InterOpThreads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	backend, reason := m.Placement()
	if backend != "cpu" || !strings.HasPrefix(reason, "auto: ") || !strings.HasSuffix(reason, "cpu") {
		t.Fatalf("placement %s (%s), want cpu by auto", backend, reason)
	}
	const rows = 5
	in := bridge.Tensor{Type: bridge.Float32, Shape: []int64{rows, 32}, Data: mem.Allocate(rows * 32 * 4)}
	defer mem.Free(in.Data)
	for i := range rows * 32 {
		binary.LittleEndian.PutUint32(in.Data[4*i:], math.Float32bits(float32(i%7)/7))
	}
	c, err := m.Submit(context.Background(), []bridge.Tensor{in}, mem)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Result()
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, o := range out {
			mem.Free(o.Data)
		}
	}()
	if len(out) != 1 || out[0].Shape[0] != rows || out[0].Shape[1] != 8 {
		t.Fatalf("outputs %+v, want one [5, 8] tensor", out)
	}
	for r := range rows {
		var sum float64
		for j := range 8 {
			sum += float64(math.Float32frombits(binary.LittleEndian.Uint32(out[0].Data[4*(r*8+j):])))
		}
		if math.Abs(sum-1) > 1e-4 {
			t.Fatalf("row %d: softmax sums to %v", r, sum)
		}
	}
	var found bool
	for _, st := range e.Backends() {
		if st.Name == "cpu" {
			found = st.Available && len(st.Models) == 1 && st.Models[0].Runs == 1 && st.Models[0].Model == "mlp.onnx"
		}
	}
	if !found {
		t.Fatalf("Backends() does not report the run on cpu: %+v", e.Backends())
	}
}
