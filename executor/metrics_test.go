package executor

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

func TestMetrics(t *testing.T) {
	v := newEnv(t, Options{})
	a := v.fake("fa", backendtest.Config{})
	v.fake("fb", backendtest.Config{})
	m := v.open(ModelSpec{Stage: "score", Path: v.model("m.fake", "x"), Backends: []string{"fa", "fb"}})
	if err := v.run(context.Background(), m, 2); err != nil {
		t.Fatal(err)
	}
	a.FailAlways(bridge.ClassUnsupported)
	if err := v.run(context.Background(), m, 2); err != nil {
		t.Fatal(err)
	}

	mfs, err := v.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}

	want := `
# HELP pipe_backend_runs_total Model runs sent to a backend, failed ones included.
# TYPE pipe_backend_runs_total counter
pipe_backend_runs_total{backend="fa",model="m.fake",stage="score"} 2
pipe_backend_runs_total{backend="fb",model="m.fake",stage="score"} 1
# HELP pipe_backend_run_errors_total Model runs that failed, by the backend that failed them.
# TYPE pipe_backend_run_errors_total counter
pipe_backend_run_errors_total{backend="fa",model="m.fake",stage="score"} 1
pipe_backend_run_errors_total{backend="fb",model="m.fake",stage="score"} 0
# HELP pipe_backend_fallbacks_total Calls moved away from this backend to the next one of the model.
# TYPE pipe_backend_fallbacks_total counter
pipe_backend_fallbacks_total{backend="fa",model="m.fake",stage="score"} 1
pipe_backend_fallbacks_total{backend="fb",model="m.fake",stage="score"} 0
# HELP pipe_backend_breaker_state Circuit breaker state per model and backend: 0 closed, 1 half-open, 2 open.
# TYPE pipe_backend_breaker_state gauge
pipe_backend_breaker_state{backend="fa",model="m.fake"} 0
pipe_backend_breaker_state{backend="fb",model="m.fake"} 0
# HELP pipe_backend_in_flight_bytes Bytes of model tensors (inputs and estimated outputs) admitted and not yet completed.
# TYPE pipe_backend_in_flight_bytes gauge
pipe_backend_in_flight_bytes 0
`
	if err := testutil.GatherAndCompare(v.reg, strings.NewReader(want),
		"pipe_backend_runs_total", "pipe_backend_run_errors_total", "pipe_backend_fallbacks_total",
		"pipe_backend_breaker_state", "pipe_backend_in_flight_bytes"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(v.e.met.latency); n != 2 {
		t.Fatalf("latency series %d, want 2", n)
	}
	// Label values are backend, model and stage names only.
	for _, mf := range mfs {
		for _, mt := range mf.GetMetric() {
			for _, l := range mt.GetLabel() {
				switch l.GetName() {
				case "backend", "model", "stage":
				default:
					t.Errorf("%s has label %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
}

func TestNewRefusesASharedRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	e, err := New(Options{Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if _, err := New(Options{Registerer: reg}); err == nil {
		t.Fatal("a second executor registered on the same registry")
	}
}

func TestCloseWaitsForCalls(t *testing.T) {
	v := newEnv(t, Options{Clock: realClock{}})
	a := v.fake("fa", backendtest.Config{})
	m, err := v.e.Open(context.Background(), ModelSpec{Stage: "s", Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
	if err != nil {
		t.Fatal(err)
	}
	a.SetLatency(30 * time.Millisecond)
	in := backendtest.Input(v.mem, 2, 4)
	defer v.mem.Free(in.Data)
	c, err := m.Submit(context.Background(), []bridge.Tensor{in}, v.mem)
	if err != nil {
		t.Fatal(err)
	}
	if err := v.e.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Close returned before the call completed")
	}
	out, err := c.Result()
	defer backendtest.Free(v.mem, out)
	if err != nil {
		t.Fatal(err)
	}
	if a.Closes() != a.Opens() {
		t.Fatalf("opens %d closes %d after Close", a.Opens(), a.Closes())
	}
	if _, err := m.Submit(context.Background(), []bridge.Tensor{in}, v.mem); err == nil {
		t.Fatal("Submit after Executor.Close succeeded")
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := sortedNames(v.e.Backends()); len(got) == 0 {
		t.Fatal("Backends() lists nothing")
	}
}
