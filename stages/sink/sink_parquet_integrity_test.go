package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// listBatch builds n rows {id int64, v fixed_size_list<float32>[3]} with
// v = [3id, 3id+1, 3id+2].
func listBatch(mem memory.Allocator, n int64) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "v", Type: arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32)},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	ids := b.Field(0).(*array.Int64Builder)
	lb := b.Field(1).(*array.FixedSizeListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for i := range n {
		ids.Append(i)
		lb.Append(true)
		for j := range int64(3) {
			vb.Append(float32(3*i + j))
		}
	}
	return b.NewRecordBatch()
}

// TestParquetSlicedLists writes fixed_size_list columns from slices at
// non-zero offsets (arrow-go's writer alone writes the wrong rows then) and
// checks the values read back and the bytes against an unsliced write.
func TestParquetSlicedLists(t *testing.T) {
	mem := stagetest.Mem(t)
	all := listBatch(mem, 50)
	defer all.Release()
	var hashes [][]string
	for _, size := range []int64{50, 7, 1, 13} {
		dir := t.TempDir()
		s, err := stagetest.Build(t, nil, mem, ParquetSinkType, `{path: out, row_group_rows: 5, max_rows_per_file: 23}`, dir, all.Schema())
		if err != nil {
			t.Fatal(err)
		}
		sk := s.(*ParquetSink)
		for off := int64(0); off < 50; off += size {
			part := all.NewSlice(off, min(off+size, 50))
			err := sk.Write(context.Background(), part)
			part.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		if err := sk.Commit(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := sk.Close(); err != nil {
			t.Fatal(err)
		}
		first := int64(0)
		for _, name := range parts(t, sk.OutputDir()) {
			f := readBack(t, mem, filepath.Join(sk.OutputDir(), name))
			want := all.NewSlice(first, first+f.rows)
			for i, c := range f.cols {
				if !array.Equal(c, want.Column(i)) {
					t.Errorf("batches of %d: %s column %s differs from the rows written (rows %d..%d)", size, name, want.ColumnName(i), first, first+f.rows-1)
				}
			}
			want.Release()
			first += f.rows
			f.release()
		}
		if first != 50 {
			t.Errorf("batches of %d: read %d rows, want 50", size, first)
		}
		hashes = append(hashes, fileHashes(t, sk.OutputDir()))
	}
	for i, h := range hashes[1:] {
		if !slices.Equal(h, hashes[0]) {
			t.Errorf("combination %d: files differ from the unsliced write", i+1)
		}
	}
}

func touch(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

func present(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

// TestParquetExistingOutput covers what the sink does with each state an
// output folder can be in when a run starts.
func TestParquetExistingOutput(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		mark      func(t *testing.T, out string) // adds markers beside the old part files
		overwrite bool
		// envOverwrite: the runtime's Env.Overwrite (pipe run --overwrite)
		envOverwrite bool
		buildErr     bool // ErrOutputExists at build
		writeErr     bool // ErrOutputExists at the first write
		replaces     bool
	}{
		{name: "foreign part files", mark: func(*testing.T, string) {}, buildErr: true},
		{name: "crashed run (staging folder)", mark: func(t *testing.T, out string) {
			if err := os.Mkdir(filepath.Join(out, StagingDir), 0o755); err != nil {
				t.Fatal(err)
			}
			touch(t, filepath.Join(out, StagingDir, "part-00009.parquet.inprogress"))
		}},
		{name: "crashed run (manifest)", mark: func(t *testing.T, out string) {
			touch(t, filepath.Join(out, stages.ManifestFile))
		}},
		{name: "complete output", mark: func(t *testing.T, out string) {
			touch(t, filepath.Join(out, stages.SuccessFile))
		}, writeErr: true},
		{name: "complete output, overwrite", mark: func(t *testing.T, out string) {
			touch(t, filepath.Join(out, stages.SuccessFile))
		}, overwrite: true, replaces: true},
		{name: "complete output, run with --overwrite", mark: func(t *testing.T, out string) {
			touch(t, filepath.Join(out, stages.SuccessFile))
		}, envOverwrite: true, replaces: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			dir := t.TempDir()
			out := filepath.Join(dir, "out")
			writeOld(t, mem, out, 3)
			tc.mark(t, out)
			conf := DefaultParquetConfig()
			conf.Path, conf.MaxRowsPerFile, conf.Overwrite = stages.Path(out), 100, tc.overwrite
			sk, err := NewParquet(conf, &stages.Env{ID: "write", Inputs: []*arrow.Schema{benchSchema()}, Mem: mem, Overwrite: tc.envOverwrite})
			if tc.buildErr {
				if !errors.Is(err, ErrOutputExists) {
					t.Fatalf("build error %v, want ErrOutputExists", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer sk.Close()
			if sk.ReplacesOutput() != tc.replaces {
				t.Errorf("ReplacesOutput() = %v, want %v", sk.ReplacesOutput(), tc.replaces)
			}
			recs := cutBatches(mem, 150, 150)
			defer stagetest.Release(recs)
			err = sk.Write(ctx, recs[0])
			if tc.writeErr {
				if !errors.Is(err, ErrOutputExists) {
					t.Fatalf("write error %v, want ErrOutputExists", err)
				}
				if !present(filepath.Join(out, stages.SuccessFile)) {
					t.Error("the refused run removed _SUCCESS")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if present(filepath.Join(out, stages.SuccessFile)) {
				t.Error("_SUCCESS still present once the run began to write")
			}
			if err := sk.Commit(ctx); err != nil {
				t.Fatal(err)
			}
			if got := parts(t, out); !slices.Equal(got, []string{"part-00000.parquet", "part-00001.parquet"}) {
				t.Errorf("after commit: %v, want the 2 new files", got)
			}
			files := sk.OutputFiles()
			if len(files) != 2 || files[0].Rows != 100 || files[1].Rows != 50 || files[1].Path != filepath.Join(out, "part-00001.parquet") {
				t.Errorf("OutputFiles() = %+v, want 100 and 50 rows under the final names", files)
			}
			for _, f := range files {
				checkDigest(t, f)
			}
			if !present(filepath.Join(out, StagingDir)) {
				t.Error("staging folder gone before Close")
			}
			if err := sk.Close(); err != nil {
				t.Fatal(err)
			}
			if present(filepath.Join(out, StagingDir)) {
				t.Error("staging folder left after Close")
			}
		})
	}
}

// TestParquetAbortKeepsComplete checks that a failed run over complete
// output leaves it complete: old files intact and _SUCCESS written back.
func TestParquetAbortKeepsComplete(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	old := writeOld(t, mem, out, 2)
	touch(t, filepath.Join(out, stages.SuccessFile))
	s, err := buildIn(t, mem, `{path: out, max_rows_per_file: 100, overwrite: true}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := cutBatches(mem, 250, 250)
	defer stagetest.Release(recs)
	if err := s.Write(context.Background(), recs[0]); err != nil {
		t.Fatal(err)
	}
	if present(filepath.Join(out, stages.SuccessFile)) {
		t.Fatal("_SUCCESS present while the run writes")
	}
	if err := s.Abort(); err != nil {
		t.Fatal(err)
	}
	if !present(filepath.Join(out, stages.SuccessFile)) {
		t.Error("_SUCCESS not restored after an abort that left the old output intact")
	}
	if got := fileHashes(t, out); !slices.Equal(got, old) {
		t.Errorf("old output changed: %v, want %v", got, old)
	}
	if present(filepath.Join(out, StagingDir)) {
		t.Error("staging folder left")
	}
}

// TestParquetSymlinkedPart checks that a part file name that is a symlink
// leading out of the output folder is replaced, not written through.
func TestParquetSymlinkedPart(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	outside := filepath.Join(dir, "outside.txt")
	if err := os.WriteFile(outside, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(out, "part-00000.parquet")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(dir, filepath.Join(out, StagingDir)); err != nil {
		t.Fatal(err)
	}
	s, err := buildIn(t, mem, `{path: out, overwrite: true}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	recs := cutBatches(mem, 10, 10)
	defer stagetest.Release(recs)
	writeAll(t, s, recs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(outside); err != nil || string(b) != "precious" {
		t.Errorf("file outside the output folder changed: %q, %v", b, err)
	}
	fi, err := os.Lstat(filepath.Join(out, "part-00000.parquet"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("part-00000.parquet is not a regular file: %v %v", fi, err)
	}
	f := readBack(t, mem, filepath.Join(out, "part-00000.parquet"))
	checkRows(t, mem, f, 0, 10)
	f.release()
}

// checkDigest fails unless f's size and SHA-256, which the sink computed
// while writing, are those of the file on disk.
func checkDigest(t *testing.T, f stages.OutputFile) {
	t.Helper()
	data, err := os.ReadFile(f.Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if f.Bytes != int64(len(data)) || f.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("%s: sink reports %d bytes, sha256 %q; the file has %d bytes, sha256 %x", f.Path, f.Bytes, f.SHA256, len(data), sum)
	}
}
