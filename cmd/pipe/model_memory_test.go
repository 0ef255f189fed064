package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/onnx"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// rssCeiling is the peak resident memory a job may reach with default
// settings (and with lower limits set), whatever its batch size.
const rssCeiling = 1 << 30

// writeMemModel writes a model y = x·W for x [N, in] and W [in, out] of
// small constant weights, and returns its path.
func writeMemModel(t *testing.T, name string, in, out int64) string {
	t.Helper()
	g := onnx.NewGraph(name)
	g.AddInput(onnx.TensorValue("x", onnx.Float, onnx.Sym("N"), onnx.Fix(in)))
	w := make([]float32, in*out)
	for i := range w {
		w[i] = float32(i%7) / 8
	}
	g.AddInitializer(onnx.FloatTensor("W", []int64{in, out}, w))
	g.AddNode("MatMul", []string{"x", "W"}, []string{"y"})
	g.AddOutput(onnx.TensorValue("y", onnx.Float, onnx.Sym("N"), onnx.Fix(out)))
	m := onnx.NewModel(g, onnx.OpsetID{Domain: "", Version: onnx.Opset})
	if err := onnx.Validate(m); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name+".onnx")
	if err := os.WriteFile(p, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// memJob writes a job: generated rows with a vector column x of dims
// values -> the model -> a select keeping only id -> a sink, so that the
// sink's own buffers stay small and the model stage's memory shows.
func memJob(t *testing.T, resources, modelPath string, rows, dims int64, batch string) string {
	t.Helper()
	return writeJob(t, fmt.Sprintf(`version: 1
name: memory
%s
stages:
  - id: gen
    type: generate
    with:
      count: %d
      columns:
        - {name: id, type: int64}
        - {name: x, type: vector, dims: %d}
  - id: score
    type: model
    inputs: [gen]
    with:
      model: %s
      backends: [cpu]
      inputs: {x: x}
      outputs: {y: y}
      keep: [id]
      batch: %s
  - id: slim
    type: select
    inputs: [score]
    with: {keep: [id]}
  - id: write
    type: parquet_sink
    inputs: [slim]
    with: {path: out}
`, resources, rows, dims, modelPath, batch))
}

// runMem runs job as a child and logs how it went.
func runMem(t *testing.T, args ...string) child {
	t.Helper()
	job := args[len(args)-1]
	start := time.Now()
	c := runChild(t, childOptions{Dir: filepath.Dir(job), Timeout: 3 * time.Minute}, args...)
	t.Logf("pipe %s: exit %d in %v, peak RSS %d MiB", args[0], c.Code, time.Since(start).Round(time.Millisecond), c.MaxRSS>>20)
	return c
}

// TestModelMemoryHugeMaxRows runs batch.max_rows 10000000 over 4M rows of
// 32 floats with the default memory_budget. The work unit holds every row
// (unit_rows is raised: the generate source would otherwise end a batch
// every 1M rows, as a Parquet row group of millions of rows would not),
// so only the budget splits the batches. Without the split the run peaked
// at 0.95-1.1 GiB; with it at 0.4-0.6 GiB.
func TestModelMemoryHugeMaxRows(t *testing.T) {
	stagetest.NeedORT(t)
	model := writeMemModel(t, "linear", 32, 4)
	job := memJob(t, "resources: {unit_rows: 8000000}", model, 4_000_000, 32, "{max_rows: 10000000, max_delay: 1s}")

	v := runMem(t, "validate", job)
	if v.Code != 0 {
		t.Fatalf("validate: exit %d\n%s%s", v.Code, v.Stdout, v.Stderr)
	}
	// A row is x (128 bytes) and y (16 bytes); a batch may hold the
	// default 128 MiB / (instances 1 + 1) = 64 MiB: 466033 rows.
	for _, want := range []string{"memory: score: model tensors about 144 bytes a row", "up to 466033 rows, batch.max_rows 10000000"} {
		if !strings.Contains(v.Stdout, want) {
			t.Errorf("validate's output lacks %q:\n%s", want, v.Stdout)
		}
	}
	if want := "warning: stage score: batch.max_rows 10000000 × 144 bytes a row"; !strings.Contains(v.Stderr, want) || !strings.Contains(v.Stderr, "batches will be split to 466033 rows") {
		t.Errorf("validate does not warn %q ... batches will be split to 466033 rows:\n%s", want, v.Stderr)
	}

	c := runMem(t, "run", "--log-level", "warn", job)
	if c.Code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", c.Code, c.Stdout, c.Stderr)
	}
	if c.MaxRSS <= 0 || c.MaxRSS > rssCeiling {
		t.Errorf("peak RSS %d MiB, want at most %d MiB", c.MaxRSS>>20, rssCeiling>>20)
	}
	checkBatches(t, filepath.Dir(job), 4_000_000, 466033)
}

// checkBatches reads the score stage's batches from the sink's
// metrics.json: rows in all, and no batch above the bucket of fit rows.
func checkBatches(t *testing.T, dir string, rows, fit int64) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "out", "metrics.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Stages []struct {
			ID      string `json:"id"`
			Details struct {
				Batches int64            `json:"batches"`
				Rows    int64            `json:"rows"`
				Sizes   map[string]int64 `json:"batch_sizes"`
			} `json:"details"`
		} `json:"stages"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	bucket := int64(1)
	for bucket < fit {
		bucket *= 2
	}
	for _, s := range m.Stages {
		if s.ID != "score" {
			continue
		}
		d := s.Details
		if d.Rows != rows || d.Batches < (rows+fit-1)/fit {
			t.Errorf("score ran %d rows in %d batches; want %d rows in at least %d batches of at most %d", d.Rows, d.Batches, rows, (rows+fit-1)/fit, fit)
		}
		for k := range d.Sizes {
			n, err := strconv.ParseInt(strings.TrimPrefix(k, "≤"), 10, 64)
			if err != nil || n > bucket {
				t.Errorf("batch sizes %v: a batch above %d rows (%d fit)", d.Sizes, bucket, fit)
			}
		}
		return
	}
	t.Fatalf("no score stage in metrics.json:\n%s", b)
}

// TestModelMemoryWideOutput runs a model whose output is [N, 262144]
// float32 (1 MiB a row) with every limit set low: batches are split to the
// 31 rows that fit and the run stays far under the ceiling (it peaked at
// 1.6 GiB when a 512-row batch ran alone over the budget). With a budget
// below two rows, the job fails before any data moves, naming the limit
// and the setting that raises it.
func TestModelMemoryWideOutput(t *testing.T) {
	stagetest.NeedORT(t)
	model := writeMemModel(t, "wide", 4, 262144)
	t.Run("split", func(t *testing.T) {
		job := memJob(t, "resources: {memory_budget: 64MiB, max_bytes_in_flight: 16MiB}", model, 2000, 4, "{max_rows: 512}")
		c := runMem(t, "run", "--log-level", "warn", job)
		if c.Code != 0 {
			t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", c.Code, c.Stdout, c.Stderr)
		}
		if c.MaxRSS <= 0 || c.MaxRSS > rssCeiling/2 {
			t.Errorf("peak RSS %d MiB, want at most %d MiB", c.MaxRSS>>20, rssCeiling>>21)
		}
		checkBatches(t, filepath.Dir(job), 2000, 31)
	})
	t.Run("one row over budget", func(t *testing.T) {
		job := memJob(t, "resources: {memory_budget: 1MiB}", model, 2000, 4, "{max_rows: 512}")
		c := runMem(t, "run", "--log-level", "warn", job)
		if c.Code != 2 {
			t.Fatalf("exit %d, want 2 (the job cannot run)\nstdout:\n%s\nstderr:\n%s", c.Code, c.Stdout, c.Stderr)
		}
		for _, want := range []string{`stage "score"`, "one row needs 1.0 MiB (1048592 bytes) of model inputs and outputs",
			"resources.memory_budget 1 MiB / (instances 1 + 1)", "raise resources.memory_budget to at least 2.0 MiB", "nothing ran"} {
			if !strings.Contains(c.Stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, c.Stderr)
			}
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(job), "out", "_SUCCESS")); err == nil {
			t.Error("a job that cannot run wrote _SUCCESS")
		}
	})
}
