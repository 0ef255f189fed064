package executor

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/backendtest"
)

// TestRunPanicIsAnError makes the backend panic inside Run: the call fails
// with an error naming the stage and the panic, the worker survives, and
// the model runs again once the backend is healed.
func TestRunPanicIsAnError(t *testing.T) {
	v := newEnv(t, Options{})
	fb := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Stage: "score", Path: v.model("m.fake", "x"), Backends: []string{"fa"}})
	fb.PanicAlways("injected backend panic")
	err := v.run(context.Background(), m, 3)
	if err == nil || !strings.Contains(err.Error(), `stage "score"`) || !strings.Contains(err.Error(), "injected backend panic") {
		t.Fatalf("run with a panicking backend = %v, want an error naming the stage and the panic", err)
	}
	fb.Heal()
	if err := v.run(context.Background(), m, 3); err != nil {
		t.Fatalf("run after the panic: %v", err)
	}
}

// TestHealthReaderPanicStopsPoller makes the health reader panic: the
// poller stops (as for a machine without signals) and the process lives.
func TestHealthReaderPanicStopsPoller(t *testing.T) {
	v := newEnv(t, Options{Health: func() (HealthReading, error) { panic("injected reader panic") }, HealthInterval: time.Hour})
	select {
	case <-v.e.sig.done:
	case <-time.After(time.Minute):
		t.Fatal("the poller did not stop after its reader panicked")
	}
	v.e.sig.mu.Lock()
	defer v.e.sig.mu.Unlock()
	if !v.e.sig.state.Stopped || !strings.Contains(fmt.Sprint(v.e.sig.state.Err), "injected reader panic") {
		t.Fatalf("poller state %+v, want stopped with the panic as its error", v.e.sig.state)
	}
}
