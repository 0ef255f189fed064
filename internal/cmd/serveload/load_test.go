package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeServer answers like pipe serve: ready, and infer checks the body is
// one FP32 [1, 32] tensor named x; every reject-th request gets 429. It
// records the most requests it had in flight at once.
type fakeServer struct {
	reject            int64
	n, inflight, peak atomic.Int64
	mu                sync.Mutex
	bad               []string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/v2/health/ready" {
		return
	}
	if r.URL.Path != "/v2/models/m/infer" {
		http.NotFound(w, r)
		return
	}
	in := f.inflight.Add(1)
	defer f.inflight.Add(-1)
	for p := f.peak.Load(); in > p && !f.peak.CompareAndSwap(p, in); p = f.peak.Load() {
	}
	var req struct {
		Inputs []struct {
			Name, Datatype string
			Shape          []int
			Data           []float32
		}
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || len(req.Inputs) != 1 || req.Inputs[0].Name != "x" ||
		req.Inputs[0].Datatype != "FP32" || len(req.Inputs[0].Data) != 32 || len(req.Inputs[0].Shape) != 2 ||
		req.Inputs[0].Shape[0] != 1 || req.Inputs[0].Shape[1] != 32 {
		f.mu.Lock()
		f.bad = append(f.bad, "bad request body")
		f.mu.Unlock()
		http.Error(w, `{"error":"bad"}`, http.StatusBadRequest)
		return
	}
	time.Sleep(2 * time.Millisecond)
	if f.reject > 0 && f.n.Add(1)%f.reject == 0 {
		http.Error(w, `{"error":"queue full"}`, http.StatusTooManyRequests)
		return
	}
	_, _ = w.Write([]byte(`{"model_name":"m","outputs":[{"name":"probs","datatype":"FP32","shape":[1,8],"data":[1,0,0,0,0,0,0,0]}]}`))
}

func newFake(t *testing.T, reject int64) (*fakeServer, string) {
	t.Helper()
	f := &fakeServer{reject: reject}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv.URL
}

// TestClosedLoop checks that a closed loop keeps exactly its clients in
// flight, sends valid bodies and sorts answers by status.
func TestClosedLoop(t *testing.T) {
	f, url := newFake(t, 4)
	s := summarize(attack(context.Background(), load{url: url + "/v2/models/m/infer", clients: 4,
		duration: 200 * time.Millisecond, timeout: 5 * time.Second, bodies: bodies(3, 32, "x")}))
	if len(f.bad) > 0 {
		t.Fatalf("server saw %d bad bodies", len(f.bad))
	}
	if p := f.peak.Load(); p != 4 {
		t.Errorf("peak requests in flight = %d, want the 4 clients", p)
	}
	if s.Requests == 0 || s.OK+s.Rejected != s.Requests {
		t.Fatalf("summary %+v: want every request ok or rejected", s)
	}
	// Every 4th request the server saw was refused.
	if want := int(f.n.Load() / 4); s.Rejected != want {
		t.Errorf("rejected = %d, want %d", s.Rejected, want)
	}
	if s.OKLatency.P50 < 2*time.Millisecond {
		t.Errorf("p50 = %v, below the server's 2ms sleep", s.OKLatency.P50)
	}
}

// TestOpenLoopKeepsRate checks that an open loop never sends more than
// its rate allows, and counts 200s without outputs apart.
func TestOpenLoopKeepsRate(t *testing.T) {
	_, url := newFake(t, 0)
	samples := attack(context.Background(), load{url: url + "/v2/models/bogus/infer", rate: 100,
		duration: 300 * time.Millisecond, timeout: 5 * time.Second, bodies: bodies(1, 32, "x")})
	s := summarize(samples)
	if s.Requests == 0 || s.Requests > 31 {
		t.Errorf("sent %d requests at 100/s for 300ms, want 1..31", s.Requests)
	}
	if s.Codes[http.StatusNotFound] != s.Requests || s.OK != 0 {
		t.Errorf("codes %v, ok %d: want every request 404", s.Codes, s.OK)
	}
}

func TestBadBodyCounted(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"error":"not an answer"}`))
	}))
	defer srv.Close()
	s := summarize(attack(context.Background(), load{url: srv.URL, clients: 1, duration: 50 * time.Millisecond,
		timeout: time.Second, bodies: bodies(1, 4, "x")}))
	if s.Requests == 0 || s.BadBody != s.Requests || s.OK != 0 {
		t.Errorf("summary %+v: want every 200 counted as bad_body", s)
	}
}

// TestRun drives the command end to end against the fake server.
func TestRun(t *testing.T) {
	_, url := newFake(t, 0)
	var out bytes.Buffer
	err := run(context.Background(), []string{"-url", url + "/", "-model", "m", "-clients", "2",
		"-duration", "100ms", "-warmup", "20ms"}, &out)
	if err != nil {
		t.Fatal(err)
	}
	line := out.String()
	for _, kv := range []string{"mode=closed clients=2 ", " rejected=0 ", " errors=0 ", " bad_body=0 "} {
		if !strings.Contains(line, kv) {
			t.Errorf("output %q lacks %q", line, kv)
		}
	}
	if strings.Contains(line, " ok=0 ") {
		t.Errorf("output %q: no request answered", line)
	}
}

func TestRunErrors(t *testing.T) {
	_, url := newFake(t, 0)
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer down.Close()
	cases := []struct {
		name string
		args []string
		want error
	}{
		{"no model", []string{"-url", url}, ErrUsage},
		{"negative rate", []string{"-url", url, "-model", "m", "-rate", "-1"}, ErrUsage},
		{"no clients", []string{"-url", url, "-model", "m", "-clients", "0"}, ErrUsage},
		{"bad duration", []string{"-url", url, "-model", "m", "-duration", "soon"}, ErrUsage},
		{"not ready", []string{"-url", down.URL, "-model", "m", "-wait", "150ms"}, ErrNotReady},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := run(context.Background(), c.args, &bytes.Buffer{})
			if !errors.Is(err, c.want) {
				t.Fatalf("err = %v, want %v", err, c.want)
			}
		})
	}
	// A server that answers no 200 is an error naming the codes.
	err := run(context.Background(), []string{"-url", url, "-model", "other", "-clients", "1", "-duration", "30ms", "-warmup", "0s"}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("err = %v, want one naming the 404s", err)
	}
}
