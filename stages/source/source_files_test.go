package source

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// fileRow is one row of a files_source batch, copied out of it.
type fileRow struct {
	path     string
	size     int64
	modified int64
	bytes    []byte
}

// fileRows copies the rows of files_source batches (the test allocator
// poisons released buffers, so nothing may point into them).
func fileRows(t *testing.T, recs []arrow.RecordBatch) []fileRow {
	t.Helper()
	var out []fileRow
	for _, r := range recs {
		if !r.Schema().Equal(FilesSchema) {
			t.Fatalf("batch schema %v, want %v", r.Schema(), FilesSchema)
		}
		p, s := r.Column(0).(*array.String), r.Column(1).(*array.Int64)
		m, b := r.Column(2).(*array.Timestamp), r.Column(3).(*array.Binary)
		for i := range int(r.NumRows()) {
			out = append(out, fileRow{path: strings.Clone(p.Value(i)), size: s.Value(i),
				modified: int64(m.Value(i)), bytes: bytes.Clone(b.Value(i))})
		}
	}
	return out
}

// filePaths is the path column of rows.
func filePaths(rows []fileRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.path
	}
	return out
}

// writeTree writes each named file under dir with content of its name.
func writeTree(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, n)
	}
}

// readFiles builds a files_source from with (relative to dir) and reads it
// whole.
func readFiles(t *testing.T, mem memory.Allocator, with, dir string) ([]arrow.RecordBatch, error) {
	t.Helper()
	src, err := build(t, mem, "files_source", with, dir)
	if err != nil {
		return nil, err
	}
	return drainRecs(t, src)
}

func TestFilesSourceListing(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeTree(t, dir, "imgs/b.jpg", "imgs/a.PNG", "imgs/c.txt", "imgs/sub/d.jpg", "imgs/.hidden.jpg",
		"imgs/_tmp/e.jpg", "other/z.jpg", "other/y.jpeg")
	outside := filepath.Join(t.TempDir(), "far.jpg")
	writeFile(t, outside, "far.jpg")
	tests := []struct {
		name, with string
		want       []string
		err        string
	}{
		{"folder", `{paths: [imgs]}`, []string{"imgs/a.PNG", "imgs/b.jpg", "imgs/c.txt", "imgs/sub/d.jpg"}, ""},
		{"folder with extensions", `{paths: [imgs], extensions: [.jpg, png]}`, []string{"imgs/a.PNG", "imgs/b.jpg", "imgs/sub/d.jpg"}, ""},
		{"glob sorted", `{paths: ["other/*"]}`, []string{"other/y.jpeg", "other/z.jpg"}, ""},
		{"glob with extensions", `{paths: ["other/*"], extensions: [.JPG]}`, []string{"other/z.jpg"}, ""},
		{"order written", `{paths: [other/z.jpg, "imgs/*.jpg", imgs/a.PNG]}`, []string{"other/z.jpg", "imgs/b.jpg", "imgs/a.PNG"}, ""},
		{"glob into folders", `{paths: ["imgs/*"]}`, []string{"imgs/_tmp/e.jpg", "imgs/a.PNG", "imgs/b.jpg", "imgs/c.txt", "imgs/sub/d.jpg"}, ""},
		{"listed once", `{paths: [imgs/b.jpg, "imgs/*.jpg", imgs]}`, []string{"imgs/b.jpg", "imgs/a.PNG", "imgs/c.txt", "imgs/sub/d.jpg"}, ""},
		{"outside the job folder", fmt.Sprintf(`{paths: [%q]}`, outside), []string{outside}, ""},
		{"folder without the extensions", `{paths: [other], extensions: [.png]}`, nil, `"` + filepath.Join(dir, "other") + `" matches no file`},
		{"glob without the extensions", `{paths: ["other/*"], extensions: [.png, .gif]}`, nil, `/other/*" has no file ending with .png, .gif|matches no file`},
		{"no match", `{paths: ["nope/*.jpg"]}`, nil, "nope/*.jpg|matches no file"},
		{"missing", `{paths: [nope.jpg]}`, nil, "nope.jpg|no such file"},
		{"empty extension", `{paths: [imgs], extensions: [""]}`, nil, "extensions: empty extension"},
		{"bad batch_rows", `{paths: [imgs], batch_rows: 0}`, nil, "batch_rows must be at least 1"},
		{"bad batch_bytes", `{paths: [imgs], batch_bytes: 2GiB}`, nil, "batch_bytes must be from 1 to 1GiB"},
		{"bad max_file_bytes", `{paths: [imgs], max_file_bytes: 2GiB}`, nil, "max_file_bytes must be from 1 to 1GiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := readFiles(t, mem, tt.with, dir)
			wantErr(t, err, tt.err)
			if err != nil {
				return
			}
			got := fileRows(t, recs)
			if !slices.Equal(filePaths(got), tt.want) {
				t.Errorf("paths %q, want %q", filePaths(got), tt.want)
			}
			for _, r := range got {
				if want := filepath.Base(r.path); !strings.HasSuffix(string(r.bytes), want) {
					t.Errorf("%s holds %q", r.path, r.bytes)
				}
			}
		})
	}
}

// TestFilesSourceContent: each row holds its file's bytes, size and
// modification time, for empty, small and larger files.
func TestFilesSourceContent(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 1000, 3 << 20, 70000, 7}
	want := map[string][]byte{}
	mod := time.Date(2024, 5, 6, 7, 8, 9, 123456789, time.UTC)
	for i, n := range sizes {
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.Uint32())
		}
		name := fmt.Sprintf("f/%02d.bin", i)
		want[name] = b
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, mod, mod.Add(time.Duration(i)*time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	recs, err := readFiles(t, mem, `{paths: [f], batch_bytes: 1MiB}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := fileRows(t, recs)
	if len(got) != len(sizes) {
		t.Fatalf("%d rows, want %d", len(got), len(sizes))
	}
	for i, r := range got {
		if !bytes.Equal(r.bytes, want[r.path]) {
			t.Errorf("%s: %d bytes differ from the file's %d", r.path, len(r.bytes), len(want[r.path]))
		}
		if r.size != int64(len(want[r.path])) {
			t.Errorf("%s: size %d, want %d", r.path, r.size, len(want[r.path]))
		}
		if wm := mod.Add(time.Duration(i) * time.Hour).UnixMicro(); r.modified != wm {
			t.Errorf("%s: modified %d, want %d", r.path, r.modified, wm)
		}
	}
}

// TestFilesSourceBatches: batches hold at most batch_rows files and at most
// batch_bytes (files' bytes, paths and fixed columns), a file larger than
// batch_bytes alone.
func TestFilesSourceBatches(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	var names []string
	for i := range 10 {
		names = append(names, fmt.Sprintf("f/%d.bin", i))
	}
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, bytes.Repeat([]byte{'x'}, 100), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// One row costs 100 bytes + 7 of path + 24 of offsets and numbers.
	const row = 100 + 7 + 24
	tests := []struct {
		name, with string
		want       []int
	}{
		{"batch_rows", `{paths: [f], batch_rows: 3}`, []int{3, 3, 3, 1}},
		{"batch_bytes", fmt.Sprintf(`{paths: [f], batch_bytes: %d}`, 3*row-1), []int{2, 2, 2, 2, 2}},
		{"batch_bytes exact", fmt.Sprintf(`{paths: [f], batch_bytes: %d}`, 3*row), []int{3, 3, 3, 1}},
		{"both", fmt.Sprintf(`{paths: [f], batch_bytes: %d, batch_rows: 4}`, 5*row), []int{4, 4, 2}},
		{"files larger than batch_bytes", `{paths: [f], batch_bytes: 50}`, []int{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}},
		{"defaults", `{paths: [f]}`, []int{10}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			recs, err := readFiles(t, mem, tt.with, dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, r := range recs {
				got = append(got, int(r.NumRows()))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("batches of %v rows, want %v", got, tt.want)
			}
			if p := filePaths(fileRows(t, recs)); !slices.Equal(p, names) {
				t.Errorf("paths %v, want %v", p, names)
			}
		})
	}
}

// TestFilesSourceUnits: units are runs of unitRows files keyed by their
// first and last file; shards read the files of their units, and two
// shards read disjoint files whose union is all.
func TestFilesSourceUnits(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	var all []string
	for i := range 7 {
		all = append(all, fmt.Sprintf("imgs/%d.jpg", i))
	}
	writeTree(t, dir, all...)
	src, err := build(t, mem, "files_source", `{paths: [imgs]}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	sh := src.(stages.Sharder)
	units := sh.Units(3)
	var keys []string
	for _, u := range units {
		keys = append(keys, fmt.Sprintf("%s:%d", u.Key, u.Rows))
	}
	if want := []string{"imgs/0.jpg..imgs/2.jpg:3", "imgs/3.jpg..imgs/5.jpg:3", "imgs/6.jpg:1"}; !slices.Equal(keys, want) {
		t.Errorf("units %v, want %v", keys, want)
	}
	if n := len(sh.Units(0)); n != 7 {
		t.Errorf("%d units of unitRows 0, want one per file", n)
	}
	if n := len(sh.Units(1 << 40)); n != 1 {
		t.Errorf("%d units of unitRows 2^40, want 1", n)
	}
	read := func(units ...int) []string {
		t.Helper()
		s, err := sh.Shard(3, units)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		recs, err := drainRecs(t, s)
		if err != nil {
			t.Fatal(err)
		}
		return filePaths(fileRows(t, recs))
	}
	if got, want := read(2, 0), []string{"imgs/6.jpg", "imgs/0.jpg", "imgs/1.jpg", "imgs/2.jpg"}; !slices.Equal(got, want) {
		t.Errorf("shard [2 0] read %v, want %v", got, want)
	}
	a, b := read(0, 2), read(1)
	union := append(slices.Clone(a), b...)
	slices.Sort(union)
	if !slices.Equal(union, all) {
		t.Errorf("shards read %v and %v: union %v, want %v", a, b, union, all)
	}
	for _, bad := range [][]int{{3}, {-1}, {1, 1}} {
		if _, err := sh.Shard(3, bad); !errors.Is(err, ErrUnit) {
			t.Errorf("Shard(3, %v): %v, want ErrUnit", bad, err)
		}
	}
}

// fileRejects records what a source sets aside (on_error): the file each
// rejected row names, and the error.
type fileRejects struct {
	mu    sync.Mutex
	files []string
	errs  []error
}

func (r *fileRejects) Reject(_ context.Context, rec arrow.RecordBatch, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !rec.Schema().Equal(stages.RawRowSchema) || rec.NumRows() != 1 {
		return fmt.Errorf("rejected %d rows of %s", rec.NumRows(), rec.Schema())
	}
	r.files = append(r.files, strings.Clone(rec.Column(0).(*array.String).Value(0)))
	r.errs = append(r.errs, err)
	return nil
}

// TestFilesSourceBadFiles: a file over max_file_bytes, one removed after
// listing and one replaced by a folder are errors naming the file (and the
// sizes), or, with a Rejecter (on_error skip or dead_letter), set aside
// while the others are read.
func TestFilesSourceBadFiles(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, path string) // breaks f/b.bin after listing
		err   string
		is    error
	}{
		{"too large", func(t *testing.T, p string) {}, "b.bin|100 bytes, more than 50|max_file_bytes", ErrLimit},
		{"removed", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
		}, "b.bin|no such file", os.ErrNotExist},
		{"replaced by a folder", func(t *testing.T, p string) {
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			if err := os.Mkdir(p, 0o755); err != nil {
				t.Fatal(err)
			}
		}, "b.bin|not a regular file", ErrNotRegular},
	}
	for _, tt := range tests {
		for _, rejecting := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/reject=%v", tt.name, rejecting), func(t *testing.T) {
				mem := stagetest.Mem(t)
				dir := t.TempDir()
				writeFile(t, filepath.Join(dir, "a.bin"), "small a")
				writeFile(t, filepath.Join(dir, "b.bin"), strings.Repeat("b", 100))
				writeFile(t, filepath.Join(dir, "c.bin"), "small c")
				env := &stages.Env{ID: "read", Mem: mem, Log: slog.New(slog.DiscardHandler), JobDir: dir}
				rej := &fileRejects{}
				if rejecting {
					env.Reject = rej
				}
				max := "1KiB"
				if tt.is == ErrLimit {
					max = "50"
				}
				s, err := stagetest.BuildEnv(t, nil, "files_source", `{paths: ["*.bin"], max_file_bytes: `+max+`}`, env)
				if err != nil {
					t.Fatal(err)
				}
				tt.setup(t, filepath.Join(dir, "b.bin"))
				recs, err := drainRecs(t, s.(stages.Source))
				if !rejecting {
					wantErr(t, err, tt.err)
					var fe *FileError
					if !errors.As(err, &fe) || fe.Path != filepath.Join(dir, "b.bin") || !errors.Is(err, tt.is) {
						t.Errorf("error %v: want a *FileError about b.bin wrapping %v", err, tt.is)
					}
					if _, again := s.(stages.Source).Next(context.Background()); again != err {
						t.Errorf("Next after the error: %v, want %v", again, err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got := filePaths(fileRows(t, recs)); !slices.Equal(got, []string{"a.bin", "c.bin"}) {
					t.Errorf("read %v, want a.bin and c.bin", got)
				}
				if len(rej.errs) != 1 || rej.files[0] != filepath.Join(dir, "b.bin") || !errors.Is(rej.errs[0], tt.is) {
					t.Fatalf("set aside %v with %v, want b.bin with %v", rej.files, rej.errs, tt.is)
				}
				wantErr(t, rej.errs[0], tt.err)
			})
		}
	}
}

// TestFilesSourceShardRejects: a shard takes its Rejecter from
// SetRejecter, as the runtime hands it one per work unit.
func TestFilesSourceShardRejects(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.bin"), strings.Repeat("a", 100))
	writeFile(t, filepath.Join(dir, "b.bin"), "b")
	src, err := build(t, mem, "files_source", `{paths: [.], max_file_bytes: 10}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := src.(stages.Sharder).Shard(1, []int{0, 1})
	if err != nil {
		t.Fatal(err)
	}
	defer sh.Close()
	rej := &fileRejects{}
	sh.(stages.RejecterTaker).SetRejecter(rej)
	recs, err := drainRecs(t, sh)
	if err != nil {
		t.Fatal(err)
	}
	if got := filePaths(fileRows(t, recs)); !slices.Equal(got, []string{"b.bin"}) || len(rej.files) != 1 {
		t.Errorf("read %v, set aside %v; want b.bin read, a.bin set aside", got, rej.files)
	}
}

// TestFilesSourceCancelled: Next returns the context's error.
func TestFilesSourceCancelled(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.bin"), "a")
	src, err := build(t, mem, "files_source", `{paths: [a.bin]}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if rec, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
		if rec != nil {
			rec.Release()
		}
		t.Fatalf("Next: %v, want context.Canceled", err)
	}
	rec, err := src.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	rec.Release()
	if _, err := src.Next(context.Background()); err != io.EOF {
		t.Fatalf("Next at the end: %v, want io.EOF", err)
	}
}

// TestParquetImageColumns: image bytes already in a table, as a binary
// column or in the Hugging Face datasets layout struct<bytes: binary,
// path: string> (with a null path and a null image), are read by
// parquet_source with their types and values unchanged.
func TestParquetImageColumns(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	imgs := [][]byte{{0x89, 'P', 'N', 'G', 0, 1, 2}, {}, bytes.Repeat([]byte{0xff, 0xd8, 0}, 5000)}
	image := arrow.StructOf(
		arrow.Field{Name: "bytes", Type: arrow.BinaryTypes.Binary, Nullable: true},
		arrow.Field{Name: "path", Type: arrow.BinaryTypes.String, Nullable: true})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "raw", Type: arrow.BinaryTypes.Binary, Nullable: true},
		{Name: "image", Type: image, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	raw, st := b.Field(0).(*array.BinaryBuilder), b.Field(1).(*array.StructBuilder)
	sb, sp := st.FieldBuilder(0).(*array.BinaryBuilder), st.FieldBuilder(1).(*array.StringBuilder)
	for i, img := range imgs {
		raw.Append(img)
		st.Append(true)
		sb.Append(img)
		if i == 1 {
			sp.AppendNull()
		} else {
			sp.Append(fmt.Sprintf("img%d.png", i))
		}
	}
	raw.AppendNull()
	st.AppendNull()
	rec := b.NewRecordBatch()
	b.Release()
	defer rec.Release()
	writeParquet(t, filepath.Join(dir, "images.parquet"), []arrow.RecordBatch{rec}, 2)

	src, err := build(t, mem, "parquet_source", `{paths: [images.parquet]}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range src.Schema().Fields() {
		if !arrow.TypeEqual(f.Type, schema.Field(i).Type) || f.Name != schema.Field(i).Name {
			t.Errorf("column %d is %s %s, want %s %s", i, f.Name, f.Type, schema.Field(i).Name, schema.Field(i).Type)
		}
	}
	recs, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if stagetest.Rows(recs) != rec.NumRows() {
		t.Fatalf("read %d rows, want %d", stagetest.Rows(recs), rec.NumRows())
	}
	for c := range 2 {
		var row int64
		for _, r := range recs {
			want := array.NewSlice(rec.Column(c), row, row+r.NumRows())
			if !array.Equal(r.Column(c), want) {
				t.Errorf("column %s rows %d+: %v, want %v", schema.Field(c).Name, row, r.Column(c), want)
			}
			want.Release()
			row += r.NumRows()
		}
	}
}

// TestFilesSourceSpec: the registration documents every key and its
// example builds.
func TestFilesSourceSpec(t *testing.T) {
	e, err := stages.Default().Lookup("files_source")
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != stages.KindSource || !e.RejectsRows || len(e.Spec.Fields) != 5 || !strings.Contains(e.Spec.Example, "type: files_source") {
		t.Fatalf("incomplete registration: %+v", e)
	}
	dir := t.TempDir()
	writeTree(t, dir, "photos/a.jpg", "photos/b.png", "photos/c.txt")
	var ex []map[string]any
	if err := yaml.Unmarshal([]byte(e.Spec.Example), &ex); err != nil || len(ex) != 1 {
		t.Fatalf("example: %v", err)
	}
	with, err := yaml.Marshal(ex[0]["with"])
	if err != nil {
		t.Fatal(err)
	}
	recs, err := readFiles(t, stagetest.Mem(t), string(with), dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := filePaths(fileRows(t, recs)); !slices.Equal(got, []string{"photos/a.jpg", "photos/b.png"}) {
		t.Errorf("example read %v", got)
	}
}
