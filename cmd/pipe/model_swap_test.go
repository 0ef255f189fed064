package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/internal/onnx"
)

// swapRows is the row count of the model swap job: three work units of
// swapUnitRows rows.
const (
	swapRows     = 3000
	swapUnitRows = 1000
)

// swapJob scores generated vectors x with the model at MODEL (y = k·x) in
// work units of swapUnitRows rows, keeping x next to y.
var swapJob = fmt.Sprintf(`version: 1
name: swap
resources: {unit_rows: %d}
stages:
  - id: gen
    type: generate
    with:
      count: %d
      seed: 7
      batch_rows: 250
      columns:
        - {name: id, type: int64}
        - {name: x, type: vector, dims: 4, distribution: normal, mean: 0, std: 1}
  - id: score
    type: model
    inputs: [gen]
    with:
      model: m.onnx
      backends: [cpu]
      inputs: {x: x}
      outputs: {y: y}
      keep: [id, x]
  - id: write
    type: parquet_sink
    inputs: [score]
    with: {path: out, overwrite: true}
`, swapUnitRows, swapRows)

// writeScaleModel writes, at path, a model whose output y [N, 4] is its
// input x [N, 4] times k (a Mul by a constant initializer): models written
// with different k have the same inputs and outputs and different weights.
func writeScaleModel(t *testing.T, path string, k float32) {
	t.Helper()
	g := onnx.NewGraph("scale")
	g.AddInput(onnx.TensorValue("x", onnx.Float, onnx.Sym("N"), onnx.Fix(4)))
	g.AddInitializer(onnx.FloatTensor("k", []int64{4}, []float32{k, k, k, k}))
	g.AddNode("Mul", []string{"x", "k"}, []string{"y"})
	g.AddOutput(onnx.TensorValue("y", onnx.Float, onnx.Sym("N"), onnx.Fix(4)))
	m := onnx.NewModel(g, onnx.OpsetID{Domain: "", Version: onnx.Opset})
	if err := onnx.Validate(m); err != nil {
		t.Fatal(err)
	}
	// Replace the file the way a deployment does: a new file renamed over
	// the old one.
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, m.Marshal(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// runStoppedAfterFirstUnit runs the job in dir with the pipe binary, which
// stops itself (SIGSTOP) once the first work unit is recorded; while it is
// stopped, swap runs; then the child is continued. It returns the exit
// status and the child's stderr.
func runStoppedAfterFirstUnit(t *testing.T, dir string, swap func()) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildPipe(t), "run", "job.yaml")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), failpoint.EnvVar+"=commit/afterUnitRecord=stop")
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	startStopped(t, cmd)
	swap()
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ctx.Err() != nil {
		t.Fatalf("pipe did not finish within its limit:\n%s", stderr.String())
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// TestModelSwappedBetweenUnits replaces the model file between two work
// units of a run. Every unit must be computed by the model the run started
// with (the one its fingerprint names), or the run must fail naming the
// file; a rerun with the new model must recompute, not report the mixed
// output as complete.
func TestModelSwappedBetweenUnits(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "m.onnx")
	writeScaleModel(t, model, 2)
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(swapJob), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")

	code, stderr := runStoppedAfterFirstUnit(t, dir, func() { writeScaleModel(t, model, 3) })
	switch code {
	case 0:
		checkScaled(t, out, 2)
	case 1:
		if !strings.Contains(stderr, "m.onnx") {
			t.Fatalf("the run failed without naming the model file:\n%s", stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "_SUCCESS")); err == nil {
			t.Fatalf("the failed run left a success marker:\n%s", stderr)
		}
	default:
		t.Fatalf("run with the model swapped: exit %d, want 0 or 1:\n%s", code, stderr)
	}

	c := runChild(t, childOptions{Dir: dir}, "run", "job.yaml")
	if strings.Contains(c.Stdout+c.Stderr, "nothing to do") {
		t.Fatalf("rerun after the swap found nothing to do:\n%s", c.Stderr)
	}
	if c.Code != 0 {
		t.Fatalf("rerun after the swap: exit %d:\n%s", c.Code, c.Stderr)
	}
	checkScaled(t, out, 3)
}

// checkScaled reads every Parquet file in dir and checks that it holds
// swapRows rows in all, each with y = k·x, computed here in float32.
func checkScaled(t *testing.T, dir string, k float32) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Parquet files in %s (%v)", dir, err)
	}
	rows := 0
	for _, p := range files {
		tbl := readPartTable(t, p)
		rows += int(tbl.NumRows())
		xs, ys := swapColumn(t, tbl, "x"), swapColumn(t, tbl, "y")
		for c := range xs {
			checkScaledChunk(t, p, xs[c], ys[c], k)
		}
		tbl.Release()
	}
	if rows != swapRows {
		t.Fatalf("output holds %d rows, want %d", rows, swapRows)
	}
}

func checkScaledChunk(t *testing.T, file string, x, y array.ListLike, k float32) {
	t.Helper()
	xv, xok := x.ListValues().(*array.Float32)
	yv, yok := y.ListValues().(*array.Float32)
	if !xok || !yok || x.Len() != y.Len() {
		t.Fatalf("%s: x and y are not float32 lists of one length", file)
	}
	for i := range x.Len() {
		xs, xe := x.ValueOffsets(i)
		ys, ye := y.ValueOffsets(i)
		if xe-xs != 4 || ye-ys != 4 {
			t.Fatalf("%s: row %d: x has %d values and y %d, want 4", file, i, xe-xs, ye-ys)
		}
		for j := range int64(4) {
			if want, got := k*xv.Value(int(xs+j)), yv.Value(int(ys+j)); got != want {
				t.Fatalf("%s: row %d: y[%d] = %v, want %v·%v = %v: computed by another model", file, i, j, got, k, xv.Value(int(xs+j)), want)
			}
		}
	}
}

// swapColumn returns the chunks of a list column.
func swapColumn(t *testing.T, tbl arrow.Table, name string) []array.ListLike {
	t.Helper()
	idx := tbl.Schema().FieldIndices(name)
	if len(idx) != 1 {
		t.Fatalf("column %s: found %d times in %v", name, len(idx), tbl.Schema())
	}
	var out []array.ListLike
	for _, c := range tbl.Column(idx[0]).Data().Chunks() {
		l, ok := c.(array.ListLike)
		if !ok {
			t.Fatalf("column %s is %s, want a list", name, c.DataType())
		}
		out = append(out, l)
	}
	return out
}
