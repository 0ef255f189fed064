package vector

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// fakeMetal stands in for the metal backend: it lists the same kernels
// and computes them with the package's Go kernels, counting its calls and
// the most that ran at once.
type fakeMetal struct {
	calls, running, peak atomic.Int32
	failNext             atomic.Int32 // transient failures to return
}

func (*fakeMetal) Name() string     { return backendMetal }
func (*fakeMetal) Available() error { return nil }
func (*fakeMetal) Capabilities() bridge.Capabilities {
	return bridge.Capabilities{ElemTypes: []bridge.ElemType{bridge.Float32, bridge.Int32},
		Kernels: []string{opNormalize, opMatMul, opSoftmax, opTopK}, Accelerator: true, DefaultConcurrency: 1}
}

func (f *fakeMetal) Open(_ context.Context, kernel string, opts bridge.Options) (bridge.Session, error) {
	k, _ := strconv.Atoi(opts.Extra["k"])
	return &fakeKernel{f: f, op: kernel, top: k}, nil
}

type fakeKernel struct {
	f   *fakeMetal
	op  string
	top int
}

func (s *fakeKernel) Info() bridge.ModelInfo {
	dyn := bridge.Shape{{Size: -1}, {Size: -1}}
	in := []bridge.TensorInfo{{Name: "x", Type: bridge.Float32, Kind: "tensor", Shape: dyn}}
	if s.op == opMatMul {
		in = append(in, bridge.TensorInfo{Name: "w", Type: bridge.Float32, Kind: "tensor", Shape: dyn})
	}
	return bridge.ModelInfo{Format: "fake-kernel", Inputs: in}
}

func (s *fakeKernel) Close() error { return nil }

func (s *fakeKernel) Run(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) ([]bridge.Tensor, error) {
	s.f.calls.Add(1)
	if s.f.failNext.Add(-1) >= 0 {
		return nil, &bridge.Error{Backend: backendMetal, Op: "run", Class: bridge.ClassTransient, Msg: "injected"}
	}
	cur := s.f.running.Add(1)
	defer s.f.running.Add(-1)
	for p := s.f.peak.Load(); cur > p && !s.f.peak.CompareAndSwap(p, cur); p = s.f.peak.Load() {
	}
	time.Sleep(2 * time.Millisecond) // overlap concurrent calls, if the lanes let them
	n, k := int(in[0].Shape[0]), int(in[0].Shape[1])
	x := floats(in[0].Data)
	out := func(cols int, t bridge.ElemType) bridge.Tensor {
		return bridge.Tensor{Type: t, Shape: []int64{int64(n), int64(cols)}, Data: mem.Allocate(4 * n * cols)}
	}
	switch s.op {
	case opNormalize, opSoftmax:
		y := out(k, bridge.Float32)
		if s.op == opNormalize {
			normalizeRows(x, floats(y.Data), n, k)
		} else {
			softmaxRows(x, floats(y.Data), n, k)
		}
		return []bridge.Tensor{y}, nil
	case opMatMul:
		m := int(in[1].Shape[1])
		y := out(m, bridge.Float32)
		matmulRows(x, floats(in[1].Data), floats(y.Data), n, k, m)
		return []bridge.Tensor{y}, nil
	case opTopK:
		v, i := out(s.top, bridge.Float32), out(s.top, bridge.Int32)
		topkRows(x, floats(v.Data), unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(i.Data))), n*s.top), n, k, s.top)
		return []bridge.Tensor{v, i}, nil
	}
	return nil, fmt.Errorf("unknown kernel %s", s.op)
}

func floats(b []byte) []float32 {
	return unsafe.Slice((*float32)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/4)
}

// withFakeMetal registers a fakeMetal in place of the metal backend until
// t ends.
func withFakeMetal(t *testing.T) *fakeMetal {
	t.Helper()
	orig, _ := bridge.Lookup(backendMetal)
	bridge.Unregister(backendMetal)
	f := &fakeMetal{}
	bridge.Register(f)
	t.Cleanup(func() {
		bridge.Unregister(backendMetal)
		if orig != nil {
			bridge.Register(orig)
		}
	})
	return f
}

func buildWith(t *testing.T, mem memory.Allocator, ex *executor.Executor, with string) stages.Transform {
	t.Helper()
	env := &stages.Env{ID: "vec", Inputs: []*arrow.Schema{inSchema}, Mem: mem, Log: slog.New(slog.DiscardHandler), JobDir: t.TempDir(), Executor: ex}
	s, err := stagetest.BuildEnv(t, nil, "vector", with, env)
	if err != nil {
		t.Fatal(err)
	}
	return s.(stages.Transform)
}

// TestMetalThroughExecutor: the vector stage's Metal calls go through the
// job's executor like model calls: the backend's lanes bound how many run
// at once across stages, a transient failure is retried, and the
// executor's health counts every run; the results equal the Go kernels'.
func TestMetalThroughExecutor(t *testing.T) {
	f := withFakeMetal(t)
	ex, err := executor.New(executor.Options{MaxConcurrency: map[string]int{backendMetal: 1}, HealthInterval: -1, CanaryBackend: "none"})
	if err != nil {
		t.Fatal(err)
	}
	defer ex.Close()
	mem := stagetest.Mem(t)
	rng := rand.New(rand.NewPCG(3, 4))
	rows := make([][]float32, 64)
	for i := range rows {
		rows[i] = []float32{rng.Float32(), rng.Float32() - 0.5, rng.Float32() * 2}
	}
	f.failNext.Store(1)
	ops := []string{"{column: x, op: softmax, into: y, backend: metal}", "{column: x, op: normalize, into: y, backend: auto}",
		"{column: x, op: topk, k: 2, into: y, backend: metal}", "{column: x, op: matmul, matrix: [[1, 0], [0, 1], [2, 3]], into: y, backend: metal}"}
	done := make(chan error, len(ops))
	for _, with := range ops {
		gpu := buildWith(t, mem, ex, with)
		cpu := stagetest.MustBuild(t, nil, mem, "vector", strings2cpu(with), t.TempDir(), inSchema).(stages.Transform)
		if _, ok := gpu.(*stage).runner.(*metalRunner); !ok {
			t.Fatalf("%s: runner %T, want the executor's metal runner", with, gpu.(*stage).runner)
		}
		go func() { done <- compareRuns(mem, gpu, cpu, rows) }()
	}
	for range ops {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
	if p := f.peak.Load(); p != 1 {
		t.Errorf("%d metal calls ran at once, want the executor's lane limit 1", p)
	}
	var runs int64
	for _, b := range ex.Backends() {
		if b.Name == backendMetal {
			for _, m := range b.Models {
				runs += m.Runs
			}
		}
	}
	if calls := int64(f.calls.Load()); runs != calls || calls != int64(len(ops)*4)+1 {
		t.Errorf("executor health counted %d runs, backend saw %d calls; want %d batches plus one retried", runs, calls, len(ops)*4)
	}
}

// strings2cpu returns with, computed by the Go kernels.
func strings2cpu(with string) string {
	for _, b := range []string{"backend: metal", "backend: auto"} {
		if i := len(with) - len(b) - 1; i > 0 && with[i:len(with)-1] == b {
			return with[:i] + "backend: cpu}"
		}
	}
	return with
}

// compareRuns processes rows in 4 batches through both stages and
// compares the outputs.
func compareRuns(mem memory.Allocator, gpu, cpu stages.Transform, rows [][]float32) error {
	for b := range 4 {
		part := rows[b*len(rows)/4 : (b+1)*len(rows)/4]
		got, err := process(mem, gpu, part)
		if err != nil {
			return err
		}
		want, err := process(mem, cpu, part)
		if err != nil {
			return err
		}
		if !slices.EqualFunc(got, want, near) {
			return fmt.Errorf("batch %d: metal %v, cpu %v", b, got, want)
		}
	}
	return nil
}

func process(mem memory.Allocator, s stages.Transform, rows [][]float32) ([][]float32, error) {
	in := batchOf(mem, rows)
	defer in.Release()
	out, err := s.Process(context.Background(), in)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	l := out.Column(out.Schema().FieldIndices("y")[0]).(*array.FixedSizeList)
	k := int(l.DataType().(*arrow.FixedSizeListType).Len())
	vals := l.ListValues().(*array.Float32).Float32Values()
	got := make([][]float32, l.Len())
	for i := range got {
		got[i] = slices.Clone(vals[(l.Offset()+i)*k : (l.Offset()+i+1)*k])
	}
	return got, nil
}

// batchOf builds rows of x (no nulls).
func batchOf(mem memory.Allocator, rows [][]float32) arrow.RecordBatch {
	b := array.NewRecordBuilder(mem, inSchema)
	defer b.Release()
	lb := b.Field(1).(*array.FixedSizeListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for i, r := range rows {
		b.Field(0).(*array.Int64Builder).Append(int64(i))
		lb.Append(true)
		vb.AppendValues(r, nil)
	}
	return b.NewRecordBatch()
}
