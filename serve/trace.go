package serve

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/pipe-ml/pipe/observe/tracing"
)

// startSpan starts the server span of one inference request under the
// client's trace (in ctx, when it sent one).
func (s *Server) startSpan(ctx context.Context, model, protocol string) (context.Context, trace.Span) {
	return s.opts.Tracer.Start(ctx, tracing.SpanInfer, trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.String(tracing.AttrModel, model), attribute.String("rpc.system", protocol)))
}
