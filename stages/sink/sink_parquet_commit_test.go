package sink

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestParquetAbort(t *testing.T) {
	for _, how := range []string{"abort", "close"} {
		t.Run(how, func(t *testing.T) {
			mem := stagetest.Mem(t)
			s := mustBuild(t, mem, `{path: out, max_rows_per_file: 1000}`)
			other := filepath.Join(s.OutputDir(), "keep.txt")
			recs := cutBatches(mem, 2500, 900)
			defer stagetest.Release(recs)
			for _, r := range recs {
				if err := s.Write(context.Background(), r); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(other, []byte("earlier"), 0o644); err != nil {
				t.Fatal(err)
			}
			if len(parts(t, s.OutputDir())) != 2 {
				t.Fatalf("setup: want 2 complete files before %s", how)
			}
			var err error
			if how == "abort" {
				err = s.Abort()
			} else {
				err = s.Close()
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := parts(t, s.OutputDir()); len(got) != 0 {
				t.Errorf("after %s: final files %v remain", how, got)
			}
			if _, err := os.Stat(filepath.Join(s.OutputDir(), StagingDir)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("after %s: staging folder remains (%v)", how, err)
			}
			if b, err := os.ReadFile(other); err != nil || string(b) != "earlier" {
				t.Errorf("after %s: unrelated file changed: %q %v", how, b, err)
			}
			if err := s.Commit(context.Background()); err == nil {
				t.Errorf("commit after %s succeeded", how)
			}
			if err := s.Close(); err != nil {
				t.Errorf("second close: %v", err)
			}
		})
	}
}

// writeOld writes n old part files into dir and returns their hashes.
func writeOld(t *testing.T, mem memory.Allocator, dir string, files int) []string {
	t.Helper()
	conf := DefaultParquetConfig()
	conf.Path, conf.MaxRowsPerFile, conf.skipSync = stages.Path(dir), 100, true
	s, err := NewParquet(conf, &stages.Env{ID: "old", Inputs: []*arrow.Schema{benchSchema()}, Mem: mem})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recs := benchBatches(mem, 50_000, int64(files)*100, 100)
	defer stagetest.Release(recs)
	writeAll(t, s, recs)
	return fileHashes(t, dir)
}

func TestParquetOverwrite(t *testing.T) {
	ctx := context.Background()
	t.Run("refused without overwrite", func(t *testing.T) {
		mem := stagetest.Mem(t)
		dir := t.TempDir()
		writeOld(t, mem, filepath.Join(dir, "out"), 2)
		_, err := stagetest.Build(t, nil, mem, ParquetSinkType, `{path: out}`, dir, benchSchema())
		if !errors.Is(err, ErrOutputExists) || !strings.Contains(err.Error(), filepath.Join(dir, "out")) {
			t.Fatalf("error %v, want ErrOutputExists naming the folder", err)
		}
	})
	t.Run("commit replaces", func(t *testing.T) {
		mem := stagetest.Mem(t)
		dir := t.TempDir()
		old := writeOld(t, mem, filepath.Join(dir, "out"), 3)
		sk, err := buildIn(t, mem, `{path: out, overwrite: true, max_rows_per_file: 1000}`, dir)
		if err != nil {
			t.Fatal(err)
		}
		recs := cutBatches(mem, 1500, 600)
		defer stagetest.Release(recs)
		for _, r := range recs {
			if err := sk.Write(ctx, r); err != nil {
				t.Fatal(err)
			}
		}
		if got := fileHashes(t, sk.OutputDir()); !slices.Equal(got, old) {
			t.Fatalf("old output changed before commit: %v, want %v", got, old)
		}
		if err := sk.Commit(ctx); err != nil {
			t.Fatal(err)
		}
		names := parts(t, sk.OutputDir())
		if !slices.Equal(names, []string{"part-00000.parquet", "part-00001.parquet"}) {
			t.Fatalf("after commit: %v, want the 2 new files only", names)
		}
		for i, want := range []int64{1000, 500} {
			f := readBack(t, mem, filepath.Join(sk.OutputDir(), names[i]))
			checkRows(t, mem, f, int64(i)*1000, want)
			f.release()
		}
	})
	t.Run("failed run keeps old output", func(t *testing.T) {
		mem := stagetest.Mem(t)
		dir := t.TempDir()
		old := writeOld(t, mem, filepath.Join(dir, "out"), 2)
		sk, err := buildIn(t, mem, `{path: out, overwrite: true, max_rows_per_file: 100}`, dir)
		if err != nil {
			t.Fatal(err)
		}
		recs := cutBatches(mem, 450, 450)
		defer stagetest.Release(recs)
		if err := sk.Write(ctx, recs[0]); err != nil {
			t.Fatal(err)
		}
		if err := sk.Abort(); err != nil {
			t.Fatal(err)
		}
		if got := fileHashes(t, sk.OutputDir()); !slices.Equal(got, old) {
			t.Fatalf("after abort: %v, want the old files %v", got, old)
		}
		if _, err := os.Stat(filepath.Join(sk.OutputDir(), StagingDir)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("staging folder remains (%v)", err)
		}
	})
}

func TestParquetWriteErrors(t *testing.T) {
	ctx := context.Background()
	t.Run("schema mismatch", func(t *testing.T) {
		mem := stagetest.Mem(t)
		s := mustBuild(t, mem, `{path: out}`)
		b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil))
		b.Field(0).(*array.Int64Builder).Append(1)
		rec := b.NewRecordBatch()
		b.Release()
		defer rec.Release()
		if err := s.Write(ctx, rec); err == nil || !strings.Contains(err.Error(), "schema differs") {
			t.Fatalf("error %v, want a schema mismatch", err)
		}
	})
	t.Run("error names the file", func(t *testing.T) {
		mem := stagetest.Mem(t)
		s := mustBuild(t, mem, `{path: out}`)
		recs := cutBatches(mem, 10, 10)
		defer stagetest.Release(recs)
		if err := s.Write(ctx, recs[0]); err != nil {
			t.Fatal(err)
		}
		if err := os.RemoveAll(filepath.Join(s.OutputDir(), StagingDir)); err != nil {
			t.Fatal(err)
		}
		err := s.Commit(ctx)
		var fe *FileError
		if !errors.As(err, &fe) || fe.Path != filepath.Join(s.OutputDir(), "part-00000.parquet") {
			t.Fatalf("error %v, want a FileError naming part-00000.parquet", err)
		}
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("error %v does not unwrap to its cause", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		mem := stagetest.Mem(t)
		s := mustBuild(t, mem, `{path: out}`)
		recs := cutBatches(mem, 10, 10)
		defer stagetest.Release(recs)
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := s.Write(cctx, recs[0]); !errors.Is(err, context.Canceled) {
			t.Fatalf("error %v, want context.Canceled", err)
		}
	})
}
