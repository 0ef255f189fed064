package pipeline_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build loads a job from text and builds it with the fake registry and a
// checked allocator.
func build(t *testing.T, text string, budget int64) *pipeline.Pipeline {
	t.Helper()
	mem := stagetest.Mem(t)
	job, err := pipeline.Load([]byte(text), "job.yaml", t.TempDir(), pipeline.LoadOptions{})
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	p, err := pipeline.Build(job, pipeline.BuildOptions{Registry: fakeRegistry(), Mem: mem, MaxBytesInFlight: budget})
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return p
}

func seqTo(n int64, add int64) []int64 {
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(i) + add
	}
	return out
}

func TestRunLinearKeepsOrder(t *testing.T) {
	resetCollected()
	p := build(t, `
version: 1
stages:
  - {id: src, type: seq, with: {count: 1000, batch_rows: 64}}
  - {id: plus, type: add, inputs: [src], with: {add: 5}}
  - {id: out, type: collect, inputs: [plus]}
`, 0)
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got, want := rowsOf("out"), seqTo(1000, 5); !slices.Equal(got, want) {
		t.Fatalf("rows differ: got %d rows, first %v", len(got), got[:min(5, len(got))])
	}
	if !collected.committed["out"] || collected.aborted["out"] {
		t.Fatalf("sink committed=%v aborted=%v", collected.committed["out"], collected.aborted["out"])
	}
	if rep.Status != "succeeded" || len(rep.Stages) != 3 {
		t.Fatalf("report: %+v", rep)
	}
	src := rep.Stages[0]
	if src.RowsOut != 1000 || src.BatchesOut != 16 {
		t.Fatalf("source stats: %+v", src)
	}
	if s := rep.Stages[2]; s.RowsIn != 1000 || s.BatchesIn != 16 {
		t.Fatalf("sink stats: %+v", s)
	}
	var b strings.Builder
	if err := rep.WriteTable(&b); err != nil || !strings.Contains(b.String(), "plus") {
		t.Fatalf("table: %v\n%s", err, b.String())
	}
}

func TestRunFanOutFanIn(t *testing.T) {
	resetCollected()
	// src feeds two branches that meet again in a union operator, and a
	// second sink directly: every consumer sees every row.
	p := build(t, `
version: 1
stages:
  - {id: src, type: seq, with: {count: 500, batch_rows: 7}}
  - {id: a, type: add, inputs: [src], with: {add: 0}}
  - {id: b, type: add, inputs: [src], with: {add: 10000}}
  - {id: both, type: union, inputs: [a, b]}
  - {id: out, type: collect, inputs: [both]}
  - {id: raw, type: collect, inputs: [src]}
`, 1024)
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := rowsOf("raw"); !slices.Equal(got, seqTo(500, 0)) {
		t.Fatalf("raw: %d rows", len(got))
	}
	got := rowsOf("out")
	slices.Sort(got)
	want := append(seqTo(500, 0), seqTo(500, 10000)...)
	if !slices.Equal(got, want) {
		t.Fatalf("union: got %d rows, want %d", len(got), len(want))
	}
}

func TestRunBackpressure(t *testing.T) {
	resetCollected()
	// A slow sink with a tiny budget: the source must wait on it rather than
	// queue everything.
	p := build(t, `
version: 1
stages:
  - {id: src, type: seq, with: {count: 200, batch_rows: 10}}
  - {id: out, type: collect, inputs: [src], with: {delay: 2ms}}
`, 100)
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Stages[0].BlockedSeconds <= 0 {
		t.Fatalf("source was never blocked by the slow sink: %+v", rep.Stages[0])
	}
	if len(rowsOf("out")) != 200 {
		t.Fatal("rows lost")
	}
}

func TestRunStageErrorCancelsAndAborts(t *testing.T) {
	for _, tc := range []struct {
		name, job, stage, msg string
	}{
		{"transform error", `
version: 1
stages:
  - {id: src, type: seq, with: {count: 100000, batch_rows: 10}}
  - {id: plus, type: add, inputs: [src], with: {fail_at: 5000}}
  - {id: out, type: collect, inputs: [plus]}
`, "plus", "bad value 5000"},
		{"source error", `
version: 1
stages:
  - {id: src, type: seq, with: {count: 1000, fail_at: 500}}
  - {id: out, type: collect, inputs: [src]}
`, "src", "seq failed at row 500"},
		{"panic", `
version: 1
stages:
  - {id: src, type: seq, with: {count: 1000, panic_at: 300}}
  - {id: out, type: collect, inputs: [src]}
`, "src", "panic: seq panicked"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resetCollected()
			p := build(t, tc.job, 0)
			rep, err := p.Run(context.Background())
			var se *pipeline.StageError
			if !errors.As(err, &se) || se.Stage != tc.stage || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("got %v, want a stage error from %q with %q", err, tc.stage, tc.msg)
			}
			if rep.Status != "failed" {
				t.Fatalf("status %q", rep.Status)
			}
			if collected.committed["out"] || !collected.aborted["out"] {
				t.Fatal("sink must be aborted, not committed")
			}
		})
	}
}

func TestRunHardCancel(t *testing.T) {
	resetCollected()
	p := build(t, `
version: 1
stages:
  - {id: src, type: seq, with: {count: 1000000, batch_rows: 10}}
  - {id: out, type: collect, inputs: [src], with: {delay: 1ms}}
`, 0)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(30*time.Millisecond, cancel)
	start := time.Now()
	_, err := p.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("cancel was not prompt")
	}
	if collected.committed["out"] {
		t.Fatal("committed after cancel")
	}
}

func TestRunSoftStopDrains(t *testing.T) {
	resetCollected()
	p := build(t, `
version: 1
stages:
  - {id: src, type: seq, with: {count: 1000000, batch_rows: 10}}
  - {id: plus, type: add, inputs: [src]}
  - {id: out, type: collect, inputs: [plus], with: {delay: 1ms}}
`, 0)
	time.AfterFunc(30*time.Millisecond, p.Stop)
	rep, err := p.Run(context.Background())
	if !errors.Is(err, pipeline.ErrInterrupted) {
		t.Fatalf("got %v, want ErrInterrupted", err)
	}
	if rep.Status != "interrupted" {
		t.Fatalf("status %q", rep.Status)
	}
	// Everything the source emitted was drained through to the sink.
	if got := int64(len(rowsOf("out"))); got != rep.Stages[0].RowsOut || got == 0 {
		t.Fatalf("sink got %d rows, source emitted %d", got, rep.Stages[0].RowsOut)
	}
	if collected.committed["out"] || !collected.aborted["out"] {
		t.Fatal("soft stop must abort sinks")
	}
}

func TestRunTwice(t *testing.T) {
	resetCollected()
	p := build(t, "version: 1\nstages:\n  - {id: src, type: seq, with: {count: 3}}\n  - {id: out, type: collect, inputs: [src]}\n", 0)
	if _, err := p.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Run(context.Background()); err == nil {
		t.Fatal("second Run must fail")
	}
}

func TestWriteGraph(t *testing.T) {
	job, err := pipeline.Load([]byte("version: 1\nstages:\n  - {id: src, type: seq, with: {count: 3}}\n  - {id: out, type: collect, inputs: [src]}\n"), "j.yaml", ".", pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for format, want := range map[string]string{"dot": `"src" -> "out";`, "mermaid": "src --> out"} {
		var b strings.Builder
		if err := pipeline.WriteGraph(&b, job, format); err != nil || !strings.Contains(b.String(), want) {
			t.Fatalf("%s: %v\n%s", format, err, b.String())
		}
	}
	if err := pipeline.WriteGraph(os.Stdout, job, "png"); err == nil {
		t.Fatal("unknown format accepted")
	}
}

// TestSinkCommitPanicIsAnError: a sink that panics while committing fails
// the run with an error naming it, and the other sinks are aborted.
func TestSinkCommitPanicIsAnError(t *testing.T) {
	resetCollected()
	p := build(t, `
version: 1
stages:
  - {id: src, type: seq, with: {count: 100, batch_rows: 10}}
  - {id: bad, type: collect, inputs: [src], with: {panic_on_commit: true}}
`, 0)
	_, err := p.Run(context.Background())
	var se *pipeline.StageError
	if !errors.As(err, &se) || se.Stage != "bad" || !strings.Contains(err.Error(), "panic: collect: commit") {
		t.Fatalf("Run = %v, want a StageError for stage bad reporting the panic", err)
	}
	if !collected.aborted["bad"] {
		t.Error("the sink was not aborted")
	}
}
