package otlptest

import (
	"compress/gzip"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// TracesPath is the OTLP/HTTP path for traces.
const TracesPath = "/v1/traces"

// Receiver is an in-process OTLP trace collector; see [Start].
type Receiver struct {
	grpcAddr string
	httpSrv  *httptest.Server

	mu       sync.Mutex
	spans    []Span
	requests int
}

// Start starts a receiver on 127.0.0.1 (gRPC and HTTP, each on a free
// port) and stops it when the test ends.
func Start(t testing.TB) *Receiver {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("otlptest: listen: %v", err)
	}
	r := &Receiver{grpcAddr: lis.Addr().String()}
	srv := grpc.NewServer()
	coltracepb.RegisterTraceServiceServer(srv, traceService{r: r})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	r.httpSrv = httptest.NewServer(http.HandlerFunc(r.serveHTTP))
	t.Cleanup(func() {
		r.httpSrv.Close()
		srv.Stop()
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("otlptest: grpc serve: %v", err)
		}
	})
	return r
}

// Endpoint returns the gRPC address, host:port. Use it as
// OTEL_EXPORTER_OTLP_ENDPOINT=http://<Endpoint> with protocol grpc.
func (r *Receiver) Endpoint() string { return r.grpcAddr }

// HTTPEndpoint returns the HTTP address, host:port. Use it as
// OTEL_EXPORTER_OTLP_ENDPOINT=http://<HTTPEndpoint> with protocol
// http/protobuf; traces are accepted on [TracesPath].
func (r *Receiver) HTTPEndpoint() string { return strings.TrimPrefix(r.httpSrv.URL, "http://") }

// Spans returns a copy of the spans received so far, in arrival order.
func (r *Receiver) Spans() []Span {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Span(nil), r.spans...)
}

// Requests returns how many export requests arrived, including empty ones.
func (r *Receiver) Requests() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests
}

// WaitFor polls until cond holds for the received spans and returns them;
// after timeout it fails the test, listing the span names received.
func (r *Receiver) WaitFor(t testing.TB, cond func([]Span) bool, timeout time.Duration) []Span {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		spans := r.Spans()
		if cond(spans) {
			return spans
		}
		if time.Now().After(deadline) {
			names := make([]string, len(spans))
			for i, s := range spans {
				names[i] = s.Name
			}
			t.Fatalf("otlptest: condition not met after %v; %d spans received: %v", timeout, len(spans), names)
			return spans
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// add stores the spans of one export request.
func (r *Receiver) add(req *coltracepb.ExportTraceServiceRequest, protocol string) {
	spans := flatten(req.GetResourceSpans(), protocol)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests++
	r.spans = append(r.spans, spans...)
}

// traceService is the OTLP gRPC TraceService.
type traceService struct {
	coltracepb.UnimplementedTraceServiceServer
	r *Receiver
}

// Export stores the request's spans.
func (s traceService) Export(_ context.Context, req *coltracepb.ExportTraceServiceRequest) (*coltracepb.ExportTraceServiceResponse, error) {
	s.r.add(req, "grpc")
	return &coltracepb.ExportTraceServiceResponse{}, nil
}

// serveHTTP is the OTLP/HTTP endpoint: protobuf bodies, optionally gzip.
func (r *Receiver) serveHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case req.URL.Path != TracesPath:
		http.NotFound(w, req)
		return
	case req.Method != http.MethodPost:
		http.Error(w, "otlptest: POST only", http.StatusMethodNotAllowed)
		return
	case req.Header.Get("Content-Type") != "application/x-protobuf":
		http.Error(w, "otlptest: only application/x-protobuf", http.StatusUnsupportedMediaType)
		return
	}
	body, err := readBody(req)
	if err != nil {
		http.Error(w, "otlptest: "+err.Error(), http.StatusBadRequest)
		return
	}
	var msg coltracepb.ExportTraceServiceRequest
	if err := proto.Unmarshal(body, &msg); err != nil {
		http.Error(w, "otlptest: "+err.Error(), http.StatusBadRequest)
		return
	}
	r.add(&msg, "http")
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

// readBody reads a request body, decompressing gzip.
func readBody(req *http.Request) ([]byte, error) {
	var rd io.Reader = req.Body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(req.Body)
		if err != nil {
			return nil, err
		}
		defer zr.Close()
		rd = zr
	}
	return io.ReadAll(rd)
}
