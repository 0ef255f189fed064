package tracing

import (
	"context"
	"net/http"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

// propagator is W3C Trace Context plus W3C Baggage, the OpenTelemetry
// default (OTEL_PROPAGATORS=tracecontext,baggage).
var propagator = propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{})

// Propagator returns the propagator pipe uses on the wire: W3C
// traceparent/tracestate and baggage.
func Propagator() propagation.TextMapPropagator { return propagator }

// ExtractHTTP returns ctx carrying the remote span context from h's
// traceparent (and baggage), so a span started from it continues the
// client's trace. Without a valid traceparent it returns ctx unchanged.
func ExtractHTTP(ctx context.Context, h http.Header) context.Context {
	return propagator.Extract(ctx, propagation.HeaderCarrier(h))
}

// InjectHTTP writes ctx's span context into h as traceparent (and
// baggage), for outgoing requests.
func InjectHTTP(ctx context.Context, h http.Header) {
	propagator.Inject(ctx, propagation.HeaderCarrier(h))
}

// ExtractGRPC is [ExtractHTTP] for a gRPC server handler: it reads
// traceparent from ctx's incoming metadata.
func ExtractGRPC(ctx context.Context) context.Context {
	md, ok := metadata.FromIncomingContext(ctx)
	if !ok {
		return ctx
	}
	return propagator.Extract(ctx, metadataCarrier(md))
}

// InjectGRPC returns ctx with its span context added to the outgoing gRPC
// metadata, for clients.
func InjectGRPC(ctx context.Context) context.Context {
	md, _ := metadata.FromOutgoingContext(ctx)
	md = md.Copy()
	propagator.Inject(ctx, metadataCarrier(md))
	return metadata.NewOutgoingContext(ctx, md)
}

// metadataCarrier adapts gRPC metadata (lower-case keys) to
// [propagation.TextMapCarrier].
type metadataCarrier metadata.MD

// Get returns the first value for key.
func (c metadataCarrier) Get(key string) string {
	if v := metadata.MD(c).Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Set replaces the values for key.
func (c metadataCarrier) Set(key, value string) { metadata.MD(c).Set(key, value) }

// Keys lists the keys present.
func (c metadataCarrier) Keys() []string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	return keys
}

// TraceID returns the hex trace id of the span in ctx, or "" when ctx
// carries no valid span context (as when tracing is disabled). The run
// report and logs use it to point at the trace.
func TraceID(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.HasTraceID() {
		return ""
	}
	return sc.TraceID().String()
}
