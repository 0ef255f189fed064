package main

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	// The signal tests run this test binary as pipe in a subprocess.
	if os.Getenv("PIPE_TEST_AS_PIPE") == "1" {
		os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m, goleak.Cleanup(func(code int) {
		removeBuiltPipe()
		os.Exit(code)
	}))
}

var update = flag.Bool("update", false, "rewrite docs/stages.md")

func pipe(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

func writeJob(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "job.yaml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const goodJob = `version: 1
name: t
stages:
  - id: gen
    type: generate
    with: {count: 1000, batch_rows: 100, columns: [{name: id, type: int64}, {name: v, type: float32}]}
  - id: keep
    type: filter
    inputs: [gen]
    with: {where: "id >= 500"}
  - id: write
    type: parquet_sink
    inputs: [keep]
    with: {path: out}
`

func TestExitCodes(t *testing.T) {
	job := writeJob(t, goodJob)
	bad := writeJob(t, "version: 1\nstages:\n  - {id: gen, type: generat}\n")
	failing := writeJob(t, `version: 1
stages:
  - id: gen
    type: generate
    with: {count: 10, columns: [{name: id, type: int64}]}
  - id: c
    type: cast
    inputs: [gen]
    with: {columns: {id: int8}}
  - id: gen2
    type: generate
    with: {count: 300, columns: [{name: id, type: int64}]}
  - id: c2
    type: cast
    inputs: [gen2]
    with: {columns: {id: int8}}
  - id: both
    type: merge
    inputs: [c, c2]
  - id: write
    type: parquet_sink
    inputs: [both]
    with: {path: out}
`)
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stdout string
		stderr string
	}{
		{"validate ok", []string{"validate", job}, 0, "ok (3 stages)", ""},
		{"validate lists work units", []string{"validate", job}, 0, "work units: 1 (", ""},
		{"run ok", []string{"run", job}, 0, "", "succeeded"},
		{"run again: output is complete", []string{"run", job}, 0, "", "nothing to do"},
		{"validate broken", []string{"validate", bad}, 2, "", `unknown stage type "generat" (did you mean "generate"?)`},
		{"run broken", []string{"run", bad}, 2, "", "nothing ran"},
		{"runtime failure", []string{"run", "-q", failing}, 1, "", `stage "c2"`},
		{"missing file", []string{"validate", "/nonexistent/job.yaml"}, 2, "", "no such file"},
		{"unknown command", []string{"frobnicate"}, 2, "", "unknown command"},
		{"bad flag", []string{"run", "--nope", job}, 2, "", "unknown flag"},
		{"no args", []string{"run"}, 2, "", "accepts 1 arg"},
		{"graph dot", []string{"graph", job}, 0, `"gen" -> "keep";`, ""},
		{"graph mermaid", []string{"graph", "--format", "mermaid", job}, 0, "gen --> keep", ""},
		{"graph bad format", []string{"graph", "--format", "png", job}, 2, "", "not one of dot, mermaid"},
		{"version", []string{"version"}, 0, "pipe ", ""},
		{"shard of a one-unit job", []string{"run", "--shard", "1/2", failing}, 2, "", "it has 2 sources"},
		{"k8s of a one-unit job", []string{"k8s", failing, "--shards", "2", "--image", "x", "--output", "/o"}, 2, "", "it has 2 sources"},
		{"bad shard", []string{"run", "--shard", "2/2", job}, 2, "", "from 0 to 1"},
		{"bad max bytes in flight", []string{"run", "--max-bytes-in-flight", "lots", job}, 2, "", "--max-bytes-in-flight: "},
		{"bad metrics address", []string{"run", "--metrics-addr", "no-port", job}, 2, "", "--metrics-addr: "},
		{"commit without shards", []string{"commit", t.TempDir()}, 1, "", "no shard manifest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errOut := pipe(tc.args...)
			if code != tc.code || !strings.Contains(out, tc.stdout) || !strings.Contains(errOut, tc.stderr) {
				t.Fatalf("exit %d (want %d)\nstdout: %s\nstderr: %s", code, tc.code, out, errOut)
			}
		})
	}
	// The successful run left its output and report.
	dir := filepath.Join(filepath.Dir(job), "out")
	code, out, _ := pipe("inspect", filepath.Join(dir, "part-00000-00000.parquet"))
	if code != 0 || !strings.Contains(out, "rows: 500") {
		t.Fatalf("inspect: %d %s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "metrics.json")); err != nil {
		t.Fatal(err)
	}
}

// TestDocsInSync keeps docs/stages.md equal to what `pipe docs` prints
// from the stage specs; run with -update after changing a spec.
func TestDocsInSync(t *testing.T) {
	code, out, errOut := pipe("docs")
	if code != 0 {
		t.Fatal(errOut)
	}
	path := filepath.Join("..", "..", "docs", "stages.md")
	if *update {
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Fatal("docs/stages.md is out of date: run go test ./cmd/pipe -run TestDocsInSync -update")
	}
	for _, typ := range []string{"parquet_source", "csv_source", "jsonl_source", "ipc_source", "generate", "select", "cast", "filter", "vectorize", "unvectorize", "merge", "zip", "model", "parquet_sink"} {
		if !strings.Contains(out, "### `"+typ+"`") {
			t.Errorf("docs lack stage type %s", typ)
		}
	}
}
