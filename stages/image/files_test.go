package image

import (
	"context"
	"errors"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
	_ "github.com/pipe-ml/pipe/stages/sink"   // parquet_sink writes the job's output
	_ "github.com/pipe-ml/pipe/stages/source" // parquet_source reads the test table
)

// writeFile writes b to path, making its folder.
func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeParquet writes rec to path with pqarrow, in row groups of two rows.
func writeParquet(t *testing.T, path string, rec arrow.RecordBatch) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(2)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestPathOnlyRows: a Parquet table in the Hugging Face Image layout that
// mixes inline bytes with rows whose bytes are null and whose path names a
// file (relative to the job folder, or absolute) gives the tensors of the
// same images given inline; an inline row's path is never read.
func TestPathOnlyRows(t *testing.T) {
	mem := stagetest.Mem(t)
	job, elsewhere := t.TempDir(), t.TempDir()
	names := []string{"rgb.png", "baseline.jpg", "palette.png", "rgb.bmp", "exif6.jpg"}
	imgs := make([][]byte, len(names))
	for i, n := range names {
		imgs[i] = readTestdata(t, n)
	}
	abs := filepath.Join(elsewhere, "d.bmp")
	writeFile(t, filepath.Join(job, "imgs", "b.jpg"), imgs[1])
	writeFile(t, abs, imgs[3])
	writeFile(t, filepath.Join(job, "e.jpg"), imgs[4])
	tbl := structBatch(mem, [][]byte{imgs[0], nil, imgs[2], nil, nil},
		[]string{"missing/a.png", "imgs/b.jpg", "", abs, "e.jpg"})
	defer tbl.Release()
	writeParquet(t, filepath.Join(job, "images.parquet"), tbl)

	const rs = "resize: {mode: shorter_side, size: 20, crop: 16}\n"
	want, err := process(t, mem, rs, imgs...)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	src := stagetest.MustBuild(t, nil, mem, "parquet_source", "{paths: [images.parquet]}", job)
	batches, err := stagetest.Drain(context.Background(), src.(stages.Source))
	defer stagetest.Release(batches)
	if err != nil || len(batches) != 3 {
		t.Fatalf("read %d batches, %v; want 3", len(batches), err)
	}
	s := stagetest.MustBuild(t, nil, mem, "image", "column: image\nthreads: 2\n"+rs, job, src.Schema())
	row := 0
	for _, b := range batches {
		out, err := s.(stages.Transform).Process(context.Background(), b)
		if err != nil {
			t.Fatal(err)
		}
		for i := range int(out.NumRows()) {
			if !slices.Equal(float32s(out.Column(1), i), float32s(want.Column(1), row)) {
				t.Errorf("row %d (%s): tensor differs from the inline image's", row, names[row])
			}
			for c := 2; c <= 3; c++ {
				if g, w := out.Column(c).(*array.Int32).Value(i), want.Column(c).(*array.Int32).Value(row); g != w {
					t.Errorf("row %d: %s %d, want %d", row, out.Schema().Field(c).Name, g, w)
				}
			}
			row++
		}
		out.Release()
	}
	if row != len(names) {
		t.Errorf("%d rows out, want %d", row, len(names))
	}
}

// TestPathOnlyErrors: a path-only row whose file cannot be used is a
// RowError naming the row and the path, wrapping the cause's sentinel.
func TestPathOnlyErrors(t *testing.T) {
	mem := stagetest.Mem(t)
	job := t.TempDir()
	small := solidPNG(t, 2, 2, color.RGBA{9, 8, 7, 255})
	writeFile(t, filepath.Join(job, "small.png"), small)
	writeFile(t, filepath.Join(job, "big.png"), readTestdata(t, "rgb.png")) // 120x90
	writeFile(t, filepath.Join(job, "junk.png"), []byte("not an image"))
	if err := os.Mkdir(filepath.Join(job, "folder.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, path, with string
		want             error
		msg              string
	}{
		{"missing", "gone/x.png", "", ErrNoFile, "no such file"},
		{"folder", "folder.png", "", ErrNoFile, "not a regular file"},
		{"too large", "big.png", "max_file_bytes: 200\n", ErrFileTooLarge, "max_file_bytes 200"},
		{"not an image", "junk.png", "", ErrNotImage, "junk.png"},
		{"no path", "", "", ErrNullImage, "row 2"},
		{"too many pixels", "big.png", "max_pixels: 100\n", ErrTooLarge, "big.png"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := structBatch(mem, [][]byte{small, nil, nil}, []string{"a.png", "small.png", c.path})
			defer in.Release()
			with := "column: image\nresize: {mode: exact, width: 8, height: 8}\n" + c.with
			s := stagetest.MustBuild(t, nil, mem, "image", with, job, in.Schema())
			_, err := s.(stages.Transform).Process(context.Background(), in)
			var re *RowError
			if !errors.As(err, &re) || !errors.Is(err, c.want) {
				t.Fatalf("got %v, want a RowError wrapping %v", err, c.want)
			}
			if re.Row != 2 || re.Path != c.path || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("got %v (row %d, path %q), want row 2, path %q, naming %q", err, re.Row, re.Path, c.path, c.msg)
			}
		})
	}
}

// TestPathOnlyDeadLetter: in a job with on_error: dead_letter, path-only
// rows whose file is missing are set aside with an error naming the row
// and the path, and every other row reaches the sink in order.
func TestPathOnlyDeadLetter(t *testing.T) {
	mem := stagetest.Mem(t)
	job := t.TempDir()
	img := readTestdata(t, "rgb.png")
	writeFile(t, filepath.Join(job, "imgs", "ok.png"), img)
	gone := filepath.Join(t.TempDir(), "gone.png")
	tbl := structBatch(mem, [][]byte{img, nil, nil, img, nil, nil},
		[]string{"in0.png", "imgs/ok.png", "imgs/missing.png", "in3.png", gone, "imgs/ok.png"})
	defer tbl.Release()
	writeParquet(t, filepath.Join(job, "images.parquet"), tbl)
	text := `version: 1
name: path-only
stages:
  - id: read
    type: parquet_source
    with: {paths: [images.parquet]}
  - id: pixels
    type: image
    inputs: [read]
    on_error: dead_letter
    dead_letter: bad
    with: {column: image, resize: {mode: exact, width: 4, height: 4}, dtype: uint8}
  - id: write
    type: parquet_sink
    inputs: [pixels]
    with: {path: out}
`
	j, err := pipeline.Load([]byte(text), filepath.Join(job, "job.yaml"), job, pipeline.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.Build(j, pipeline.BuildOptions{Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := rep.Stages[1].RejectedRows; got != 2 {
		t.Errorf("rejected %d rows, want 2", got)
	}
	if got := readStrings(t, filepath.Join(job, "out"), "image", "path"); !slices.Equal(got, []string{"in0.png", "imgs/ok.png", "in3.png", "imgs/ok.png"}) {
		t.Errorf("written rows %v", got)
	}
	errs := readStrings(t, filepath.Join(job, "bad"), pipeline.DeadLetterErrorColumn, "")
	if len(errs) != 2 || !strings.Contains(errs[0], "row 2 (imgs/missing.png)") || !strings.Contains(errs[1], "row 4 ("+gone+")") ||
		!strings.Contains(errs[0], ErrNoFile.Error()) {
		t.Errorf("dead-letter errors %q, want rows 2 and 4 naming their paths", errs)
	}
}

// readStrings reads a string column (a struct's field when field is set)
// of every Parquet file in dir, in file name order.
func readStrings(t *testing.T, dir, column, field string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Parquet files in %s: %v", dir, err)
	}
	var out []string
	for _, f := range files {
		rf, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := pqarrow.ReadTable(context.Background(), rf, nil, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		rf.Close()
		if err != nil {
			t.Fatal(err)
		}
		idx := tbl.Schema().FieldIndices(column)
		if len(idx) != 1 {
			t.Fatalf("%s has no column %q", f, column)
		}
		for _, c := range tbl.Column(idx[0]).Data().Chunks() {
			if field != "" {
				i, ok := c.DataType().(*arrow.StructType).FieldIdx(field)
				if !ok {
					t.Fatalf("%s: column %q has no field %q", f, column, field)
				}
				c = c.(*array.Struct).Field(i)
			}
			s := c.(*array.String)
			for i := range s.Len() {
				out = append(out, s.Value(i))
			}
		}
		tbl.Release()
	}
	return out
}

// failReader fails the test that reads it.
type failReader struct{ t *testing.T }

func (r failReader) Read([]byte) (int, error) {
	r.t.Error("read a file whose size is over the limit")
	return 0, io.EOF
}

// TestReadAllLimit: a file whose size is over max_file_bytes is refused
// without being read, and one whose content runs past it (it grew after
// its size was taken) is refused after limit+1 bytes.
func TestReadAllLimit(t *testing.T) {
	f := imageFiles{limit: 10}
	cases := []struct {
		name     string
		r        io.Reader
		size     int64
		want     string // "" for success
		wantSize int64
	}{
		{"fits", strings.NewReader("0123456789"), 10, "", 0},
		{"size over", failReader{t}, 11, "x.png has 11 bytes or more (max_file_bytes 10)", 11},
		{"grew", strings.NewReader(strings.Repeat("z", 1000)), 3, "x.png has 11 bytes or more", 11},
		{"read error", iotest.ErrReader(errors.New("disk on fire")), 3, "disk on fire", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := f.readAll(c.r, "x.png", c.size)
			if c.want == "" {
				if err != nil || string(b) != "0123456789" {
					t.Fatalf("got %q, %v", b, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want an error naming %q", err, c.want)
			}
			var se *FileSizeError
			if c.wantSize > 0 && (!errors.As(err, &se) || se.Size != c.wantSize || !errors.Is(err, ErrFileTooLarge)) {
				t.Errorf("got %#v, want a FileSizeError of %d bytes", err, c.wantSize)
			}
			if c.wantSize == 0 && !errors.Is(err, ErrNoFile) {
				t.Errorf("got %v, want ErrNoFile", err)
			}
		})
	}
}
