package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The hostile columnar files of testdata/hostile (see its README and
// stages/source/hostile_test.go, which writes them): Parquet and Arrow IPC
// files that made arrow-go abort the process with an allocation of tens of
// gigabytes from a few changed bytes, or read at several gigabytes. Each must
// give `pipe inspect` and `pipe run` an error naming the file (or read), never
// a crash, under the memory ceiling.

// columnarDir holds the hostile files, relative to this package.
var columnarDir = filepath.Join("..", "..", "testdata", "hostile")

// checkColumnar asserts how a pipe child ended on the hostile file path:
// with exit status 0 when ok, else 1 or 2 and a message on stderr naming
// the file and holding every part of want; no panic or runtime crash; and
// a peak resident set under hostileCeiling.
func checkColumnar(t *testing.T, c child, path string, ok bool, want ...string) {
	t.Helper()
	if c.TimedOut {
		t.Fatalf("timed out; stderr:\n%s", stderrTail(c.Stderr))
	}
	switch {
	case ok && c.Code != 0:
		t.Errorf("exit %d, want 0; stderr:\n%s", c.Code, stderrTail(c.Stderr))
	case !ok && c.Code != 1 && c.Code != 2:
		t.Errorf("exit %d, want 1 or 2; stderr:\n%s", c.Code, stderrTail(c.Stderr))
	}
	if !ok {
		for _, w := range append([]string{filepath.Base(path)}, want...) {
			if !strings.Contains(c.Stderr, w) {
				t.Errorf("stderr does not hold %q:\n%s", w, stderrTail(c.Stderr))
			}
		}
	}
	checkNoCrash(t, c, "reader panicked")
}

// columnarJob writes, in dir, a job reading path with its source, keeping
// column (some hostile IPC files also hold columns Parquet cannot store)
// and writing a Parquet folder.
func columnarJob(t *testing.T, dir, path, column string) string {
	t.Helper()
	typ := "ipc_source"
	if strings.HasSuffix(path, ".parquet") {
		typ = "parquet_source"
	}
	job := fmt.Sprintf(`version: 1
name: hostile
stages:
  - id: read
    type: %s
    with: {paths: [%q]}
  - id: keep
    type: select
    inputs: [read]
    with: {keep: [%q]}
  - id: write
    type: parquet_sink
    inputs: [keep]
    with: {path: out}
`, typ, path, column)
	p := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(p, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestHostileColumnarFiles runs `pipe inspect` and `pipe run` on every
// hostile columnar file. Before the fixes of issue 15, six of them ended the
// process with "fatal error: runtime: out of memory", two read at 3.0 and
// 4.8 GB, one without its leading PAR1 read as if whole, and
// unknown-logical-type.parquet failed with "reader panicked".
func TestHostileColumnarFiles(t *testing.T) {
	if testing.Short() {
		t.Skip("runs pipe children")
	}
	unknownType, err := filepath.Abs(filepath.Join("..", "..", "testdata", "corpus", "parquet-testing", "data", "unknown-logical-type.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		file   string
		column string
		// inspectOK: inspect describes the file (it reads no data);
		// runOK: the job reads it.
		inspectOK, runOK bool
		want             []string // in stderr, when the command fails
	}{
		{file: "ipc-stream-schema-metadata.arrows", column: "id", want: []string{"corrupt input", "custom_metadata: the vector claims 4294967280 entries"}},
		{file: "ipc-stream-batch-metadata.arrows", column: "id", want: []string{"corrupt input", "message metadata", "custom_metadata"}},
		{file: "ipc-stream-variadic-count.arrows", column: "id", want: []string{"corrupt input", "variadic buffer count"}},
		{file: "ipc-file-footer-metadata.arrow", column: "id", want: []string{"corrupt input", "footer", "custom_metadata"}},
		{file: "ipc-zstd-3x960mib.arrow", column: "x", inspectOK: true, want: []string{"max_batch_bytes (192MiB)", "raise ipc_source's max_batch_bytes"}},
		{file: "parquet-arrow-schema-metadata.parquet", column: "id", want: []string{"ARROW:schema", "custom_metadata"}},
		{file: "parquet-zstd-content-size.parquet", column: "id", inspectOK: true, want: []string{"row group 0", "zstd page of 8000 bytes decoding to at most 8000"}},
		{file: "parquet-no-magic.parquet", column: "id", want: []string{"does not start with the PAR1 magic"}},
		{file: "parquet-pages-10x224mib.parquet", column: "c0", inspectOK: true, want: []string{"row group 0", "max_page_bytes"}},
		{file: unknownType, column: "column with unknown type", inspectOK: true, runOK: true},
	}
	for _, tt := range tests {
		path := tt.file
		if !filepath.IsAbs(path) {
			abs, err := filepath.Abs(filepath.Join(columnarDir, path))
			if err != nil {
				t.Fatal(err)
			}
			path = abs
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			if _, err := os.Stat(path); err != nil {
				t.Fatal(err)
			}
			t.Run("inspect", func(t *testing.T) {
				c := runChild(t, childOptions{}, "inspect", path)
				checkColumnar(t, c, path, tt.inspectOK, tt.want...)
				if tt.inspectOK && !strings.Contains(c.Stdout, "rows: ") {
					t.Errorf("inspect printed:\n%s", c.Stdout)
				}
			})
			t.Run("run", func(t *testing.T) {
				dir := t.TempDir()
				job := columnarJob(t, dir, path, tt.column)
				c := runChild(t, childOptions{Dir: dir}, "run", "-q", job)
				checkColumnar(t, c, path, tt.runOK, tt.want...)
			})
		})
	}
}
