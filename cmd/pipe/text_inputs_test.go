package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
)

// TestTextInputsJob checks what a user sees of a csv_source over a folder:
// validate lists the files matched and skipped, and a run reads the
// compressed file and warns about the empty one instead of failing.
func TestTextInputsJob(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	_, _ = w.Write([]byte("id,s\n3,z\n4,w\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{
		"a.csv": "id,s\n1,x\n", "b.csv": "id,s\n2,y\n", "notes.txt": "hello", "empty.csv": "", "c.csv.gz": gz.String(),
	} {
		if err := os.WriteFile(filepath.Join(in, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte(`version: 1
name: inputs
stages:
  - id: read
    type: csv_source
    with: {paths: [in]}
  - id: write
    type: parquet_sink
    inputs: [read]
    with: {path: out}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := pipe("validate", job)
	for _, want := range []string{
		"files: read: 4 matched (in/a.csv, in/b.csv, in/c.csv.gz, in/empty.csv)\n",
		"files: read: 1 skipped (in/notes.txt: extension)\n",
	} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("validate: exit %d, stdout lacks %q:\n%s\nstderr: %s", code, want, out, errOut)
		}
	}
	code, _, errOut = pipe("run", job)
	if code != 0 || !strings.Contains(errOut, "file holds no rows: the file is empty") || !strings.Contains(errOut, "empty.csv") {
		t.Fatalf("run: exit %d, want 0 and a warning about empty.csv; stderr:\n%s", code, errOut)
	}
	manifest, err := os.ReadFile(filepath.Join(dir, "out", "_manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(manifest), "\n  \"rows\": 4,\n") {
		t.Errorf("manifest does not count the 4 rows of a.csv, b.csv and c.csv.gz:\n%s", manifest)
	}
}
