package source

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/stages"
)

// inferInput writes a JSON-lines file of lines lines, each an object of
// keys keys of mixed kinds, and returns its path and size.
func inferInput(tb testing.TB, lines, keys int) (string, int64) {
	tb.Helper()
	var b strings.Builder
	for l := range lines {
		b.WriteByte('{')
		for k := range keys {
			if k > 0 {
				b.WriteString(", ")
			}
			switch k % 5 {
			case 0:
				fmt.Fprintf(&b, `"id_%d": %d`, k, l*k)
			case 1:
				fmt.Fprintf(&b, `"x_%d": %d.25`, k, l)
			case 2:
				fmt.Fprintf(&b, `"s_%d": "text %d"`, k, l)
			case 3:
				fmt.Fprintf(&b, `"t_%d": "2024-01-02T03:04:%02dZ"`, k, l%60)
			default:
				fmt.Fprintf(&b, `"v_%d": [%d, 0.5, -1]`, k, l)
			}
		}
		b.WriteString("}\n")
	}
	path := filepath.Join(tb.TempDir(), "in.jsonl")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return path, int64(b.Len())
}

// BenchmarkJSONLInfer measures schema inference (NewJSONL without a
// schema) in input MB/s: many rows of a few keys, and one wide input of
// 10,000 keys per line.
func BenchmarkJSONLInfer(b *testing.B) {
	for _, tc := range []struct {
		name        string
		lines, keys int
	}{{"rows", 20000, 10}, {"10k-columns", 100, 10000}} {
		b.Run(tc.name, func(b *testing.B) {
			path, size := inferInput(b, tc.lines, tc.keys)
			b.SetBytes(size)
			for b.Loop() {
				s, err := NewJSONL(JSONLConfig{Paths: []stages.Path{stages.Path(path)}, InferRows: tc.lines, BatchRows: 1024}, nil)
				if err != nil {
					b.Fatal(err)
				}
				if n := s.Schema().NumFields(); n != tc.keys {
					b.Fatalf("%d fields, want %d", n, tc.keys)
				}
				s.Close()
			}
		})
	}
}
