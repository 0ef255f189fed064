package tracing

import (
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// ModelBatch describes one batch a model stage sent to a backend.
type ModelBatch struct {
	Model   string
	Backend string
	Rows    int
	Latency time.Duration
}

// AddModelBatch records b as an [EventModelBatch] event on span (a
// [SpanStage] span), with [AttrModel], [AttrBackend], [AttrRows] and
// [AttrLatency]. On a non-recording span it costs almost nothing.
func AddModelBatch(span trace.Span, b ModelBatch) {
	if !span.IsRecording() {
		return
	}
	span.AddEvent(EventModelBatch, trace.WithAttributes(
		attribute.String(AttrModel, b.Model),
		attribute.String(AttrBackend, b.Backend),
		attribute.Int(AttrRows, b.Rows),
		attribute.Float64(AttrLatency, b.Latency.Seconds()),
	))
}

// End ends span, first marking it failed with err when err is not nil.
// Use it as `defer func() { tracing.End(span, err) }()` with a named
// error result.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
