package source

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// gz returns data gzip-compressed.
func gz(t testing.TB, data string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(data)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// zst returns data zstd-compressed.
func zst(t testing.TB, data string) []byte {
	t.Helper()
	w, err := zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll([]byte(data), nil)
}

func writeBytes(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dump renders batches as text: their schema, then one line per row.
func dump(recs []arrow.RecordBatch) string {
	var b strings.Builder
	for _, r := range recs {
		b.WriteString(r.Schema().String() + "\n")
		for i := range int(r.NumRows()) {
			for j, c := range r.Columns() {
				if j > 0 {
					b.WriteString("|")
				}
				b.WriteString(c.ValueStr(i))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

const (
	plainCSV   = "id,amount,name\n1,2.5,\"a, quoted\"\n2,NA,b\n3,1e3,\"multi\nline\"\n"
	plainJSONL = "{\"id\": 1, \"v\": [1, 2], \"s\": \"x\"}\n\n{\"id\": 2, \"s\": null}\n{\"id\": 3, \"v\": [3, 4]}\n"
)

// TestCompressedText reads gzip and zstd CSV and JSON lines files and
// checks they give what their uncompressed text gives, read the same way.
func TestCompressedText(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "plain.csv"), plainCSV)
	writeFile(t, filepath.Join(dir, "plain.jsonl"), plainJSONL)
	half := len(plainCSV) / 2
	tests := []struct {
		name, typ, file string
		data            []byte
		plain           string // the uncompressed file, read with the same settings
		with            string // settings besides paths
	}{
		{"csv gzip", "csv_source", "a.csv.gz", gz(t, plainCSV), "plain.csv", ""},
		{"csv zstd", "csv_source", "a.csv.zst", zst(t, plainCSV), "plain.csv", ""},
		{"csv zstd long name", "csv_source", "a.CSV.ZSTD", zst(t, plainCSV), "plain.csv", ""},
		{"csv gzip members", "csv_source", "two.csv.gz", append(gz(t, plainCSV[:half]), gz(t, plainCSV[half:])...), "plain.csv", ""},
		{"csv gzip small batches", "csv_source", "b.csv.gz", gz(t, plainCSV), "plain.csv", "batch_rows: 1, "},
		{"jsonl gzip", "jsonl_source", "a.jsonl.gz", gz(t, plainJSONL), "plain.jsonl", ""},
		{"ndjson gzip", "jsonl_source", "a.ndjson.gz", gz(t, plainJSONL), "plain.jsonl", ""},
		{"jsonl zstd", "jsonl_source", "a.jsonl.zst", zst(t, plainJSONL), "plain.jsonl", ""},
	}
	read := func(t *testing.T, typ, with string) string {
		t.Helper()
		src, err := build(t, mem, typ, with, dir)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := drainRecs(t, src)
		if err != nil {
			t.Fatal(err)
		}
		return dump(recs)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeBytes(t, filepath.Join(dir, tt.file), tt.data)
			got := read(t, tt.typ, "{"+tt.with+"paths: ["+tt.file+"]}")
			want := read(t, tt.typ, "{"+tt.with+"paths: ["+tt.plain+"]}")
			if got != want || strings.Count(got, "\n") < 4 {
				t.Errorf("compressed file read as\n%s\nthe plain one as\n%s", got, want)
			}
		})
	}
}

// TestCompressedTextErrors checks that corrupt, truncated and misnamed
// compressed files are errors wrapping ErrCompressed that name the file.
func TestCompressedTextErrors(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	long := strings.Repeat("1,2.5,abcdefgh\n", 5000)
	corrupt := gz(t, "id,amount,name\n"+long)
	corrupt[len(corrupt)/2] ^= 0xff
	corruptJSONL := gz(t, strings.Repeat("{\"id\": 1}\n", 5000))
	corruptJSONL[len(corruptJSONL)-6] ^= 0xff // in the checksum trailer
	cut := zst(t, "id,amount,name\n"+long)
	cut = cut[:len(cut)-20]
	cutJSONL := zst(t, strings.Repeat("{\"id\": 1}\n", 5000))
	cutJSONL = cutJSONL[:len(cutJSONL)/2]
	// A zstd frame asking for a 256MiB window (window descriptor 18<<3:
	// 2^(10+18) bytes), above what the reader allows, then one last raw
	// block of 5 bytes.
	wide := append([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 18 << 3, 1 | 5<<3, 0, 0}, "id\n1\n"...)
	tests := []struct {
		name, typ, file string
		data            []byte
		want            string
	}{
		{"zstd window too large", "csv_source", "wide.csv.zst", wide, "wide.csv.zst: |window larger than the 128MiB"},
		{"corrupt gzip csv", "csv_source", "bad.csv.gz", corrupt, "bad.csv.gz|corrupt gzip data"},
		{"bad gzip checksum jsonl", "jsonl_source", "bad.jsonl.gz", corruptJSONL, "bad.jsonl.gz|corrupt gzip data"},
		{"truncated zstd csv", "csv_source", "cut.csv.zst", cut, "cut.csv.zst|truncated zstd data"},
		{"truncated zstd jsonl", "jsonl_source", "cut.jsonl.zst", cutJSONL, "cut.jsonl.zst|truncated zstd data"},
		{"truncated gzip header", "csv_source", "head.csv.gz", gz(t, plainCSV)[:5], "head.csv.gz|truncated gzip data"},
		{"gzip named csv", "csv_source", "x.csv", gz(t, plainCSV), "x.csv: |holds gzip data|rename it x.csv.gz"},
		{"zstd named jsonl", "jsonl_source", "x.jsonl", zst(t, plainJSONL), "x.jsonl: |holds zstd data|rename it x.jsonl.zst"},
		{"text named gz", "csv_source", "t.csv.gz", []byte(plainCSV), "t.csv.gz: |the name says gzip|69 64 2c 61"},
		{"zstd named gz", "jsonl_source", "z.jsonl.gz", zst(t, plainJSONL), "z.jsonl.gz: |the name says gzip"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeBytes(t, filepath.Join(dir, tt.file), tt.data)
			src, err := build(t, mem, tt.typ, "{paths: ["+tt.file+"], infer_rows: 10}", dir)
			if err == nil {
				_, err = drainRecs(t, src)
			}
			wantErr(t, err, tt.want)
			if !errors.Is(err, ErrCompressed) {
				t.Errorf("error %v does not wrap ErrCompressed", err)
			}
		})
	}
}

// TestCompressedLineLimit checks that a line longer than the limit inside
// a compressed file (a decompression bomb) is an error naming the file and
// line, read without holding the line.
func TestCompressedLineLimit(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	huge := strings.Repeat("x", 4<<20)
	writeBytes(t, filepath.Join(dir, "bomb.csv.gz"), gz(t, "id,s\n1,a\n2,"+huge+"\n3,c\n"))
	writeBytes(t, filepath.Join(dir, "bomb.jsonl.zst"), zst(t, "{\"s\": \"a\"}\n{\"s\": \"b\"}\n{\"s\": \""+huge+"\"}\n"))
	tests := []struct {
		name, typ, with, want string
	}{
		{"csv gzip", "csv_source", `{paths: [bomb.csv.gz], max_record_bytes: 64KiB, schema: [{name: s, type: string}]}`,
			"bomb.csv.gz: line 3: |record of more than 64KiB|max_record_bytes"},
		{"jsonl zstd", "jsonl_source", `{paths: [bomb.jsonl.zst], max_line_bytes: 64KiB, schema: [{name: s, type: string}]}`,
			"bomb.jsonl.zst: line 3: |line of more than 64KiB|max_line_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := build(t, mem, tt.typ, tt.with, dir)
			if err == nil {
				_, err = drainRecs(t, src)
			}
			wantErr(t, err, tt.want)
			if !errors.Is(err, ErrLimit) {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
		})
	}
}
