package source

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

func TestInspect(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 250, batch_rows: 100, columns: [{name: id, type: int64}, {name: s, type: string}]}`)
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 100)
	writeIPC(t, filepath.Join(dir, "a.arrow"), recs, true, ipc.WithZstd())
	writeIPC(t, filepath.Join(dir, "a.data"), recs, false)
	stagetest.Release(recs)
	writeFile(t, filepath.Join(dir, "a.csv"), "id,s\n1,\"multi\nline\"\n2,y\n")
	writeFile(t, filepath.Join(dir, "a.tsv"), "id\ts\n1\tx\n")
	writeFile(t, filepath.Join(dir, "a.jsonl"), "{\"id\": 1}\n\n{\"id\": 2}\n{\"id\": 3}\n")
	writeFile(t, filepath.Join(dir, "a.bin"), "\x00\x01")
	writeBytes(t, filepath.Join(dir, "a.csv.gz"), gz(t, "id,s\n1,\"multi\nline\"\n2,y\n"))
	writeBytes(t, filepath.Join(dir, "a.tsv.zst"), zst(t, "id\ts\n1\tx\n"))
	writeBytes(t, filepath.Join(dir, "a.jsonl.zst"), zst(t, "{\"id\": 1}\n\n{\"id\": 2}\n{\"id\": 3}\n"))
	writeBytes(t, filepath.Join(dir, "a.ndjson.gz"), gz(t, "{\"id\": 1}\n"))
	writeBytes(t, filepath.Join(dir, "a.bin.gz"), gz(t, "x"))
	writeBytes(t, filepath.Join(dir, "gz.csv"), gz(t, "id\n1\n"))
	tests := []struct {
		file   string
		format Format
		rows   int64
		extra  string
		err    string
	}{
		{"a.parquet", FormatParquet, 250, "row_groups: 3", ""},
		{"a.arrow", FormatIPCFile, 250, "compression: zstd", ""},
		{"a.data", FormatIPCStream, 250, "batches: 3", ""},
		{"a.csv", FormatCSV, 2, "s: utf8", ""},
		{"a.tsv", FormatCSV, 1, "id: int64", ""},
		{"a.jsonl", FormatJSONL, 3, "id: int64", ""},
		{"a.bin", "", 0, "", "a.bin: unknown format"},
		{"a.csv.gz", FormatCSV, 2, "compression: gzip\nschema:\n  id: int64\n  s: utf8", ""},
		{"a.tsv.zst", FormatCSV, 1, "compression: zstd\nschema:\n  id: int64\n  s: utf8", ""},
		{"a.jsonl.zst", FormatJSONL, 3, "compression: zstd", ""},
		{"a.ndjson.gz", FormatJSONL, 1, "compression: gzip", ""},
		{"a.bin.gz", "", 0, "", `a.bin.gz: unknown format|".bin" is not`},
		{"gz.csv", "", 0, "", "gz.csv: bad compressed file|rename it gz.csv.gz"},
		{"missing.csv", "", 0, "", "missing.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			info, err := Inspect(filepath.Join(dir, tt.file))
			if tt.err != "" {
				wantErr(t, err, tt.err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if info.Format != tt.format || info.Rows != tt.rows {
				t.Errorf("format %s rows %d, want %s %d", info.Format, info.Rows, tt.format, tt.rows)
			}
			s := info.String()
			if !strings.Contains(s, "\nrows: "+itoa(int(tt.rows))+"\n") || !strings.Contains(s, tt.extra) {
				t.Errorf("String() =\n%s\nwant rows: %d and %q", s, tt.rows, tt.extra)
			}
		})
	}
}
