package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// TestBytesRead: a CSV or JSON-lines source says how many bytes of its
// files it has read, growing as it reads, up to the files' sizes (the
// compressed size for a compressed file), which its units carry.
func TestBytesRead(t *testing.T) {
	dir := t.TempDir()
	var csvText, jsonText strings.Builder
	csvText.WriteString("id,name\n")
	for i := range 20000 {
		fmt.Fprintf(&csvText, "%d,name-%d\n", i, i)
		fmt.Fprintf(&jsonText, "{\"id\": %d, \"name\": \"name-%d\"}\n", i, i)
	}
	files := map[string][]byte{
		"a.csv": []byte(csvText.String()), "b.csv.gz": gz(t, csvText.String()),
		"a.jsonl": []byte(jsonText.String()), "b.jsonl.zst": zst(t, jsonText.String()),
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, kind := range []string{"csv", "jsonl"} {
		t.Run(kind, func(t *testing.T) {
			mem := stagetest.Mem(t)
			paths := []string{filepath.Join(dir, "a."+kind), filepath.Join(dir, "b."+kind+map[string]string{"csv": ".gz", "jsonl": ".zst"}[kind])}
			var src interface {
				stages.Source
				stages.ReadProgresser
				stages.Sharder
			}
			var err error
			sp := []stages.Path{stages.Path(paths[0]), stages.Path(paths[1])}
			if kind == "csv" {
				src, err = NewCSV(CSVConfig{Paths: sp, Header: true, Delimiter: ",", BatchRows: 1000, InferRows: 100}, mem)
			} else {
				src, err = NewJSONL(JSONLConfig{Paths: sp, BatchRows: 1000, InferRows: 100}, mem)
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			want := int64(0)
			units := src.Units(0)
			for i, p := range paths {
				fi, _ := os.Stat(p)
				want += fi.Size()
				if units[i].Bytes != fi.Size() {
					t.Errorf("unit %s: %d bytes, the file has %d", units[i].Key, units[i].Bytes, fi.Size())
				}
			}
			if n := src.BytesRead(); n != 0 {
				t.Fatalf("before reading: %d bytes read", n)
			}
			last, grew := int64(0), 0
			for {
				rec, err := src.Next(context.Background())
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				rec.Release()
				n := src.BytesRead()
				if n < last || n > want {
					t.Fatalf("bytes read went from %d to %d (files: %d)", last, n, want)
				}
				if n > last {
					grew++
				}
				last = n
			}
			if last != want || grew < 4 {
				t.Fatalf("at the end %d bytes read of %d, grown %d times", last, want, grew)
			}
		})
	}
}
