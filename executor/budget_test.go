package executor

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

// The fake backend's x and y are [N, 4] float32: 16 bytes a row each, so a
// call of r rows counts 32·r bytes.

func TestSubmitRefusesCallOverBudget(t *testing.T) {
	v := newEnv(t, Options{MemoryBudget: 32 * 10})
	a := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Stage: "score", Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
	warm := a.Calls() // the warm-up run
	if err := v.run(context.Background(), m, 10); err != nil {
		t.Fatalf("a call of exactly the budget: %v", err)
	}
	err := v.run(context.Background(), m, 11)
	var be *BudgetError
	if !errors.As(err, &be) || !errors.Is(err, ErrOverBudget) {
		t.Fatalf("a call of 11 rows = %v, want a *BudgetError", err)
	}
	if be.Rows != 11 || be.Bytes != 32*11 || be.Budget != 320 || be.Stage != "score" {
		t.Fatalf("BudgetError %+v, want 11 rows, 352 bytes, budget 320, stage score", be)
	}
	for _, want := range []string{"11 rows", "352 bytes", "resources.memory_budget", "batch.max_rows"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("message %q lacks %q", err, want)
		}
	}
	if n := a.Calls() - warm; n != 1 {
		t.Fatalf("backend ran %d calls, want 1: the call over budget must not run", n)
	}
	if used, bytes := v.e.adm.inFlight(); used != 0 || bytes != 0 {
		t.Fatalf("%d calls and %d bytes still admitted", used, bytes)
	}
	if r := v.value("pipe_backend_admission_rejections_total", map[string]string{"stage": "score"}); r != 1 {
		t.Fatalf("rejections = %v, want 1", r)
	}
}

// TestAdmissionCountsOutputs: two calls whose inputs fit the budget
// together, but not with their outputs, run one after the other.
func TestAdmissionCountsOutputs(t *testing.T) {
	v := newEnv(t, Options{MemoryBudget: 32*10 + 16})
	a := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
	warm := a.Calls()
	gate := make(chan struct{})
	a.SetGate(gate)
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	defer open() // a failing test must not leave the call gated
	first := make(chan error, 1)
	go func() { first <- v.run(context.Background(), m, 5) }()
	for a.Running() == 0 {
		time.Sleep(time.Millisecond)
	}
	if used, bytes := v.e.adm.inFlight(); used != 1 || bytes != 32*5 {
		t.Fatalf("admitted %d calls, %d bytes; want 1 call of 160 bytes (inputs and outputs)", used, bytes)
	}
	second := make(chan error, 1)
	go func() { second <- v.run(context.Background(), m, 6) }() // 192 bytes: 352 > 336
	v.clock.WaitAfters(t, 1)                                    // waiting for admission
	if n := a.Calls() - warm; n != 1 {
		t.Fatalf("%d calls started, want 1 while the second waits", n)
	}
	open()
	for _, ch := range []chan error{first, second} {
		if err := <-ch; err != nil {
			t.Fatal(err)
		}
	}
}

func TestOutputCost(t *testing.T) {
	f32 := bridge.Float32
	dyn := bridge.Dim{Size: -1}
	info := bridge.ModelInfo{
		Inputs: []bridge.TensorInfo{
			{Name: "k", Type: f32, Shape: bridge.Shape{{Size: 3}}},
			{Name: "x", Type: f32, Shape: bridge.Shape{dyn, {Size: 2}}},
		},
		Outputs: []bridge.TensorInfo{
			{Name: "y", Type: f32, Shape: bridge.Shape{dyn, {Size: 8}}},            // 32 B a row
			{Name: "s", Type: bridge.Int64},                                        // 8 B a call
			{Name: "seq", Type: f32, Shape: bridge.Shape{dyn, dyn}},                // learnt
			{Name: "m", Type: bridge.Undefined, Kind: "sequence", Shape: nil},      // learnt
			{Name: "h", Type: bridge.Float16, Shape: bridge.Shape{dyn, {Size: 3}}}, // 6 B a row
		},
	}
	c := newOutputCost(info)
	if got := c.bytes(10); got != 8+10*38 {
		t.Fatalf("declared estimate for 10 rows = %d, want %d", got, 8+10*38)
	}
	// A call of 4 rows whose open output held 100 floats a row.
	out := []bridge.Tensor{
		{Data: make([]byte, 4*32)}, {Data: make([]byte, 8)}, {Data: make([]byte, 4*400)}, {}, {Data: make([]byte, 4*6)},
	}
	c.observe(out, 4)
	if got := c.bytes(10); got != 8+10*438 {
		t.Fatalf("estimate after measuring = %d, want %d", got, 8+10*438)
	}
	c.observe(out[:2], 4) // smaller: the largest measure stays
	if got := c.bytes(1); got != 8+438 {
		t.Fatalf("estimate after a smaller call = %d, want %d", got, 8+438)
	}
	in := []bridge.Tensor{{Shape: []int64{3}}, {Shape: []int64{7, 2}}}
	if got := callRows(in, info); got != 7 {
		t.Fatalf("callRows = %d, want 7 (the batched input, not the constant)", got)
	}
}
