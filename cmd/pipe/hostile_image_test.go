package main

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
)

// hostilePNG is a PNG signature and header declaring w x h RGB pixels
// with no image data: a decompression bomb's header.
func hostilePNG(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	b = append(b, ihdr[:]...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr[:]...)))
}

// TestHostileImages runs files_source -> image -> parquet_sink over a
// folder of good and hostile images (a bomb header, a truncated JPEG, a
// text file named .jpg, an empty file, a GIF header claiming a huge
// canvas) with on_error: dead_letter: the run ends cleanly under the
// memory ceiling, the good images are written, and each hostile one is a
// dead letter whose error names its file.
func TestHostileImages(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a pipe child")
	}
	dir := t.TempDir()
	imgs := filepath.Join(dir, "imgs")
	if err := os.MkdirAll(imgs, 0o755); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join("..", "..", "stages", "image", "testdata")
	good, err := os.ReadFile(filepath.Join(src, "rgb.png"))
	if err != nil {
		t.Fatal(err)
	}
	jpg, err := os.ReadFile(filepath.Join(src, "baseline.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	gif := []byte("GIF89a\xff\xff\xff\xff\x00\x00\x00;") // a 65535 x 65535 logical screen, no image
	files := map[string][]byte{
		"a_good.png": good, "b_bomb.png": hostilePNG(100000, 100000), "c_truncated.jpg": jpg[:len(jpg)/2],
		"d_text.jpg": []byte("this is not an image\n"), "e_empty.png": nil, "f_good.jpg": jpg, "g_screen.gif": gif,
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(imgs, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	job := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(job, []byte(`version: 1
stages:
  - {id: read, type: files_source, with: {paths: [imgs]}}
  - id: px
    type: image
    inputs: [read]
    on_error: dead_letter
    dead_letter: bad
    with: {resize: {mode: shorter_side, size: 64, crop: 56}}
  - {id: keep, type: select, inputs: [px], with: {keep: [path, width, height]}}
  - {id: write, type: parquet_sink, inputs: [keep], with: {path: out}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	c := runChild(t, childOptions{Dir: dir}, "run", "-q", job)
	checkNoCrash(t, c)
	if c.Code != 0 {
		t.Fatalf("run: exit %d; stderr:\n%s", c.Code, stderrTail(c.Stderr))
	}
	written := partColumn(t, filepath.Join(dir, "out"), "path")
	if want := []string{"imgs/a_good.png", "imgs/f_good.jpg"}; !slices.Equal(written, want) {
		t.Errorf("written %v, want %v", written, want)
	}
	errs := partColumn(t, filepath.Join(dir, "bad"), "_pipe_error")
	if len(errs) != 5 {
		t.Fatalf("%d dead letters, want 5: %q", len(errs), errs)
	}
	for i, bad := range []struct {
		name string
		row  int
	}{{"b_bomb.png", 1}, {"c_truncated.jpg", 2}, {"d_text.jpg", 3}, {"e_empty.png", 4}, {"g_screen.gif", 6}} {
		if !strings.Contains(errs[i], bad.name) || !strings.Contains(errs[i], fmt.Sprintf("row %d ", bad.row)) {
			t.Errorf("dead letter %d: %q does not name %s, row %d", i, errs[i], bad.name, bad.row)
		}
	}
}

// partColumn reads a string column of every part file of a folder.
func partColumn(t *testing.T, dir, column string) []string {
	t.Helper()
	parts, _ := filepath.Glob(filepath.Join(dir, "part-*.parquet"))
	var out []string
	for _, p := range parts {
		tbl := readPartTable(t, p)
		idx := tbl.Schema().FieldIndices(column)
		if len(idx) == 0 {
			tbl.Release()
			t.Fatalf("%s has no column %s", p, column)
		}
		for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
			s := chunk.(*array.String)
			for i := range s.Len() {
				out = append(out, s.Value(i))
			}
		}
		tbl.Release()
	}
	return out
}
