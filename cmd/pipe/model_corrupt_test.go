package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestCorruptModelLeadsWithCause runs a job whose model file is garbage
// through the real ONNX Runtime backend: the error names the model and
// ONNX Runtime's cause first, says it once, and then lists the backends
// tried.
func TestCorruptModelLeadsWithCause(t *testing.T) {
	stagetest.NeedORT(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "bad.onnx")
	garbage := []byte(strings.Repeat("\xff\x13 not a protobuf \x00\x9a", 64))
	if err := os.WriteFile(model, garbage, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, backends := range []string{"[cpu]", "[auto]"} {
		t.Run(backends, func(t *testing.T) {
			job := writeJob(t, `version: 1
stages:
  - id: gen
    type: generate
    with: {count: 10, columns: [{name: x, type: vector, dims: 32}]}
  - id: mlp
    type: model
    inputs: [gen]
    with: {model: `+model+`, backends: `+backends+`, inputs: {x: x}, outputs: {probs: probs}}
  - {id: write, type: parquet_sink, inputs: [mlp], with: {path: out}}
`)
			code, out, errs := pipe("validate", job)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitUsage, out, errs)
			}
			msg := strings.ToLower(errs)
			const cause = "protobuf parsing failed"
			if n := strings.Count(msg, cause); n != 1 {
				t.Errorf("the cause %q appears %d times, want once:\n%s", cause, n, errs)
			}
			lead := strings.ToLower(`stage "mlp": model ` + model + ": ")
			at, tried := strings.Index(msg, lead), strings.Index(msg, "backends tried")
			if at < 0 || tried < at || !strings.Contains(msg[at+len(lead):tried], cause) {
				t.Errorf("want %q followed by the cause, then the backends tried:\n%s", lead, errs)
			}
			if strings.Count(msg, "model "+strings.ToLower(model)) != 1 {
				t.Errorf("the model is named more than once:\n%s", errs)
			}
			if !strings.Contains(errs, "cpu failed to open the model: cpu backend: load: model_corrupt") {
				t.Errorf("the cpu backend's failure is not listed:\n%s", errs)
			}
		})
	}
}
