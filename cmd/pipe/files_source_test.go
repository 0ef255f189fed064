package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// filesRSSBound is the peak resident memory the files_source job below may
// reach with its resources (8MiB in flight, a 64MiB heap limit): its child
// peaks near 75MiB. It guards against a source that
// reads the folder whole or buffers per file; how many bytes a batch holds
// is asserted exactly in stages/source. (On 126MiB of files the same job
// peaks at about 200MiB, as a parquet_source -> parquet_sink copy of those
// bytes does.)
const filesRSSBound = 256 << 20

// writeImages writes n files of random sizes (1 byte to 16KiB) named
// imgs/NNNN.jpg under dir, and a few others the job filters out, and
// returns the .jpg files' contents by path relative to dir.
func writeImages(t *testing.T, dir string, n int) map[string][]byte {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "imgs"), 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(7, 9))
	fill := rand.NewChaCha8([32]byte{7})
	want := make(map[string][]byte, n)
	for i := range n {
		b := make([]byte, 1+rng.IntN(16<<10))
		_, _ = fill.Read(b)
		name := fmt.Sprintf("imgs/%04d.jpg", i)
		want[name] = b
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, other := range []string{"imgs/notes.txt", "imgs/.DS_Store.jpg"} {
		if err := os.WriteFile(filepath.Join(dir, other), []byte("not an image"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return want
}

// filesOutput reads the path, size and bytes columns of every part file
// under out, keyed by path; it fails on a path seen twice.
func filesOutput(t *testing.T, out string) (content map[string][]byte, sizes map[string]int64) {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	if err != nil || len(parts) == 0 {
		t.Fatalf("no part files under %s (%v)", out, err)
	}
	sort.Strings(parts)
	content, sizes = map[string][]byte{}, map[string]int64{}
	for _, p := range parts {
		tbl := readPartTable(t, p)
		cols := map[string]int{}
		for i, f := range tbl.Schema().Fields() {
			cols[f.Name] = i
		}
		paths, sz, bs := tbl.Column(cols["path"]).Data().Chunks(), tbl.Column(cols["size"]).Data().Chunks(), tbl.Column(cols["bytes"]).Data().Chunks()
		for k := range paths {
			pa, sa, ba := paths[k].(*array.String), sz[k].(*array.Int64), bs[k].(*array.Binary)
			for r := range pa.Len() {
				name := pa.Value(r)
				if _, dup := content[name]; dup {
					t.Errorf("%s written twice", name)
				}
				content[name], sizes[name] = bytes.Clone(ba.Value(r)), sa.Value(r)
			}
		}
		tbl.Release()
	}
	return content, sizes
}

// TestFilesSourceJob runs files_source -> parquet_sink over 500 small
// files with a small batch_bytes and 5 work units: every .jpg file is one
// output row holding its bytes, the others are left out, a second run
// finds the output complete, and the peak RSS stays under filesRSSBound.
func TestFilesSourceJob(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a pipe child")
	}
	dir := t.TempDir()
	want := writeImages(t, dir, 500)
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte(`version: 1
name: images
resources: {unit_rows: 100, max_bytes_in_flight: 8MiB, memory_limit: 64MiB}
stages:
  - id: read
    type: files_source
    with: {paths: [imgs], extensions: [.jpg], batch_bytes: 64KiB, max_file_bytes: 32KiB}
  - id: write
    type: parquet_sink
    inputs: [read]
    with: {path: out, row_group_rows: 64}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := runChild(t, childOptions{Dir: dir}, "validate", job); c.Code != 0 || !strings.Contains(c.Stdout, "work units: 5, 500 rows") {
		t.Fatalf("validate: exit %d, stdout %q, stderr:\n%s", c.Code, c.Stdout, stderrTail(c.Stderr))
	}
	c := runChild(t, childOptions{Dir: dir}, "run", "-q", job)
	if c.Code != 0 {
		t.Fatalf("run: exit %d; stderr:\n%s", c.Code, stderrTail(c.Stderr))
	}
	checkNoCrash(t, c)
	if c.MaxRSS > filesRSSBound {
		t.Errorf("peak RSS %d MiB, want under %d MiB", c.MaxRSS>>20, filesRSSBound>>20)
	}
	got, sizes := filesOutput(t, filepath.Join(dir, "out"))
	if len(got) != len(want) {
		t.Errorf("%d rows written, want %d", len(got), len(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) || sizes[name] != int64(len(b)) {
			t.Errorf("%s: %d bytes written (size %d), want the file's %d", name, len(got[name]), sizes[name], len(b))
		}
	}
	if again := runChild(t, childOptions{Dir: dir}, "run", job); again.Code != 0 || !strings.Contains(again.Stderr, "nothing to do") {
		t.Errorf("second run: exit %d, stderr:\n%s", again.Code, stderrTail(again.Stderr))
	}
}

// readPartTable reads a whole Parquet part file.
func readPartTable(t *testing.T, path string) arrow.Table {
	t.Helper()
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rdr.Close()
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tbl
}
