package jobmodel

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/observe/tracing"
)

// TestTraceOfRequests: every request's span gets a queue span and, for
// each model stage, the batch its row joined with the backend call inside;
// requests that joined one batch share its id, and as many one-row
// requests carry an id as the batch's size says.
func TestTraceOfRequests(t *testing.T) {
	stagetest.NeedORT(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	defer tp.Shutdown(context.Background())
	tr := tp.Tracer("test")
	ep := openAll(t, chainJob(t, ""), Options{Mem: stagetest.Mem(t), Tracer: tr})["scores"]
	var wg sync.WaitGroup
	for c := range 16 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(c), 1))
			for i := range 5 {
				ctx, span := tr.Start(context.Background(), tracing.SpanInfer)
				if _, err := ep.Infer(ctx, request(rng, c*100+i, 1)); err != nil {
					t.Error(err)
				}
				span.End()
			}
		})
	}
	wg.Wait()
	spans := rec.Ended()
	infers := map[string]bool{}
	byID := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byID[s.SpanContext().SpanID().String()] = s
		if s.Name() == tracing.SpanInfer {
			infers[s.SpanContext().SpanID().String()] = true
		}
	}
	if len(infers) != 80 {
		t.Fatalf("%d request spans, want 80", len(infers))
	}
	members := map[string]map[int64]int{} // stage -> batch id -> requests
	sizes := map[string]map[int64]int64{}
	queues := 0
	for _, s := range spans {
		parent := s.Parent().SpanID().String()
		switch s.Name() {
		case tracing.SpanQueue:
			queues++
			if !infers[parent] {
				t.Errorf("queue span not under a request span")
			}
		case tracing.SpanBatch:
			if !infers[parent] {
				t.Fatalf("batch span not under a request span")
			}
			a := attrs(s.Attributes())
			stage := a[tracing.AttrStageID].AsString()
			if members[stage] == nil {
				members[stage], sizes[stage] = map[int64]int{}, map[int64]int64{}
			}
			id := a[tracing.AttrBatchID].AsInt64()
			members[stage][id]++
			sizes[stage][id] = a[tracing.AttrBatchSize].AsInt64()
			if a[tracing.AttrBackend].AsString() != "cpu" || a[tracing.AttrModel].AsString() == "" {
				t.Errorf("batch attributes %v", a)
			}
		case tracing.SpanBackendRun:
			if p, ok := byID[parent]; !ok || p.Name() != tracing.SpanBatch {
				t.Errorf("backend span not under a batch span")
			}
		}
	}
	if queues != 80 || len(members) != 2 {
		t.Fatalf("%d queue spans (want 80), batches of stages %v (want mlp and head)", queues, members)
	}
	for stage, ids := range members {
		total, joined := 0, 0
		for id, n := range ids {
			total += n
			if int64(n) != sizes[stage][id] {
				t.Errorf("stage %s batch %d: %d requests carry its id, its size is %d", stage, id, n, sizes[stage][id])
			}
			if n > 1 {
				joined++
			}
		}
		if total != 80 {
			t.Errorf("stage %s: %d requests traced to a batch, want 80", stage, total)
		}
		t.Logf("stage %s: 80 requests in %d batches, %d of them joined", stage, len(ids), joined)
	}
}

func attrs(kvs []attribute.KeyValue) map[string]attribute.Value {
	out := map[string]attribute.Value{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value
	}
	return out
}
