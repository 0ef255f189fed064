package jobmodel

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/goleak"

	_ "github.com/pipe-ml/pipe/bridge/ort"
	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/serve"
	_ "github.com/pipe-ml/pipe/stages/all"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func modelsDir(t testing.TB) string {
	t.Helper()
	d, err := filepath.Abs("../../testdata/models")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// chainJob is the quickstart's graph: generated rows, an MLP, a scoring
// head, a Parquet sink.
func chainJob(t testing.TB, extra string) *pipeline.Job {
	t.Helper()
	m := modelsDir(t)
	src := fmt.Sprintf(`version: 1
name: scores
stages:
  - id: gen
    type: generate
    with:
      count: 10
      columns:
        - {name: id, type: int64}
        - {name: x, type: vector, dims: 32}
  - id: mlp
    type: model
    inputs: [gen]
    with:
      model: %s/mlp.onnx
      inputs: {x: x}
      outputs: {probs: probs}
      batch: {max_rows: 64, max_delay: 5ms}
  - id: head
    type: model
    inputs: [mlp]
    with:
      model: %s/head.onnx
      inputs: {h: probs}
      outputs: {score: score}
      batch: {max_rows: 64, max_delay: 5ms}
%s  - id: write
    type: parquet_sink
    inputs: [head]
    with: {path: %s}
`, m, m, extra, filepath.Join(t.TempDir(), "out"))
	job, err := pipeline.Load([]byte(src), "scores.yaml", t.TempDir(), pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return job
}

func openAll(t *testing.T, job *pipeline.Job, o Options) map[string]*Endpoint {
	t.Helper()
	eps, err := Open(context.Background(), job, Ends{}, o)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*Endpoint{}
	for _, e := range eps {
		out[e.Name()] = e
	}
	t.Cleanup(func() {
		for _, e := range eps {
			if err := e.Close(context.Background()); err != nil {
				t.Error(err)
			}
		}
	})
	return out
}

// request makes a request of rows rows: ids from first, random x.
func request(rng *rand.Rand, first, rows int) *serve.InferRequest {
	ids := make([]int64, rows)
	xs := make([]float32, rows*32)
	for i := range ids {
		ids[i] = int64(first + i)
	}
	for i := range xs {
		xs[i] = float32(rng.NormFloat64())
	}
	return &serve.InferRequest{Inputs: []serve.Tensor{
		{Name: "id", Datatype: "INT64", Shape: []int64{int64(rows)}, Data: ids},
		{Name: "x", Datatype: "FP32", Shape: []int64{int64(rows), 32}, Data: xs},
	}}
}

func output(t *testing.T, r *serve.InferResponse, name string) serve.Tensor {
	t.Helper()
	for _, o := range r.Outputs {
		if o.Name == name {
			return o
		}
	}
	t.Fatalf("no output %q in %v", name, r.Outputs)
	return serve.Tensor{}
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5+1e-4*math.Abs(float64(b)) }

// TestManyClientsGetTheirOwnRows sends requests of 1 to 3 rows from 32
// clients at once to the two-model endpoint and to each model's own, and
// checks every answer against the reference forward pass of the client's
// own rows; the model stages must have joined requests into batches.
func TestManyClientsGetTheirOwnRows(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	reg := prometheus.NewRegistry()
	eps := openAll(t, chainJob(t, ""), Options{Models: true, Mem: mem, Registerer: reg})
	if len(eps) != 3 || eps["scores"] == nil || eps["mlp"] == nil || eps["head"] == nil {
		t.Fatalf("endpoints: %v", eps)
	}
	mlp, err := onnxref.Load(filepath.Join(modelsDir(t), "mlp.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	head, err := onnxref.Load(filepath.Join(modelsDir(t), "head.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	for c := range 32 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			for i := range 10 {
				if err := checkOne(eps["scores"], mlp, head, request(rng, c*1000+i*10, 1+rng.IntN(3))); err != nil {
					errs <- fmt.Errorf("client %d request %d: %w", c, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if calls := modelCalls(t, reg, "scores"); calls <= 0 || calls >= 320 {
		t.Errorf("the MLP of the chained endpoint ran %v batches for 320 requests: want joined batches", calls)
	}
	// Each model on its own.
	rng := rand.New(rand.NewPCG(1, 2))
	req := request(rng, 0, 4)
	req.Inputs = req.Inputs[1:] // the model reads x alone
	resp, err := eps["mlp"].Infer(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := mlp.Run(map[string]onnxref.Tensor{"x": {Shape: []int64{4, 32}, F32: req.Inputs[0].Data.([]float32)}})
	if err := sameF32(output(t, resp, "probs"), []int64{4, 8}, want["probs"].F32); err != nil {
		t.Fatalf("mlp endpoint: %v", err)
	}
	if md := eps["mlp"].Metadata(); len(md.Outputs) != 2 || md.Outputs[0].Name != "x" || md.Outputs[1].Name != "probs" {
		t.Errorf("mlp endpoint outputs: %+v", md.Outputs)
	}
	if md := eps["head"].Metadata(); len(md.Inputs) != 1 || md.Inputs[0].Name != "probs" || fmt.Sprint(md.Inputs[0].Shape) != "[-1 8]" {
		t.Errorf("head endpoint inputs: %+v, want probs alone", md.Inputs)
	}
}

// checkOne sends one request and compares the answer with the reference.
func checkOne(ep *Endpoint, mlp, head *onnxref.Ref, req *serve.InferRequest) error {
	resp, err := ep.Infer(context.Background(), req)
	if err != nil {
		return err
	}
	rows := req.Inputs[0].Shape[0]
	ids := req.Inputs[0].Data.([]int64)
	for _, o := range resp.Outputs {
		if o.Name == "id" && fmt.Sprint(o.Data) != fmt.Sprint(ids) {
			return fmt.Errorf("ids %v, sent %v: rows of another request", o.Data, ids)
		}
	}
	p, err := mlp.Run(map[string]onnxref.Tensor{"x": {Shape: []int64{rows, 32}, F32: req.Inputs[1].Data.([]float32)}})
	if err != nil {
		return err
	}
	s, err := head.Run(map[string]onnxref.Tensor{"h": p["probs"]})
	if err != nil {
		return err
	}
	var got serve.Tensor
	for _, o := range resp.Outputs {
		if o.Name == "score" {
			got = o
		}
	}
	// The model stage makes a [rows, 1] output a column of scalars.
	return sameF32(got, []int64{rows}, s["score"].F32)
}

func sameF32(got serve.Tensor, shape []int64, want []float32) error {
	if got.Datatype != "FP32" || fmt.Sprint(got.Shape) != fmt.Sprint(shape) {
		return fmt.Errorf("tensor %s %s %v, want FP32 %v", got.Name, got.Datatype, got.Shape, shape)
	}
	g := got.Data.([]float32)
	for i := range want {
		if !near(g[i], want[i]) {
			return fmt.Errorf("%s[%d] = %g, want %g", got.Name, i, g[i], want[i])
		}
	}
	return nil
}

// modelCalls sums the batch counts the endpoint's model stages exported.
func modelCalls(t *testing.T, reg *prometheus.Registry, endpoint string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, mf := range mfs {
		names = append(names, mf.GetName())
		if mf.GetName() != "pipe_backend_runs_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["endpoint"] == endpoint && labels["stage"] == "mlp" {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no pipe_backend_runs_total for %s/mlp among %v", endpoint, names)
	return 0
}

// TestFailedRunRestarts: a request whose row fails the graph is answered
// with the error, and the endpoint answers the next requests after it has
// built the graph again.
func TestFailedRunRestarts(t *testing.T) {
	mem := stagetest.Mem(t)
	src := `version: 1
name: casts
stages:
  - {id: gen, type: generate, with: {count: 1, columns: [{name: s, type: string}]}}
  - {id: num, type: cast, inputs: [gen], with: {columns: {s: int64}}}
  - {id: write, type: parquet_sink, inputs: [num], with: {path: ` + filepath.Join(t.TempDir(), "o") + `}}
`
	job, err := pipeline.Load([]byte(src), "casts.yaml", t.TempDir(), pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ep := openAll(t, job, Options{Mem: mem, Restart: 10 * time.Millisecond})["casts"]
	ask := func(s string) (*serve.InferResponse, error) {
		return ep.Infer(context.Background(), &serve.InferRequest{Inputs: []serve.Tensor{{Name: "s", Datatype: "BYTES", Shape: []int64{1}, Data: [][]byte{[]byte(s)}}}})
	}
	if r, err := ask("41"); err != nil || fmt.Sprint(r.Outputs[0].Data) != "[41]" {
		t.Fatalf("good request: %v %v", r, err)
	}
	if _, err := ask("forty-one"); !errors.Is(err, ErrPassFailed) {
		t.Fatalf("bad row: got %v, want ErrPassFailed", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		r, err := ask("42")
		if err == nil {
			if fmt.Sprint(r.Outputs[0].Data) != "[42]" {
				t.Fatalf("after restart: %v", r.Outputs)
			}
			break
		}
		if !errors.Is(err, serve.ErrNotReady) || time.Now().After(deadline) {
			t.Fatalf("after the failure: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
