package jobmodel

import (
	"context"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/pipe-ml/pipe/observe/tracing"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// batchLog records, for each model stage of an endpoint's graph, which rows
// of the request stream each of its batches held: a model stage reports
// its batches in row order (it emits them in input order), so batch k of a
// stage holds the rows after those of batches 0..k-1. A request knows its
// rows' place in the stream (call.first), and so the batches it joined.
// Only the last batchLogLen batches of each stage are kept.
type batchLog struct {
	mu     sync.Mutex
	stages map[string]*stageLog
	seq    int64 // batch ids, shared by the spans of the requests in a batch
}

type stageLog struct {
	next int64 // the first row of the next batch
	recs []batchRec
}

type batchRec struct {
	id       int64
	from, to int64 // rows [from, to) of the pass's request stream
	ev       stages.BatchEvent
	end      time.Time
}

const batchLogLen = 4096

// ObserveBatch implements [stages.BatchObserver].
func (l *batchLog) ObserveBatch(stage string, ev stages.BatchEvent) {
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stages == nil {
		l.stages = map[string]*stageLog{}
	}
	s := l.stages[stage]
	if s == nil {
		s = &stageLog{}
		l.stages[stage] = s
	}
	l.seq++
	s.recs = append(s.recs, batchRec{id: l.seq, from: s.next, to: s.next + int64(ev.Rows), ev: ev, end: now})
	s.next += int64(ev.Rows)
	if len(s.recs) > 2*batchLogLen {
		s.recs = append(s.recs[:0], s.recs[len(s.recs)-batchLogLen:]...)
	}
}

// reset forgets every batch: a new pass numbers its rows from 0.
func (l *batchLog) reset() {
	l.mu.Lock()
	l.stages = nil
	l.mu.Unlock()
}

// covering returns, per stage, the batches holding any of rows [from, to).
func (l *batchLog) covering(from, to int64) map[string][]batchRec {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]batchRec{}
	for id, s := range l.stages {
		i := sort.Search(len(s.recs), func(i int) bool { return s.recs[i].to > from })
		for ; i < len(s.recs) && s.recs[i].from < to; i++ {
			out[id] = append(out[id], s.recs[i])
		}
	}
	return out
}

// traceCall records, under the request's span in ctx, the time the call
// waited to enter the graph and each model batch its rows joined, with the
// backend call inside it. It does nothing when the span is not recorded.
func (e *Endpoint) traceCall(ctx context.Context, c *call) {
	if e.opts.Tracer == nil || !trace.SpanFromContext(ctx).IsRecording() {
		return
	}
	tr := e.opts.Tracer
	_, q := tr.Start(ctx, tracing.SpanQueue, trace.WithTimestamp(c.enqueued))
	q.End(trace.WithTimestamp(c.started))
	for stage, recs := range e.batches.covering(c.first, c.first+c.rows) {
		for _, r := range recs {
			ran := r.end.Add(-r.ev.Latency)
			bctx, b := tr.Start(ctx, tracing.SpanBatch, trace.WithTimestamp(ran.Add(-r.ev.Waited)), trace.WithAttributes(
				attribute.String(tracing.AttrStageID, stage),
				attribute.String(tracing.AttrModel, e.models[stage]),
				attribute.String(tracing.AttrBackend, r.ev.Backend),
				attribute.Int(tracing.AttrBatchSize, r.ev.Rows),
				attribute.Int64(tracing.AttrBatchID, r.id),
				attribute.String(tracing.AttrFlushReason, r.ev.Reason.String()),
			))
			_, run := tr.Start(bctx, tracing.SpanBackendRun, trace.WithTimestamp(ran),
				trace.WithAttributes(attribute.String(tracing.AttrBackend, r.ev.Backend), attribute.Float64(tracing.AttrLatency, r.ev.Latency.Seconds())))
			run.End(trace.WithTimestamp(r.end))
			b.End(trace.WithTimestamp(r.end))
		}
	}
}

// modelNames returns the model file of each model stage of a job, by
// stage id.
func modelNames(job *pipeline.Job) map[string]string {
	out := map[string]string{}
	for _, s := range job.Stages {
		if m := s.Setting("model"); s.Type == "model" && m != "" {
			out[s.ID] = filepath.Base(m)
		}
	}
	return out
}
