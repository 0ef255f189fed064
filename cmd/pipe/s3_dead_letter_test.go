package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/output"
)

// TestS3DeadLetter: a stage with on_error: dead_letter and its dead_letter
// folder on the store writes the rejected rows there, committed (manifest
// and _SUCCESS, verified) with errors naming their files, beside the good
// rows in the bucket output.
func TestS3DeadLetter(t *testing.T) {
	s := startS3Store(t)
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join("..", "..", "stages", "image", "testdata", "rgb.png"))
	if err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"a_good.png": good, "b_text.jpg": []byte("this is not an image\n"), "c_good.png": good, "d_empty.png": nil} {
		if err := os.WriteFile(filepath.Join(imgs, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out, bad := s.url(), s.url()+"/bad"
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte(fmt.Sprintf(`version: 1
stages:
  - {id: read, type: files_source, with: {paths: [imgs]}}
  - id: px
    type: image
    inputs: [read]
    on_error: dead_letter
    dead_letter: %s
    with: {resize: {mode: exact, width: 8, height: 8}}
  - {id: keep, type: select, inputs: [px], with: {keep: [path, width, height]}}
  - {id: write, type: parquet_sink, inputs: [keep], with: {path: %q}}
`, bad, out)), 0o644); err != nil {
		t.Fatal(err)
	}
	c := runChild(t, childOptions{Dir: dir}, "run", "-q", job)
	if c.Code != 0 {
		t.Fatalf("run: exit %d\n%s", c.Code, stderrTail(c.Stderr))
	}
	for _, tc := range []struct {
		url  string
		rows int64
	}{{out, 2}, {bad, 2}} {
		f := s3Folder(t, tc.url)
		if !output.Complete(t.Context(), f) {
			t.Errorf("%s: no _SUCCESS", tc.url)
		}
		m, err := output.VerifyOutput(t.Context(), f)
		if err != nil {
			t.Fatalf("%s: %v", tc.url, err)
		}
		if m.Rows != tc.rows {
			t.Errorf("%s: %d rows, want %d", tc.url, m.Rows, tc.rows)
		}
	}
	errs := objectColumn(t, bad, "_pipe_error")
	if len(errs) != 2 || !strings.Contains(errs[0], "b_text.jpg") || !strings.Contains(errs[1], "d_empty.png") {
		t.Errorf("dead letters %q, want errors naming b_text.jpg and d_empty.png", errs)
	}
	checkInspect(t, bad, 2)
	checkInspect(t, out, 2)
}

// objectColumn reads a string column of every part object of a committed
// bucket folder, in manifest order.
func objectColumn(t *testing.T, url, column string) []string {
	t.Helper()
	f := s3Folder(t, url)
	m, err := output.ReadManifest(t.Context(), f)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, fl := range m.Files {
		data, err := f.ReadFile(t.Context(), fl.Name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), fmt.Sprintf("%d.parquet", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		tbl := readPartTable(t, p)
		idx := tbl.Schema().FieldIndices(column)
		if len(idx) == 0 {
			tbl.Release()
			t.Fatalf("%s has no column %s", f.Path(fl.Name), column)
		}
		for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
			s := chunk.(*array.String)
			for j := range s.Len() {
				out = append(out, s.Value(j))
			}
		}
		tbl.Release()
	}
	return out
}

// checkInspect asserts that `pipe inspect URL` says the committed bucket
// folder is complete, with its rows, files (those of the manifest),
// schema and the time it was made, in text and JSON.
func checkInspect(t *testing.T, url string, rows int64) {
	t.Helper()
	m, err := output.ReadManifest(t.Context(), s3Folder(t, url))
	if err != nil {
		t.Fatal(err)
	}
	c := runChild(t, childOptions{}, "inspect", url)
	if c.Code != 0 {
		t.Fatalf("pipe inspect %s: exit %d\n%s", url, c.Code, c.Stderr)
	}
	for _, want := range []string{"path: " + url + "\n", "complete: yes\n", fmt.Sprintf("rows: %d\n", rows),
		fmt.Sprintf("files (from manifest): %d\n", len(m.Files)), "made: ", "schema:\n  "} {
		if !strings.Contains(c.Stdout, want) {
			t.Errorf("pipe inspect %s does not say %q:\n%s", url, want, c.Stdout)
		}
	}
	for _, fl := range m.Files {
		if !strings.Contains(c.Stdout, fl.Name) {
			t.Errorf("pipe inspect %s does not list %s:\n%s", url, fl.Name, c.Stdout)
		}
	}
	c = runChild(t, childOptions{}, "inspect", "--json", url)
	var r struct {
		Complete bool   `json:"complete"`
		Rows     int64  `json:"rows"`
		Made     string `json:"made"`
	}
	if err := json.Unmarshal([]byte(c.Stdout), &r); err != nil || !r.Complete || r.Rows != rows || r.Made == "" {
		t.Errorf("pipe inspect --json %s: %+v (%v), want complete with %d rows and a time made:\n%s%s", url, r, err, rows, c.Stdout, c.Stderr)
	}
}
