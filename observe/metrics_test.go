package observe

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"

	_ "github.com/pipe-ml/pipe/bridge/ort"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
	_ "github.com/pipe-ml/pipe/stages/all"
)

// modelJob is 1000 generated rows in batches of 100 through mlp.onnx with
// batches of 256 and a deadline that never fires: 3 full batches and one
// end-of-input batch of 232 rows.
const modelJob = `version: 1
name: observed
stages:
  - id: gen
    type: generate
    with:
      count: 1000
      batch_rows: 100
      seed: 1
      columns:
        - {name: id, type: int64}
        - {name: x, type: vector, dims: 32, distribution: normal}
  - id: mlp
    type: model
    inputs: [gen]
    with:
      model: MODEL
      backends: [cpu]
      inputs: {x: x}
      outputs: {probs: probs}
      keep: [id]
      batch: {max_rows: 256, max_delay: 1m}
  - id: write
    type: parquet_sink
    inputs: [mlp]
    with: {path: out}
`

// runObserved builds and runs modelJob under a Watch and returns the watch
// (stopped) and the output folder.
func runObserved(t *testing.T) (*Watch, string) {
	t.Helper()
	stagetest.NeedORT(t)
	dir := t.TempDir()
	model, err := filepath.Abs("../testdata/models/mlp.onnx")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(modelJob, "MODEL", model, 1)
	job, err := pipeline.Load([]byte(text), "job.yaml", dir, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWatch(WatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	opts := pipeline.BuildOptions{Mem: stagetest.Mem(t)}
	w.Options(&opts)
	p, err := pipeline.Build(job, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(p); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	w.Stop()
	return w, filepath.Join(dir, "out")
}

func TestMetricsAfterKnownRun(t *testing.T) {
	w, out := runObserved(t)
	reg := w.Registry()

	const stageWant = `
# HELP pipe_stage_batches_in_total Record batches received by a stage.
# TYPE pipe_stage_batches_in_total counter
pipe_stage_batches_in_total{stage="gen",type="generate"} 0
pipe_stage_batches_in_total{stage="mlp",type="model"} 10
pipe_stage_batches_in_total{stage="write",type="parquet_sink"} 4
# HELP pipe_stage_batches_out_total Record batches emitted by a stage (written, for sinks).
# TYPE pipe_stage_batches_out_total counter
pipe_stage_batches_out_total{stage="gen",type="generate"} 10
pipe_stage_batches_out_total{stage="mlp",type="model"} 4
pipe_stage_batches_out_total{stage="write",type="parquet_sink"} 4
# HELP pipe_stage_done 1 once a stage has finished, else 0.
# TYPE pipe_stage_done gauge
pipe_stage_done{stage="gen",type="generate"} 1
pipe_stage_done{stage="mlp",type="model"} 1
pipe_stage_done{stage="write",type="parquet_sink"} 1
# HELP pipe_stage_errors_total Errors that ended a stage.
# TYPE pipe_stage_errors_total counter
pipe_stage_errors_total{stage="gen",type="generate"} 0
pipe_stage_errors_total{stage="mlp",type="model"} 0
pipe_stage_errors_total{stage="write",type="parquet_sink"} 0
# HELP pipe_stage_expected_rows Rows a source will produce, known from metadata; absent when unknown.
# TYPE pipe_stage_expected_rows gauge
pipe_stage_expected_rows{stage="gen",type="generate"} 1000
# HELP pipe_stage_rows_in_total Rows received by a stage.
# TYPE pipe_stage_rows_in_total counter
pipe_stage_rows_in_total{stage="gen",type="generate"} 0
pipe_stage_rows_in_total{stage="mlp",type="model"} 1000
pipe_stage_rows_in_total{stage="write",type="parquet_sink"} 1000
# HELP pipe_stage_rows_out_total Rows emitted by a stage (written, for sinks).
# TYPE pipe_stage_rows_out_total counter
pipe_stage_rows_out_total{stage="gen",type="generate"} 1000
pipe_stage_rows_out_total{stage="mlp",type="model"} 1000
pipe_stage_rows_out_total{stage="write",type="parquet_sink"} 1000
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(stageWant),
		"pipe_stage_rows_in_total", "pipe_stage_rows_out_total", "pipe_stage_batches_in_total",
		"pipe_stage_batches_out_total", "pipe_stage_errors_total", "pipe_stage_expected_rows", "pipe_stage_done"); err != nil {
		t.Error(err)
	}

	const flushWant = `
# HELP pipe_model_batch_flushes_total Model batches by why they left the batcher: full, preferred, deadline, end_of_input.
# TYPE pipe_model_batch_flushes_total counter
pipe_model_batch_flushes_total{reason="end_of_input",stage="mlp"} 1
pipe_model_batch_flushes_total{reason="full",stage="mlp"} 3
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(flushWant), "pipe_model_batch_flushes_total"); err != nil {
		t.Error(err)
	}

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				byName[mf.GetName()+"_count"] += float64(h.GetSampleCount())
				byName[mf.GetName()+"_sum"] += h.GetSampleSum()
			}
			if c := m.GetCounter(); c != nil {
				byName[mf.GetName()] += c.GetValue()
			}
		}
	}
	for name, want := range map[string]float64{
		"pipe_model_batch_rows_count":             4,
		"pipe_model_batch_rows_sum":               1000,
		"pipe_model_batch_duration_seconds_count": 4,
		"pipe_model_batch_wait_seconds_count":     4,
		"pipe_backend_runs_total":                 4,
		"pipe_backend_run_duration_seconds_count": 4,
		"pipe_stage_compute_seconds_total":        -1, // present, positive
		"pipe_stage_queue_wait_seconds_total":     -2, // present
		"pipe_backend_admission_rejections_total": -3, // may be absent: no label set yet
	} {
		got, ok := byName[name]
		switch {
		case want == -1:
			if !ok || got <= 0 {
				t.Errorf("%s = %v (present %v), want > 0", name, got, ok)
			}
		case want == -2:
			if !ok {
				t.Errorf("%s missing", name)
			}
		case want == -3:
		case got != want:
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}

	// metrics.json beside the output.
	data, err := os.ReadFile(filepath.Join(out, "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep pipeline.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Fingerprint) != 64 {
		t.Errorf("fingerprint %q, want 64 hex digits", rep.Fingerprint)
	}
	var lat *pipeline.LatencyReport
	for _, s := range rep.Stages {
		if s.ID == "mlp" {
			lat = s.Latency
		}
	}
	if lat == nil || lat.Count != 4 || !(lat.P50 > 0 && lat.P50 <= lat.P95 && lat.P95 <= lat.P99) {
		t.Errorf("mlp batch latency %+v, want 4 batches and 0 < p50 <= p95 <= p99", lat)
	}
	if len(rep.Backends) != 1 || rep.Backends[0].Backend != "cpu" || rep.Backends[0].Latency == nil ||
		rep.Backends[0].Latency.Count != 4 || len(rep.Backends[0].Models) != 1 || rep.Backends[0].Models[0].Runs < 4 {
		t.Errorf("backends %+v, want cpu with 4 batches and one model", rep.Backends)
	}
}

func TestMetricNamesPassPromlint(t *testing.T) {
	w, _ := runObserved(t)
	mfs, err := w.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	if len(mfs) < 20 {
		t.Errorf("%d metric families gathered, want at least 20", len(mfs))
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("promlint: %s: %s", p.Metric, p.Text)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "pipe_") {
			t.Errorf("metric %s lacks the pipe_ prefix", mf.GetName())
		}
	}
}

func TestRegisterTwiceFails(t *testing.T) {
	reg := prometheus.NewRegistry()
	if err := Register(reg, NewBatchCollector(nil)); err != nil {
		t.Fatal(err)
	}
	if err := Register(reg, NewBatchCollector(nil)); err == nil {
		t.Error("second batch collector on one registry: no error")
	}
}
