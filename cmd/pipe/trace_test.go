package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/otlptest"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/observe/tracing"
)

// TestRunTrace runs a traced job of 4 work units through two models and
// checks, at an in-test OTLP receiver, the tree: one run span, a span per
// unit under it, a span per stage under each unit, every model batch as an
// event on its stage's span (their rows adding up to the job's), and the
// run's trace id in metrics.json.
func TestRunTrace(t *testing.T) {
	stagetest.NeedORT(t)
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+rcv.Endpoint())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
	t.Setenv("OTEL_TRACES_SAMPLER", "always_on")
	job := writeJob(t, strings.Replace(serveJobText(t), "name: scores", "name: scores\nresources: {unit_rows: 100}", 1))
	var stdout, stderr bytes.Buffer
	if code := run([]string{"run", job, "--set", "gen.count=400", "--set", "mlp.batch.max_rows=64"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	spans := rcv.WaitFor(t, otlptest.HasSpan(tracing.SpanRun), 10*time.Second)
	root := otlptest.ByName(spans, tracing.SpanRun)
	units, stagesOf, batchRows := 0, map[string]int{}, int64(0)
	unitIDs := map[string]bool{}
	for _, s := range spans {
		if s.TraceID != root.TraceID {
			t.Errorf("span %s in trace %s, the run's is %s", s.Name, s.TraceID, root.TraceID)
		}
		if s.Name == tracing.SpanUnit {
			units++
			unitIDs[s.SpanID] = true
			if s.ParentSpanID != root.SpanID {
				t.Errorf("unit span not under the run span")
			}
		}
	}
	for _, s := range spans {
		if s.Name != tracing.SpanStage {
			continue
		}
		if !unitIDs[s.ParentSpanID] {
			t.Errorf("stage span %v not under a unit span", s.Attributes)
		}
		id := fmt.Sprint(s.Attributes[tracing.AttrStageID])
		stagesOf[id]++
		for _, ev := range s.Events {
			if ev.Name == tracing.EventModelBatch && id == "mlp" {
				batchRows += ev.Attributes[tracing.AttrRows].(int64)
				if ev.Attributes[tracing.AttrBackend] != "cpu" {
					t.Errorf("batch event attributes %v", ev.Attributes)
				}
			}
		}
	}
	if units < 2 {
		t.Fatalf("%d unit spans, want one per work unit (several)", units)
	}
	for _, id := range []string{"gen", "mlp", "head", "write"} {
		if stagesOf[id] != units {
			t.Errorf("stage %s has %d spans, want one per unit (%d)", id, stagesOf[id], units)
		}
	}
	if batchRows != 400 {
		t.Errorf("the mlp stage's batch events hold %d rows, want 400", batchRows)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(job), "out", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		TraceID string `json:"trace_id"`
	}
	if err := json.Unmarshal(data, &rep); err != nil || rep.TraceID != root.TraceID {
		t.Errorf("metrics.json trace_id %q (%v), want %s", rep.TraceID, err, root.TraceID)
	}
}

// TestServeTrace sends a request carrying a W3C traceparent to pipe serve:
// its server span continues the client's trace, with the time it queued
// and, for each of the two model stages, the batch it joined and the
// backend call under it.
func TestServeTrace(t *testing.T) {
	stagetest.NeedORT(t)
	rcv := otlptest.Start(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+rcv.HTTPEndpoint())
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	job := serveJobFile(t)
	cmd, rest, _, stderr := startServe(t, job, "--models=false")
	const traceID, parent = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	body := `{"inputs": [{"name": "id", "datatype": "INT64", "shape": [1], "data": [1]},
	  {"name": "x", "datatype": "FP32", "shape": [1, 32], "data": [` + strings.Repeat("0.5, ", 31) + `0.5]}]}`
	req, err := http.NewRequest(http.MethodPost, "http://"+rest+"/v2/models/scores/infer", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("traceparent", "00-"+traceID+"-"+parent+"-01")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	spans := rcv.WaitFor(t, otlptest.HasSpan(tracing.SpanInfer, tracing.SpanBackendRun), 10*time.Second)
	infer := otlptest.ByName(spans, tracing.SpanInfer)
	if infer.TraceID != traceID || infer.ParentSpanID != parent || infer.Kind != "SPAN_KIND_SERVER" {
		t.Fatalf("request span: trace %s parent %s kind %s, want the client's %s / %s, server", infer.TraceID, infer.ParentSpanID, infer.Kind, traceID, parent)
	}
	children := map[string]int{}
	batches := map[string]string{} // span id -> stage
	for _, s := range spans {
		if s.ParentSpanID == infer.SpanID {
			children[s.Name]++
			if s.Name == tracing.SpanBatch {
				batches[s.SpanID] = fmt.Sprint(s.Attributes[tracing.AttrStageID])
			}
		}
	}
	runs := 0
	for _, s := range spans {
		if _, ok := batches[s.ParentSpanID]; ok && s.Name == tracing.SpanBackendRun {
			runs++
		}
	}
	if children[tracing.SpanQueue] != 1 || children[tracing.SpanBatch] != 2 || runs != 2 {
		t.Fatalf("under the request span: %v and %d backend calls under the batches %v; want a queue span, two batches (mlp, head), a backend call in each", children, runs, batches)
	}
}
