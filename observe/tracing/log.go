package tracing

import (
	"context"
	"log/slog"

	"go.opentelemetry.io/otel/trace"
)

// LogAttrs returns trace_id and span_id attributes for the span in ctx, or
// nil when ctx carries no valid span context. With tracing disabled the
// no-op tracer's spans carry no ids, so logs stay as they were.
func LogAttrs(ctx context.Context) []slog.Attr {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return nil
	}
	return []slog.Attr{
		slog.String(LogTraceID, sc.TraceID().String()),
		slog.String(LogSpanID, sc.SpanID().String()),
	}
}

// NewLogHandler wraps h so that every record logged with a context that
// carries a span gets [LogTraceID] and [LogSpanID] attributes. Loggers
// must use the *Context methods (InfoContext, ...) for this to work.
// Under [slog.Logger.WithGroup] the ids land inside the group, like any
// other record attribute.
func NewLogHandler(h slog.Handler) slog.Handler { return logHandler{next: h} }

// logHandler is the [slog.Handler] from [NewLogHandler].
type logHandler struct{ next slog.Handler }

// Enabled defers to the wrapped handler.
func (h logHandler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle adds the trace attributes, then defers to the wrapped handler.
func (h logHandler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := LogAttrs(ctx); attrs != nil {
		r = r.Clone()
		r.AddAttrs(attrs...)
	}
	return h.next.Handle(ctx, r)
}

// WithAttrs keeps the wrapper around the derived handler.
func (h logHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return logHandler{next: h.next.WithAttrs(attrs)}
}

// WithGroup keeps the wrapper around the derived handler.
func (h logHandler) WithGroup(name string) slog.Handler {
	return logHandler{next: h.next.WithGroup(name)}
}
