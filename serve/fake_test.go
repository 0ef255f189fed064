package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/pipe-ml/pipe/serve/inferpb"
)

// fakeModel answers each input x with an output x_out of the same datatype
// and shape: numbers doubled, booleans negated, BYTES echoed. When gate is
// set, Infer waits for it to close (or for ctx) after signalling started.
type fakeModel struct {
	md       ModelMetadata
	ready    atomic.Bool
	gate     chan struct{}
	started  chan struct{}
	canceled chan struct{} // receives when ctx ended a gated Infer
	lag      time.Duration // how long a cancelled Infer takes to return
	returned atomic.Int32  // Infer calls that have returned
	answer   func(*InferRequest) *InferResponse
}

// newFake returns a ready fakeModel named name with the given inputs.
func newFake(name string, inputs ...TensorMetadata) *fakeModel {
	m := &fakeModel{md: ModelMetadata{Name: name, Versions: []string{"1"}, Platform: "fake", Inputs: inputs}}
	for _, in := range inputs {
		m.md.Outputs = append(m.md.Outputs, TensorMetadata{Name: in.Name + "_out", Datatype: in.Datatype, Shape: in.Shape})
	}
	m.ready.Store(true)
	return m
}

// gated makes Infer wait for the returned release function.
func (m *fakeModel) gated() (release func()) {
	m.gate = make(chan struct{})
	m.started = make(chan struct{}, 100)
	m.canceled = make(chan struct{}, 100)
	return func() { close(m.gate) }
}

func (m *fakeModel) Metadata() ModelMetadata { return m.md }
func (m *fakeModel) Ready() bool             { return m.ready.Load() }

func (m *fakeModel) Infer(ctx context.Context, req *InferRequest) (*InferResponse, error) {
	defer m.returned.Add(1)
	if m.gate != nil {
		m.started <- struct{}{}
		select {
		case <-m.gate:
		case <-ctx.Done():
			m.canceled <- struct{}{}
			time.Sleep(m.lag)
			return nil, ctx.Err()
		}
	}
	if m.answer != nil {
		return m.answer(req), nil
	}
	resp := &InferResponse{Timing: Timing{Queue: time.Millisecond, Compute: 2 * time.Millisecond}}
	for _, in := range req.Inputs {
		resp.Outputs = append(resp.Outputs, Tensor{Name: in.Name + "_out", Datatype: in.Datatype, Shape: in.Shape, Data: double(in.Data)})
	}
	return resp, nil
}

// double returns data with numbers doubled, booleans negated, bytes echoed.
func double(data any) any {
	switch d := data.(type) {
	case []float32:
		return mapSlice(d, func(v float32) float32 { return 2 * v })
	case []float64:
		return mapSlice(d, func(v float64) float64 { return 2 * v })
	case []int64:
		return mapSlice(d, func(v int64) int64 { return 2 * v })
	case []int32:
		return mapSlice(d, func(v int32) int32 { return 2 * v })
	case []int8:
		return mapSlice(d, func(v int8) int8 { return 2 * v })
	case []uint8:
		return mapSlice(d, func(v uint8) uint8 { return 2 * v })
	case []uint16:
		return mapSlice(d, func(v uint16) uint16 { return 2 * v })
	case []uint64:
		return mapSlice(d, func(v uint64) uint64 { return 2 * v })
	case []bool:
		return mapSlice(d, func(v bool) bool { return !v })
	}
	return data
}

func mapSlice[T any](in []T, f func(T) T) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = f(v)
	}
	return out
}

// harness is a Server running on loopback listeners with clients for it.
type harness struct {
	s      *Server
	base   string
	client *http.Client
	grpc   inferpb.GRPCInferenceServiceClient
	stop   func() error // cancels Serve and returns its result, once
}

// start runs a ready server for models until the test ends (or stop).
func start(t *testing.T, opts Options, models ...Model) *harness {
	t.Helper()
	s, err := New(models, opts)
	if err != nil {
		t.Fatal(err)
	}
	s.SetReady(true)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &harness{s: s, base: "http://" + hl.Addr().String()}
	done := make(chan error, 1)
	go func() { done <- s.Serve(ctx, hl, gl) }()
	h.stop = sync.OnceValue(func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(10 * time.Second):
			return errors.New("Serve did not return")
		}
	})
	tr := &http.Transport{}
	h.client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	h.grpc = inferpb.NewGRPCInferenceServiceClient(conn)
	t.Cleanup(func() {
		_ = conn.Close()
		tr.CloseIdleConnections()
		if err := h.stop(); err != nil && !errors.Is(err, ErrCutOff) {
			t.Errorf("Serve: %v", err)
		}
	})
	return h
}

// do sends a request and returns the status, headers and body.
func (h *harness) do(t *testing.T, method, path string, hdr http.Header, body []byte) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, h.base+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, b
}

// infer posts a JSON body to model's infer endpoint.
func (h *harness) infer(t *testing.T, model, body string) (int, map[string]any) {
	t.Helper()
	code, _, b := h.do(t, "POST", "/v2/models/"+model+"/infer", nil, []byte(body))
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("response %q: %v", b, err)
	}
	return code, out
}

// errorOf returns the "error" field of a decoded error body.
func errorOf(t *testing.T, body map[string]any) string {
	t.Helper()
	msg, ok := body["error"].(string)
	if !ok {
		t.Fatalf("no error in %v", body)
	}
	return msg
}

// mustContain fails unless s contains every part.
func mustContain(t *testing.T, s string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(s, p) {
			t.Errorf("%q does not contain %q", s, p)
		}
	}
}

// fmtJSON is fmt.Sprintf, for building request bodies.
var fmtJSON = fmt.Sprintf
