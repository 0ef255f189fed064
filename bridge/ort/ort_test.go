//go:build cgo

package ort

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"unsafe"

	"go.uber.org/goleak"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/onnxref"
)

// envNoORT lets a machine without the library skip the tests that need it.
const envNoORT = "PIPE_TEST_NO_ORT"

// TestMain checks, after all tests, that no goroutine and no ONNX Runtime
// session or value is left.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		runtime.GC() // run finalizers of anything left unclosed
		if s, v := LiveObjects(); s != 0 || v != 0 {
			fmt.Fprintf(os.Stderr, "FAIL: %d onnxruntime sessions and %d values still alive after the tests\n", s, v)
			code = 1
		}
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "FAIL: leaked goroutines: %v\n", err)
			code = 1
		}
	}
	os.Exit(code)
}

// needORT fails the test when the library cannot be loaded, or skips it
// loudly when PIPE_TEST_NO_ORT=1.
func needORT(t testing.TB) {
	t.Helper()
	_, err := instance()
	if err == nil {
		return
	}
	if os.Getenv(envNoORT) == "1" {
		t.Skipf("SKIPPED: ONNX Runtime is not installed and %s=1 is set; this test did not run.\n%v", envNoORT, err)
	}
	t.Fatalf("ONNX Runtime cannot be loaded (set %s=1 to skip the tests that need it):\n%v", envNoORT, err)
}

// modelPath returns testdata/models/name, failing the test if it is missing.
func modelPath(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "..", "testdata", "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test model: %v", err)
	}
	return p
}

// cpuBackend returns the registered cpu backend, after checking the library.
func cpuBackend(t testing.TB) bridge.Backend {
	t.Helper()
	needORT(t)
	b, err := bridge.Lookup("cpu")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openModel opens a test model on the cpu backend with one intra-op thread
// (the test machines are shared); the session is closed when t ends.
func openModel(t testing.TB, name string) bridge.Session {
	t.Helper()
	s, err := cpuBackend(t).Open(context.Background(), modelPath(t, name), bridge.Options{IntraOpThreads: 1, InterOpThreads: 1})
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close %s: %v", name, err)
		}
	})
	return s
}

// bytesOf views a slice's backing array as bytes (Go memory: Run pins it).
func bytesOf[T any](v []T) []byte {
	if len(v) == 0 {
		return nil
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(&v[0])), len(v)*int(unsafe.Sizeof(z)))
}

// viewAs views tensor bytes as a slice of T.
func viewAs[T any](b []byte) []T {
	var z T
	if len(b) == 0 {
		return nil
	}
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), len(b)/int(unsafe.Sizeof(z)))
}

// pseudo returns n deterministic values in [-1, 1).
func pseudo(n int, seed uint64) []float32 {
	out := make([]float32, n)
	x := seed
	for i := range out {
		x += 0x9e3779b97f4a7c15
		z := x
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
		z = (z ^ (z >> 27)) * 0x94d049bb133111eb
		z ^= z >> 31
		out[i] = float32(z>>40)/float32(1<<23) - 1
	}
	return out
}

// f32Tensor builds a float32 tensor over Go memory.
func f32Tensor(shape []int64, v []float32) bridge.Tensor {
	return bridge.Tensor{Type: bridge.Float32, Shape: shape, Data: bytesOf(v)}
}

// reference runs the pure-Go reference on the same inputs.
func reference(t testing.TB, model string, in map[string]onnxref.Tensor, outputs ...string) map[string]onnxref.Tensor {
	t.Helper()
	ref, err := onnxref.Load(modelPath(t, model))
	if err != nil {
		t.Fatalf("onnxref load %s: %v", model, err)
	}
	out, err := ref.Run(in, outputs...)
	if err != nil {
		t.Fatalf("onnxref run %s: %v", model, err)
	}
	return out
}

// closeTo compares float32 results with a relative tolerance of 1e-5 (and
// an absolute floor of 1e-6 for values near zero).
func closeTo(t testing.TB, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.Abs(g-w) > 1e-5*math.Max(math.Abs(g), math.Abs(w))+1e-6 {
			t.Fatalf("%s[%d] = %g, want %g (relative tolerance 1e-5)", what, i, g, w)
		}
	}
}

// freeOutputs frees the Data of Run's outputs.
func freeOutputs(mem interface{ Free([]byte) }, out []bridge.Tensor) {
	for _, o := range out {
		if o.Data != nil {
			mem.Free(o.Data)
		}
	}
}
