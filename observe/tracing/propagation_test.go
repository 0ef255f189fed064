package tracing

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/otlptest"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

const (
	remoteTrace  = "4bf92f3577b34da6a3ce929d0e0e4736"
	remoteSpan   = "00f067aa0ba902b7"
	traceparent1 = "00-" + remoteTrace + "-" + remoteSpan + "-01"
)

func TestExtractContinuesClientTrace(t *testing.T) {
	tests := []struct {
		name      string
		extract   func(context.Context) context.Context
		sampler   string // OTEL_TRACES_SAMPLER
		wantTrace bool   // continues remoteTrace
	}{
		{"http traceparent", httpCtx(traceparent1), "", true},
		{"grpc traceparent", grpcCtx(traceparent1), "", true},
		// A sampled parent is honoured by the parent-based sampler even at ratio 0.
		{"http parentbased ratio 0", httpCtx(traceparent1), "parentbased_traceidratio", true},
		{"http no header", httpCtx(""), "", false},
		{"http bad header", httpCtx("00-zz-yy-01"), "", false},
		{"grpc no metadata", func(ctx context.Context) context.Context { return ExtractGRPC(ctx) }, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			clearEnv(t)
			r := otlptest.Start(t)
			t.Setenv(envEndpoint, "http://"+r.Endpoint())
			t.Setenv(envProtocol, ProtocolGRPC)
			t.Setenv(envTracesSampler, tc.sampler)
			if tc.sampler != "" {
				t.Setenv(envTracesSamplerArg, "0")
			}
			tr := setup(t)
			ctx := tc.extract(context.Background())
			ctx, span := tr.Tracer().Start(ctx, SpanInfer, trace.WithSpanKind(trace.SpanKindServer))
			_, q := tr.Tracer().Start(ctx, SpanQueue)
			q.End()
			span.End()
			shutdown(t, tr)
			spans := r.WaitFor(t, otlptest.HasSpan(SpanInfer, SpanQueue), 5*time.Second)
			infer := otlptest.ByName(spans, SpanInfer)
			continued := infer.TraceID == remoteTrace && infer.ParentSpanID == remoteSpan
			if continued != tc.wantTrace {
				t.Errorf("infer span trace %s parent %q; continued = %v, want %v", infer.TraceID, infer.ParentSpanID, continued, tc.wantTrace)
			}
			if !tc.wantTrace && infer.ParentSpanID != "" {
				t.Errorf("infer span has parent %q without a traceparent", infer.ParentSpanID)
			}
			if infer.Kind != "SPAN_KIND_SERVER" {
				t.Errorf("infer kind %s", infer.Kind)
			}
			if q := otlptest.ByName(spans, SpanQueue); q.ParentSpanID != infer.SpanID || q.TraceID != infer.TraceID {
				t.Errorf("queue span parent %s trace %s; want %s in %s", q.ParentSpanID, q.TraceID, infer.SpanID, infer.TraceID)
			}
		})
	}
}

// httpCtx extracts from a header holding traceparent tp (none if "").
func httpCtx(tp string) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		h := http.Header{}
		if tp != "" {
			h.Set("Traceparent", tp)
		}
		return ExtractHTTP(ctx, h)
	}
}

// grpcCtx extracts from incoming metadata holding traceparent tp.
func grpcCtx(tp string) func(context.Context) context.Context {
	return func(ctx context.Context) context.Context {
		return ExtractGRPC(metadata.NewIncomingContext(ctx, metadata.Pairs("traceparent", tp)))
	}
}

func TestInjectRoundTrip(t *testing.T) {
	sc := remoteSpanContext(t)
	ctx := trace.ContextWithSpanContext(context.Background(), sc)

	h := http.Header{}
	InjectHTTP(ctx, h)
	if got := h.Get("Traceparent"); got != traceparent1 {
		t.Errorf("InjectHTTP traceparent = %q, want %q", got, traceparent1)
	}
	if got := trace.SpanContextFromContext(ExtractHTTP(context.Background(), h)); !got.Equal(sc.WithRemote(true)) {
		t.Errorf("http round trip = %v, want %v", got, sc)
	}

	out := InjectGRPC(metadata.AppendToOutgoingContext(ctx, "x-keep", "1"))
	md, _ := metadata.FromOutgoingContext(out)
	if got := md.Get("traceparent"); len(got) != 1 || got[0] != traceparent1 || md.Get("x-keep")[0] != "1" {
		t.Errorf("InjectGRPC metadata = %v", md)
	}
	in := ExtractGRPC(metadata.NewIncomingContext(context.Background(), md))
	if got := TraceID(in); got != remoteTrace {
		t.Errorf("grpc round trip trace id = %q, want %s", got, remoteTrace)
	}
}

// remoteSpanContext is the sampled span context of traceparent1.
func remoteSpanContext(t *testing.T) trace.SpanContext {
	t.Helper()
	tid, err := trace.TraceIDFromHex(remoteTrace)
	if err != nil {
		t.Fatal(err)
	}
	sid, err := trace.SpanIDFromHex(remoteSpan)
	if err != nil {
		t.Fatal(err)
	}
	return trace.NewSpanContext(trace.SpanContextConfig{TraceID: tid, SpanID: sid, TraceFlags: trace.FlagsSampled})
}
