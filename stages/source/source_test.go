package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"go.uber.org/goleak"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// build builds a source stage of type typ from a YAML with block.
func build(t testing.TB, mem memory.Allocator, typ, with, dir string) (stages.Source, error) {
	t.Helper()
	s, err := stagetest.Build(t, nil, mem, typ, with, dir)
	if err != nil {
		return nil, err
	}
	return s.(stages.Source), nil
}

// drain reads src to the end, checking every batch against the source's
// schema and batch_rows, and returns the row count.
func drain(t testing.TB, src stages.Source, maxRows int64) (int64, error) {
	t.Helper()
	recs, err := stagetest.Drain(context.Background(), src)
	defer stagetest.Release(recs)
	for _, r := range recs {
		if r.NumRows() < 1 || (maxRows > 0 && r.NumRows() > maxRows) {
			t.Errorf("batch of %d rows, want 1..%d", r.NumRows(), maxRows)
		}
		if !r.Schema().Equal(src.Schema()) {
			t.Errorf("batch schema %v differs from Schema() %v", r.Schema(), src.Schema())
		}
	}
	return stagetest.Rows(recs), err
}

// genRecords runs a generate stage and returns its batches (caller releases).
func genRecords(t testing.TB, mem memory.Allocator, with string) []arrow.RecordBatch {
	t.Helper()
	src, err := build(t, mem, "generate", with, "")
	if err != nil {
		t.Fatal(err)
	}
	recs, err := stagetest.Drain(context.Background(), src)
	if err != nil {
		stagetest.Release(recs)
		t.Fatal(err)
	}
	return recs
}

// writeParquet writes recs to path with rowGroupRows rows per row group.
func writeParquet(t testing.TB, path string, recs []arrow.RecordBatch, rowGroupRows int64) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := pqarrow.NewFileWriter(recs[0].Schema(), f,
		parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(rowGroupRows)), pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeIPC writes recs to path in the file or stream format.
func writeIPC(t testing.TB, path string, recs []arrow.RecordBatch, file bool, opts ...ipc.Option) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	opts = append(opts, ipc.WithSchema(recs[0].Schema()))
	type writer interface {
		Write(arrow.RecordBatch) error
		Close() error
	}
	var w writer
	if file {
		fw, err := ipc.NewFileWriter(f, opts...)
		if err != nil {
			t.Fatal(err)
		}
		w = fw
	} else {
		w = ipc.NewWriter(f, opts...)
	}
	for _, r := range recs {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// wantErr checks err against want: "" means no error; otherwise err must
// contain every "|"-separated part.
func wantErr(t testing.TB, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", want)
	}
	for _, part := range strings.Split(want, "|") {
		if !strings.Contains(err.Error(), part) {
			t.Fatalf("error %q does not contain %q", err, part)
		}
	}
}

func TestExpandPaths(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.csv", "a.csv", "c.txt", "sub/d.csv", "_SUCCESS", ".hidden.csv", "sub/_tmp/e.csv"} {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, "x\n")
	}
	j := func(names ...string) []string {
		out := make([]string, len(names))
		for i, n := range names {
			out[i] = filepath.Join(dir, n)
		}
		return out
	}
	tests := []struct {
		name  string
		paths []string
		want  []string
		err   error
	}{
		{"glob sorted", []string{"*.csv"}, j("a.csv", "b.csv"), nil},
		{"order written", []string{"b.csv", "a.csv"}, j("b.csv", "a.csv"), nil},
		{"dedupe", []string{"b.csv", "*.csv"}, j("b.csv", "a.csv"), nil},
		{"folder", []string{"."}, j("a.csv", "b.csv", "sub/d.csv"), nil},
		{"no match", []string{"*.parquet"}, nil, ErrNoMatch},
		{"missing file", []string{"nope.csv"}, nil, os.ErrNotExist},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ps []stages.Path
			for _, p := range tt.paths {
				ps = append(ps, stages.Path(filepath.Join(dir, p)))
			}
			got, err := expandPaths(ps, []string{".csv"})
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error %v, want %v", err, tt.err)
				}
				if !strings.Contains(err.Error(), tt.paths[0]) {
					t.Errorf("error %q does not name %q", err, tt.paths[0])
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestSpecs checks every registered source documents itself and builds
// from its example.
func TestSpecs(t *testing.T) {
	for _, name := range []string{"parquet_source", "csv_source", "jsonl_source", "ipc_source", "generate"} {
		t.Run(name, func(t *testing.T) {
			e, err := stages.Default().Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			if e.Kind != stages.KindSource || e.Spec.Summary == "" || e.Spec.Description == "" || !strings.Contains(e.Spec.Example, "type: "+name) {
				t.Errorf("incomplete registration: %+v", e.Spec)
			}
			if len(e.Spec.Fields) == 0 {
				t.Error("no fields")
			}
		})
	}
}

// colValues returns column i of recs as strings, for comparisons.
//
// The strings are copies: a string array's ValueStr shares the array's
// buffer, which the (poisoning) test allocator scribbles over once the
// batch is released.
func colValues(recs []arrow.RecordBatch, i int) []string {
	var out []string
	for _, r := range recs {
		c := r.Column(i)
		for j := range c.Len() {
			out = append(out, strings.Clone(c.ValueStr(j)))
		}
	}
	return out
}

// TestCancelled checks every source returns the context's error when it is
// cancelled before Next.
func TestCancelled(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "a\n1\n")
	writeFile(t, filepath.Join(dir, "a.jsonl"), "{\"a\": 1}\n")
	recs := genRecords(t, mem, `{count: 3, columns: [{name: a, type: int64}]}`)
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 10)
	writeIPC(t, filepath.Join(dir, "a.arrow"), recs, true)
	stagetest.Release(recs)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for typ, with := range map[string]string{
		"csv_source": `{paths: [a.csv]}`, "jsonl_source": `{paths: [a.jsonl]}`, "parquet_source": `{paths: [a.parquet]}`,
		"ipc_source": `{paths: [a.arrow]}`, "generate": `{count: 5, columns: [{name: a, type: bool}]}`,
	} {
		t.Run(typ, func(t *testing.T) {
			src, err := build(t, mem, typ, with, dir)
			if err != nil {
				t.Fatal(err)
			}
			if rec, err := src.Next(ctx); !errors.Is(err, context.Canceled) {
				if rec != nil {
					rec.Release()
				}
				t.Errorf("Next on a cancelled context: %v, want context.Canceled", err)
			}
		})
	}
}
