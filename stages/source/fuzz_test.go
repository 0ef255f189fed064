package source

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// The fuzz targets check one property: whatever the bytes, a source returns
// rows or an error naming the file, and never panics. Seeds live in
// testdata/fuzz/<target>/; the Parquet and Arrow IPC targets, in
// fuzz_columnar_test.go, also take small files of the compatibility corpus
// (testdata/corpus at the repository root) and files written in the test.

// fuzzRead builds a source over data written to a file named name and
// drains it, checking the property. leakCheck also asserts that no Arrow
// byte is left allocated.
func fuzzRead(t *testing.T, name string, data []byte, leakCheck bool, build func(path string, mem memory.Allocator) (stages.Source, error)) {
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	readOnce(t, name, path, leakCheck, nil, build)
	// Sources that can set undecodable rows aside read the same input
	// again with a Rejecter (on_error), whose own checks run on each row.
	readOnce(t, name, path, leakCheck, &fuzzRejecter{t: t}, build)
}

// fuzzRejecter checks every record a source sets aside.
type fuzzRejecter struct {
	t    *testing.T
	rows int
}

func (r *fuzzRejecter) Reject(_ context.Context, rec arrow.RecordBatch, err error) error {
	if !rec.Schema().Equal(stages.RawRowSchema) || rec.NumRows() != 1 || err == nil {
		r.t.Errorf("rejected %d rows of %s with %v", rec.NumRows(), rec.Schema(), err)
	}
	r.rows++
	return nil
}

func readOnce(t *testing.T, name, path string, leakCheck bool, rej *fuzzRejecter, build func(path string, mem memory.Allocator) (stages.Source, error)) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	src, err := build(path, mem)
	if rej != nil && err == nil {
		rt, ok := src.(stages.RejecterTaker)
		if !ok {
			src.Close()
			return
		}
		rt.SetRejecter(rej)
	}
	if err == nil {
		// A malformed file may declare billions of rows of a null column:
		// reading stops after a million.
		for rows := int64(0); rows < 1<<20; {
			var rec interface{ Release() }
			r, e := src.Next(context.Background())
			if e != nil {
				if !errors.Is(e, io.EOF) {
					err = e
				}
				break
			}
			if r.NumRows() < 1 {
				t.Errorf("batch of %d rows", r.NumRows())
			}
			rows += r.NumRows()
			rec = r
			rec.Release()
		}
		src.Close()
	}
	if err != nil && !strings.Contains(err.Error(), name) {
		t.Errorf("error does not name the file: %v", err)
	}
	if leakCheck && mem.CurrentAlloc() != 0 {
		t.Errorf("%d bytes left allocated", mem.CurrentAlloc())
	}
}

// fuzzName is name, with the ending of the compression data starts with.
func fuzzName(name string, data []byte) string {
	switch sniff(data) {
	case compGzip:
		return name + ".gz"
	case compZstd:
		return name + ".zst"
	}
	return name
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"a,b\n1,2\n", "a,b\n1,x\n", "a\n\"unterminated\n", "a,a\n1,2\n", "\uFEFFa;b\n1;2\n", "a,b\n1\n",
		"a,b,c\n1,2.5,true\n,NA,\n2024-01-02,1e400,\"q\"\"x\"\n", "", "\n", "a\n" + strings.Repeat("9", 40) + "\n",
	} {
		f.Add([]byte(s), true, uint8(','))
	}
	f.Add([]byte("1\tx\n2\ty\n"), false, uint8('\t'))
	// Compressed inputs: data that starts like gzip or zstd is written to
	// a file named so, and read through the decompressor.
	f.Add(gz(f, "a,b\n1,2\n3,x\n"), true, uint8(','))
	f.Add(zst(f, "a,b\n1,2\n"), true, uint8(','))
	f.Add(gz(f, "a,b\n1,2\n")[:12], true, uint8(','))
	f.Fuzz(func(t *testing.T, data []byte, header bool, delim uint8) {
		d := string(rune(delim))
		if _, err := parseDelimiter(d); err != nil {
			d = ","
		}
		fuzzRead(t, fuzzName("fuzz.csv", data), data, true, func(path string, mem memory.Allocator) (stages.Source, error) {
			return NewCSV(CSVConfig{Paths: []stages.Path{stages.Path(path)}, Header: header, Delimiter: d, InferRows: 3,
				NullValues: []string{"", "NA"}, BatchRows: 2}, mem)
		})
	})
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		"{000000", `{"a": 1}` + "\n" + `{"a": "x"}`, `{"a": [1, {"b": null}], "c": true}`, "[1]\n", "null\n", `{"a": 1e999}`,
		`{"t": "2024-01-02T03:04:05Z"}` + "\n" + `{"t": "nope"}`, `{"a": 1}{"a": 2}`, "\n\n", `{"a": "\ud800"}`,
		`{"v": [1, 2.5]}` + "\n" + `{"v": [3, -4]}` + "\n" + `{"v": null}` + "\n" + `{"v": [5]}`,
	} {
		f.Add([]byte(s), false)
	}
	f.Add([]byte(`{"a": 1, "b": "x"}`), true)
	f.Add(gz(f, `{"a": 1, "b": "x"}`+"\n"+`{"a": "y"}`), false)
	f.Add(zst(f, `{"a": 1}`), true)
	f.Fuzz(func(t *testing.T, data []byte, explicit bool) {
		c := JSONLConfig{InferRows: 3, BatchRows: 2}
		if explicit {
			c.Schema = []SchemaColumn{{Name: "a", Type: "int64"}, {Name: "b", Type: "string"}, {Name: "t", Type: "timestamp"}, {Name: "v", Type: "vector[2]"}}
		}
		fuzzRead(t, fuzzName("fuzz.jsonl", data), data, true, func(path string, mem memory.Allocator) (stages.Source, error) {
			c.Paths = []stages.Path{stages.Path(path)}
			return NewJSONL(c, mem)
		})
	})
}
