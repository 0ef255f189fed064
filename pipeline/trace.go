package pipeline

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"go.opentelemetry.io/otel/trace/noop"

	"github.com/pipe-ml/pipe/observe/tracing"
	"github.com/pipe-ml/pipe/stages"
)

// A run's trace (when BuildOptions.Tracer records): a span for the run
// (tracing.SpanRun), one per work unit under it (SpanUnit), one per stage
// of each unit's pass under that (SpanStage), and each model batch as an
// event on its stage's span (EventModelBatch), never a span per row.

// tracer returns the run's tracer: a no-op one without BuildOptions.Tracer.
func (p *Pipeline) tracer() trace.Tracer {
	if p.tr == nil {
		return noop.NewTracerProvider().Tracer("")
	}
	return p.tr
}

// startRun starts the run's span and puts its trace id in the report and
// the run's log lines.
func (p *Pipeline) startRun(ctx context.Context, rep *Report) (context.Context, trace.Span) {
	ctx, span := p.tracer().Start(ctx, tracing.SpanRun, trace.WithAttributes(
		attribute.String(tracing.AttrJob, p.job.Name), attribute.String("pipe.job.file", p.job.File)))
	if sc := span.SpanContext(); sc.HasTraceID() {
		rep.TraceID = sc.TraceID().String()
		p.log = p.log.With(tracing.LogTraceID, rep.TraceID)
	}
	return ctx, span
}

// startUnit starts a work unit's span.
func (p *Pipeline) startUnit(ctx context.Context, plan *unitPlan, unit int) (context.Context, trace.Span) {
	return p.tracer().Start(ctx, tracing.SpanUnit, trace.WithAttributes(
		attribute.Int(tracing.AttrUnit, unit), attribute.String("pipe.unit.key", plan.units[unit].Key)))
}

// startStage starts the span of one stage's work on a pass, where the
// pass's model batch events go.
func (p *Pipeline) startStage(ctx context.Context, ps *pass, n *node) (context.Context, trace.Span) {
	ctx, span := p.tracer().Start(ctx, tracing.SpanStage, trace.WithAttributes(
		attribute.String(tracing.AttrStageID, n.def.ID), attribute.String(tracing.AttrStageType, n.def.Type)))
	if ps.spans != nil {
		ps.spans[n.idx].Store(&span)
	}
	return ctx, span
}

// passObserver forwards a pass's model batches to the run's observer and
// records each as an event on the stage's span.
type passObserver struct {
	next  stages.BatchObserver // nil: none
	span  *atomic.Pointer[trace.Span]
	model string
}

// ObserveBatch implements [stages.BatchObserver].
func (o *passObserver) ObserveBatch(stage string, ev stages.BatchEvent) {
	if o.next != nil {
		o.next.ObserveBatch(stage, ev)
	}
	if sp := o.span.Load(); sp != nil {
		tracing.AddModelBatch(*sp, tracing.ModelBatch{Model: o.model, Backend: ev.Backend, Rows: ev.Rows, Latency: ev.Latency})
	}
}

// traceBatches makes env's batch observer also record events on the
// pass's span of n, when the run is traced and n runs models.
func (p *Pipeline) traceBatches(ps *pass, n *node, env *stages.Env) {
	if p.tr == nil || !n.entry.NeedsExecutor {
		return
	}
	if ps.spans == nil {
		ps.spans = make([]atomic.Pointer[trace.Span], len(p.nodes))
	}
	env.Batches = &passObserver{next: env.Batches, span: &ps.spans[n.idx], model: n.def.Setting("model")}
}

// Setting returns the scalar value of a top-level key of the stage's
// `with:` block as written (after ${VAR} and --set), or "".
func (s *StageDef) Setting(key string) string {
	if s.With == nil {
		return ""
	}
	for i := 0; i+1 < len(s.With.Content); i += 2 {
		if s.With.Content[i].Value == key {
			return s.With.Content[i+1].Value
		}
	}
	return ""
}
