package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/internal/sweep"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/model"
)

// benchJob writes a small job: generated vectors -> filter -> mlp -> sink.
func benchJob(t *testing.T) string {
	t.Helper()
	mlp, err := filepath.Abs(filepath.Join("..", "..", "testdata", "models", "mlp.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return writeJob(t, `version: 1
name: bench-me
stages:
  - id: gen
    type: generate
    with:
      count: 3000
      batch_rows: 500
      columns:
        - {name: id, type: int64}
        - {name: x, type: vector, dims: 32, distribution: normal}
  - id: keep
    type: filter
    inputs: [gen]
    with: {where: "id >= 1000"}
  - id: mlp
    type: model
    inputs: [keep]
    with:
      model: `+mlp+`
      backends: [cpu]   # the comment stays
      inputs: {x: x}
      outputs: {probs: probs}
      batch: {max_rows: 512, max_delay: 2ms}
  - id: write
    type: parquet_sink
    inputs: [mlp]
    with: {path: out}
`)
}

func TestBenchBadInput(t *testing.T) {
	job := benchJob(t)
	noDir := filepath.Join(t.TempDir(), "missing", "r.html")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no stage", []string{"bench", job}, "--stage: give the id"},
		{"not a model stage", []string{"bench", job, "--stage", "keep"}, `stage "keep" is a filter stage, not a model stage (model stages: mlp)`},
		{"unknown stage", []string{"bench", job, "--stage", "nope"}, `"nope" is not a stage`},
		{"empty batch sweep", []string{"bench", job, "--stage", "mlp", "--batch", ""}, "--batch: empty sweep"},
		{"empty backends sweep", []string{"bench", job, "--stage", "mlp", "--backends", ","}, "--backends: empty item"},
		{"bad batch", []string{"bench", job, "--stage", "mlp", "--batch", "64,zero"}, `"zero" is not an integer`},
		{"unwritable html", []string{"bench", job, "--stage", "mlp", "--html", noDir}, "--html: cannot write"},
		{"json is a folder", []string{"bench", job, "--stage", "mlp", "--json", t.TempDir()}, "is a folder"},
		{"no repeats", []string{"bench", job, "--stage", "mlp", "--repeat", "0"}, "--repeat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := pipe(tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 and %q", code, stderr, tt.want)
			}
			if strings.Contains(stderr, "reading the input") || stdout != "" {
				t.Errorf("work started: stdout %q stderr %q", stdout, stderr)
			}
		})
	}
}

func TestBenchSweep(t *testing.T) {
	stagetest.NeedORT(t)
	job := benchJob(t)
	dir := t.TempDir()
	jsonPath, htmlPath, bestPath := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.html"), filepath.Join(dir, "best.yaml")
	code, stdout, stderr := pipe("bench", job, "--stage", "mlp", "--rows", "1500", "--batch", "64,256",
		"--backends", "cpu,auto", "--warmup", "1", "--repeat", "2",
		"--json", jsonPath, "--html", htmlPath, "--write-best", bestPath)
	if code != exitOK {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if n := strings.Count(stdout, "\n"); n != 6 || strings.Count(stdout, "*") != 2 { // header, 4 rows, footer; one mark + footer's
		t.Errorf("table:\n%s", stdout)
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep sweep.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Rows != 1500 || len(rep.Results) != 4 || rep.Repeats != 2 {
		t.Fatalf("report: rows %d, %d results, %d repeats", rep.Rows, len(rep.Results), rep.Repeats)
	}
	best, ok := rep.Best()
	if !ok {
		t.Fatal("no best")
	}
	for _, r := range rep.Results {
		// 1500 rows per run in batches of at most r.Batch, twice.
		if r.Error != "" || r.RowsPerSecond <= 0 || r.Min > r.RowsPerSecond || r.Max < r.RowsPerSecond ||
			r.Batches < 2*(1500/r.Batch) || r.P50 <= 0 || r.P99 < r.P50 {
			t.Errorf("result %+v", r)
		}
	}
	html, err := os.ReadFile(htmlPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"cpu", "auto"} {
		if n := strings.Count(string(html), `class="chart throughput" data-backend="`+b+`"`); n != 1 {
			t.Errorf("%d throughput charts for %s", n, b)
		}
	}

	// The best job loads and carries the best settings; comments stay.
	text, err := os.ReadFile(bestPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "# the comment stays") {
		t.Errorf("best job lost its comment:\n%s", text)
	}
	bj, err := pipeline.Load(text, bestPath, filepath.Dir(job), pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	def, err := modelStage(bj, "mlp")
	if err != nil {
		t.Fatal(err)
	}
	entry, _ := stages.Default().Lookup("model")
	conf, errs := entry.Decode(def.With, bj.Dir)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	mc := conf.(*model.Config)
	if mc.Batch.MaxRows != best.Batch || mc.Instances != best.Instances || strings.Join(mc.Backends, "+") != best.Backend ||
		mc.Batch.MaxDelay.D() != 2*time.Millisecond {
		t.Errorf("best job has batch %d instances %d backends %v; best is %+v", mc.Batch.MaxRows, mc.Instances, mc.Backends, best.Combination)
	}
}

func TestRunMetricsAddr(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	job := writeJob(t, goodJob)
	code, _, stderr := pipe("run", job, "--metrics-addr", busy.Addr().String())
	if code != exitUsage || !strings.Contains(stderr, "--metrics-addr") || !strings.Contains(stderr, "address already in use") {
		t.Errorf("address in use: exit %d, stderr %q; want exit 2", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(job), "out")); err == nil {
		t.Error("output written although the metrics address was in use")
	}

	// A run that serves metrics: scrape while it runs is racy, so check
	// the endpoint is gone afterwards and the run succeeded quietly.
	code, stdout, stderr := pipe("run", job, "--metrics-addr", "127.0.0.1:0", "--quiet")
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "progress") {
		t.Errorf("--quiet printed progress: %q", stderr)
	}
	data, err := os.ReadFile(filepath.Join(filepath.Dir(job), "out", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep pipeline.Report
	if err := json.Unmarshal(data, &rep); err != nil || len(rep.Fingerprint) != 64 || len(rep.Stages) != 3 {
		t.Errorf("metrics.json: %v, fingerprint %q, %d stages", err, rep.Fingerprint, len(rep.Stages))
	}
}
