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
