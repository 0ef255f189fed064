package otlptest

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"testing"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	resourcepb "go.opentelemetry.io/proto/otlp/resource/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
)

// request is one export with a root span and a child with an event.
func request() *coltracepb.ExportTraceServiceRequest {
	str := func(s string) *commonpb.AnyValue {
		return &commonpb.AnyValue{Value: &commonpb.AnyValue_StringValue{StringValue: s}}
	}
	kv := func(k string, v *commonpb.AnyValue) *commonpb.KeyValue { return &commonpb.KeyValue{Key: k, Value: v} }
	tid := bytes.Repeat([]byte{0xab}, 16)
	return &coltracepb.ExportTraceServiceRequest{ResourceSpans: []*tracepb.ResourceSpans{{
		Resource: &resourcepb.Resource{Attributes: []*commonpb.KeyValue{kv("service.name", str("svc"))}},
		ScopeSpans: []*tracepb.ScopeSpans{{
			Scope: &commonpb.InstrumentationScope{Name: "scope"},
			Spans: []*tracepb.Span{
				{Name: "root", TraceId: tid, SpanId: []byte{1, 0, 0, 0, 0, 0, 0, 1}, StartTimeUnixNano: 1e9, EndTimeUnixNano: 2e9,
					Kind: tracepb.Span_SPAN_KIND_SERVER},
				{Name: "child", TraceId: tid, SpanId: []byte{2, 0, 0, 0, 0, 0, 0, 2}, ParentSpanId: []byte{1, 0, 0, 0, 0, 0, 0, 1},
					Attributes: []*commonpb.KeyValue{
						kv("s", str("x")),
						kv("i", &commonpb.AnyValue{Value: &commonpb.AnyValue_IntValue{IntValue: 7}}),
						kv("f", &commonpb.AnyValue{Value: &commonpb.AnyValue_DoubleValue{DoubleValue: 0.5}}),
						kv("b", &commonpb.AnyValue{Value: &commonpb.AnyValue_BoolValue{BoolValue: true}}),
						kv("a", &commonpb.AnyValue{Value: &commonpb.AnyValue_ArrayValue{ArrayValue: &commonpb.ArrayValue{
							Values: []*commonpb.AnyValue{str("p"), str("q")}}}}),
					},
					Events: []*tracepb.Span_Event{{Name: "ev", TimeUnixNano: 15e8, Attributes: []*commonpb.KeyValue{kv("rows", str("3"))}}},
					Status: &tracepb.Status{Code: tracepb.Status_STATUS_CODE_ERROR, Message: "bad"}},
			},
		}},
	}}}
}

// wantSpans is request() flattened, received via protocol.
func wantSpans(protocol string) []Span {
	tid := "abababababababababababababababab"
	res := map[string]any{"service.name": "svc"}
	return []Span{
		{Name: "root", Kind: "SPAN_KIND_SERVER", TraceID: tid, SpanID: "0100000000000001", Start: time.Unix(1, 0), End: time.Unix(2, 0),
			Attributes: map[string]any{}, StatusCode: "STATUS_CODE_UNSET", Resource: res, Scope: "scope", Protocol: protocol},
		{Name: "child", Kind: "SPAN_KIND_UNSPECIFIED", TraceID: tid, SpanID: "0200000000000002", ParentSpanID: "0100000000000001",
			Attributes: map[string]any{"s": "x", "i": int64(7), "f": 0.5, "b": true, "a": []any{"p", "q"}},
			Events:     []Event{{Name: "ev", Time: time.Unix(1, 5e8), Attributes: map[string]any{"rows": "3"}}},
			StatusCode: "STATUS_CODE_ERROR", StatusMsg: "bad", Resource: res, Scope: "scope", Protocol: protocol},
	}
}

func TestReceiverGRPC(t *testing.T) {
	r := Start(t)
	conn, err := grpc.NewClient(r.Endpoint(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := coltracepb.NewTraceServiceClient(conn).Export(context.Background(), request()); err != nil {
		t.Fatalf("Export: %v", err)
	}
	got := r.WaitFor(t, HasSpan("root", "child"), 5*time.Second)
	if !reflect.DeepEqual(got, wantSpans("grpc")) {
		t.Errorf("spans\n got %+v\nwant %+v", got, wantSpans("grpc"))
	}
	if r.Requests() != 1 {
		t.Errorf("Requests() = %d, want 1", r.Requests())
	}
}

func TestReceiverHTTP(t *testing.T) {
	body, err := proto.Marshal(request())
	if err != nil {
		t.Fatal(err)
	}
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(body)
	_ = zw.Close()
	tests := []struct {
		name, path, ctype, encoding string
		body                        []byte
		wantStatus, wantSpans       int
	}{
		{"protobuf", TracesPath, "application/x-protobuf", "", body, http.StatusOK, 2},
		{"gzip", TracesPath, "application/x-protobuf", "gzip", zipped.Bytes(), http.StatusOK, 2},
		{"json", TracesPath, "application/json", "", []byte("{}"), http.StatusUnsupportedMediaType, 0},
		{"garbage", TracesPath, "application/x-protobuf", "", []byte{0xff, 0xff}, http.StatusBadRequest, 0},
		{"bad gzip", TracesPath, "application/x-protobuf", "gzip", body, http.StatusBadRequest, 0},
		{"wrong path", "/v1/metrics", "application/x-protobuf", "", body, http.StatusNotFound, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := Start(t)
			req, err := http.NewRequest(http.MethodPost, "http://"+r.HTTPEndpoint()+tc.path, bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tc.ctype)
			if tc.encoding != "" {
				req.Header.Set("Content-Encoding", tc.encoding)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || len(r.Spans()) != tc.wantSpans {
				t.Fatalf("status %d, %d spans; want %d, %d", resp.StatusCode, len(r.Spans()), tc.wantStatus, tc.wantSpans)
			}
			if tc.wantSpans > 0 && !reflect.DeepEqual(r.Spans(), wantSpans("http")) {
				t.Errorf("spans\n got %+v\nwant %+v", r.Spans(), wantSpans("http"))
			}
		})
	}
	http.DefaultClient.CloseIdleConnections()
}

// fatalTB records Fatalf instead of stopping the test.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}

func (f *fatalTB) Fatalf(format string, args ...any) { f.msg = fmt.Sprintf(format, args...) }

func TestWaitForTimesOut(t *testing.T) {
	r := Start(t)
	ftb := &fatalTB{TB: t}
	start := time.Now()
	r.WaitFor(ftb, HasSpan("never"), 50*time.Millisecond)
	if ftb.msg == "" {
		t.Fatal("WaitFor returned without failing the test")
	}
	if time.Since(start) < 50*time.Millisecond {
		t.Errorf("WaitFor gave up after %v, before its timeout", time.Since(start))
	}
}
