package serve

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/pipe-ml/pipe/serve/inferpb"
)

const okBody = `{"inputs":[{"name":"x","datatype":"FP32","shape":[1,2],"data":[1,2]}]}`

// waitStarted waits for n Infer calls of a gated model to start.
func waitStarted(t *testing.T, m *fakeModel, n int) {
	t.Helper()
	for range n {
		select {
		case <-m.started:
		case <-time.After(5 * time.Second):
			t.Fatal("Infer did not start")
		}
	}
}

func TestQueueFull(t *testing.T) {
	m := doubleModel()
	release := m.gated()
	h := start(t, Options{MaxQueue: 2, DrainTimeout: 2 * time.Second}, m)
	codes2 := make(chan int, 2)
	for range 2 {
		go func() {
			code, _, _ := h.do(t, "POST", "/v2/models/double/infer", nil, []byte(okBody))
			codes2 <- code
		}()
	}
	waitStarted(t, m, 2)
	code, hdr, b := h.do(t, "POST", "/v2/models/double/infer", nil, []byte(okBody))
	if code != http.StatusTooManyRequests || hdr.Get("Retry-After") == "" {
		t.Errorf("third request: %d Retry-After %q %s; want 429 with Retry-After", code, hdr.Get("Retry-After"), b)
	}
	_, err := h.grpc.ModelInfer(context.Background(), &inferpb.ModelInferRequest{ModelName: "double"})
	if status.Code(err) != codes.ResourceExhausted {
		t.Errorf("grpc while full: %v, want ResourceExhausted", err)
	}
	release()
	for range 2 {
		if c := <-codes2; c != 200 {
			t.Errorf("admitted request: %d, want 200", c)
		}
	}
	if code, _, b := h.do(t, "POST", "/v2/models/double/infer", nil, []byte(okBody)); code != 200 {
		t.Errorf("after the queue emptied: %d %s", code, b)
	}
}

func TestBearerToken(t *testing.T) {
	h := start(t, Options{Token: "s3cret"}, doubleModel())
	good := http.Header{"Authorization": {"Bearer s3cret"}}
	bad := http.Header{"Authorization": {"Bearer nope"}}
	for _, tt := range []struct {
		method, path string
		hdr          http.Header
		code         int
	}{
		{"GET", "/v2/health/live", nil, 200},
		{"GET", "/v2/health/ready", nil, 200},
		{"GET", "/metrics", nil, 200},
		{"GET", "/v2", nil, 401},
		{"GET", "/v2", bad, 401},
		{"GET", "/v2", good, 200},
		{"GET", "/v2/models/double", nil, 401},
		{"GET", "/v2/models/double/ready", nil, 401},
		{"POST", "/v2/models/double/infer", nil, 401},
		{"POST", "/v2/models/double/infer", good, 200},
	} {
		t.Run(tt.method+tt.path, func(t *testing.T) {
			code, _, b := h.do(t, tt.method, tt.path, tt.hdr, []byte(okBody))
			if code != tt.code {
				t.Errorf("%d %s, want %d", code, b, tt.code)
			}
		})
	}
	ctx := context.Background()
	if _, err := h.grpc.ServerMetadata(ctx, &inferpb.ServerMetadataRequest{}); status.Code(err) != codes.Unauthenticated {
		t.Errorf("grpc without token: %v", err)
	}
	if _, err := h.grpc.ServerLive(ctx, &inferpb.ServerLiveRequest{}); err != nil {
		t.Errorf("grpc ServerLive without token: %v", err)
	}
	authed := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer s3cret")
	if _, err := h.grpc.ServerMetadata(authed, &inferpb.ServerMetadataRequest{}); err != nil {
		t.Errorf("grpc with token: %v", err)
	}
}

func TestReadiness(t *testing.T) {
	m := doubleModel()
	h := start(t, Options{}, m)
	check := func(wantReady bool) {
		t.Helper()
		code, _, b := h.do(t, "GET", "/v2/health/ready", nil, nil)
		want := readyStatus(wantReady)
		if code != want {
			t.Errorf("ready: %d %s, want %d", code, b, want)
		}
		code, _, b = h.do(t, "POST", "/v2/models/double/infer", nil, []byte(okBody))
		if (code == 200) != wantReady {
			t.Errorf("infer: %d %s with ready %v", code, b, wantReady)
		}
	}
	check(true)
	h.s.SetReady(false)
	check(false)
	h.s.SetReady(true)
	m.ready.Store(false)
	check(false)
	if code, _, _ := h.do(t, "GET", "/v2/models/double/ready", nil, nil); code != 503 {
		t.Errorf("model ready of an unready model: %d", code)
	}
	m.ready.Store(true)
	check(true)
}

func TestServeDrains(t *testing.T) {
	m := doubleModel()
	release := m.gated()
	h := start(t, Options{DrainTimeout: 10 * time.Second}, m)
	got := make(chan int, 1)
	go func() {
		code, _, _ := h.do(t, "POST", "/v2/models/double/infer", nil, []byte(okBody))
		got <- code
	}()
	waitStarted(t, m, 1)
	served := make(chan error, 1)
	go func() { served <- h.stop() }()
	deadline := time.Now().Add(5 * time.Second)
	for h.s.ready.Load() && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if h.s.serverReady() {
		t.Fatal("still ready while draining")
	}
	// New work is refused while the admitted request runs.
	_, err := h.grpc.ModelInfer(context.Background(), &inferpb.ModelInferRequest{ModelName: "double"})
	if c := status.Code(err); c != codes.Unavailable {
		t.Errorf("grpc during drain: %v, want Unavailable", err)
	}
	if _, err := http.Post(h.base+"/v2/models/double/infer", "application/json", strings.NewReader(okBody)); err == nil {
		t.Error("a new connection was accepted during the drain")
	}
	select {
	case err := <-served:
		t.Fatalf("Serve returned %v before the in-flight request finished", err)
	case <-time.After(50 * time.Millisecond):
	}
	release()
	if c := <-got; c != 200 {
		t.Errorf("in-flight request: %d, want 200", c)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve: %v, want nil after a clean drain", err)
	}
}

func TestServeCutsOff(t *testing.T) {
	m := doubleModel()
	defer m.gated()()
	m.lag = 100 * time.Millisecond
	h := start(t, Options{DrainTimeout: 50 * time.Millisecond}, m)
	done := make(chan error, 1)
	go func() {
		_, err := h.grpc.ModelInfer(context.Background(), &inferpb.ModelInferRequest{ModelName: "double",
			Inputs: []*inferpb.ModelInferRequest_InferInputTensor{pbInput("x", "FP32", []int64{1, 2}, &inferpb.InferTensorContents{Fp32Contents: []float32{1, 2}})}})
		done <- err
	}()
	waitStarted(t, m, 1)
	err := h.stop()
	if !errors.Is(err, ErrCutOff) || !strings.Contains(err.Error(), ": 1 after") {
		t.Errorf("Serve: %v, want ErrCutOff for 1 request", err)
	}
	if m.returned.Load() != 1 {
		t.Error("Serve returned before the cut-off request's Infer did")
	}
	select {
	case <-m.canceled:
	default:
		t.Error("the cut-off request's ctx was not cancelled")
	}
	if err := <-done; err == nil {
		t.Error("the cut-off request succeeded")
	}
}

func TestClientDisconnectCancels(t *testing.T) {
	m := doubleModel()
	defer m.gated()()
	h := start(t, Options{}, m)
	t.Run("rest", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		req, _ := http.NewRequestWithContext(ctx, "POST", h.base+"/v2/models/double/infer", strings.NewReader(okBody))
		errc := make(chan error, 1)
		go func() {
			resp, err := h.client.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		waitStarted(t, m, 1)
		cancel()
		<-errc
		select {
		case <-m.canceled:
		case <-time.After(5 * time.Second):
			t.Fatal("Infer's ctx was not cancelled when the client went away")
		}
	})
	t.Run("grpc", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() {
			_, err := h.grpc.ModelInfer(ctx, &inferpb.ModelInferRequest{ModelName: "double",
				Inputs: []*inferpb.ModelInferRequest_InferInputTensor{pbInput("x", "FP32", []int64{1, 2}, &inferpb.InferTensorContents{Fp32Contents: []float32{1, 2}})}})
			errc <- err
		}()
		waitStarted(t, m, 1)
		cancel()
		<-errc
		select {
		case <-m.canceled:
		case <-time.After(5 * time.Second):
			t.Fatal("Infer's ctx was not cancelled when the client went away")
		}
	})
}

// TestServeCutsOffMountedHandler drains requests that came through
// Handler mounted on the caller's own server: Serve (with no listeners)
// still waits for them and cancels them when the drain times out.
func TestServeCutsOffMountedHandler(t *testing.T) {
	m := doubleModel()
	release := m.gated()
	m.lag = 100 * time.Millisecond
	s, err := New([]Model{m}, Options{DrainTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	defer release() // before ts.Close, which waits for handlers
	got := make(chan int, 1)
	go func() {
		resp, err := ts.Client().Post(ts.URL+"/v2/models/double/infer", "application/json", strings.NewReader(okBody))
		if err != nil {
			got <- 0
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	waitStarted(t, m, 1)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, nil, nil) }()
	select {
	case err = <-served:
	case <-time.After(5 * time.Second):
		t.Fatal("Serve did not cut the request off") // the deferred release unblocks it
	}
	if !errors.Is(err, ErrCutOff) {
		t.Errorf("Serve: %v, want ErrCutOff", err)
	}
	if m.returned.Load() != 1 {
		t.Error("Serve returned before the cut-off request's Infer did")
	}
	if c := <-got; c != http.StatusServiceUnavailable {
		t.Errorf("cut-off request: %d, want 503", c)
	}
	if code := httptestGet(t, ts, "/v2/health/ready"); code != 503 {
		t.Errorf("ready after Serve: %d, want 503", code)
	}
}

// httptestGet returns the status of GET path on ts.
func httptestGet(t *testing.T, ts *httptest.Server, path string) int {
	t.Helper()
	resp, err := ts.Client().Get(ts.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
