package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestIPCSource(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 2500, batch_rows: 1000, columns: [{name: id, type: int64}, {name: s, type: string, null_fraction: 0.3}, {name: v, type: vector, dims: 2}]}`)
	writeIPC(t, filepath.Join(dir, "a.arrow"), recs, true)
	writeIPC(t, filepath.Join(dir, "b.arrows"), recs, false)
	writeIPC(t, filepath.Join(dir, "c.arrow"), recs, true, ipc.WithZstd())
	writeIPC(t, filepath.Join(dir, "d.arrows"), recs, false, ipc.WithLZ4())
	stagetest.Release(recs)
	zeros := genRecords(t, mem, `{count: 300000, batch_rows: 300000, columns: [{name: id, type: int64, distribution: constant, values: [0]}]}`)
	writeIPC(t, filepath.Join(dir, "zeros.arrows"), zeros, false, ipc.WithZstd())
	writeIPC(t, filepath.Join(dir, "zeros-lz4.arrow"), zeros, true, ipc.WithLZ4())
	stagetest.Release(zeros)
	other := genRecords(t, mem, `{count: 5, columns: [{name: id, type: int32}]}`)
	writeIPC(t, filepath.Join(dir, "other.arrow"), other, true)
	stagetest.Release(other)
	writeFile(t, filepath.Join(dir, "junk.arrow"), "ARROW1\x00\x00 not really arrow ARROW1")

	tests := []struct {
		name, with string
		rows       int64
		batch      int64
		err        string
	}{
		{"file", `{paths: [a.arrow]}`, 2500, 1000, ""},
		{"stream", `{paths: [b.arrows]}`, 2500, 1000, ""},
		{"compressed", `{paths: [c.arrow, d.arrows]}`, 5000, 1000, ""},
		{"sliced", `{paths: [a.arrow, b.arrows], batch_rows: 300}`, 5000, 300, ""},
		{"highly compressible", `{paths: [zeros.arrows, zeros-lz4.arrow], batch_rows: 100000}`, 600000, 100000, ""},
		{"schema mismatch", `{paths: [a.arrow, other.arrow]}`, 0, 0, "other.arrow|schema differs from the first file|has 1 columns"},
		{"junk", `{paths: [junk.arrow]}`, 0, 0, "junk.arrow|corrupt input"},
		{"max batch bytes", `{paths: [a.arrow], max_batch_bytes: 1KiB}`, 0, 0, "a.arrow|more than max_batch_bytes (1KiB)|raise ipc_source's max_batch_bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := build(t, mem, "ipc_source", tt.with, dir)
			if tt.err != "" {
				wantErr(t, err, tt.err)
				return
			}
			wantErr(t, err, "")
			if n, ok := src.(stages.RowCounter).TotalRows(); !ok || n != tt.rows {
				t.Errorf("TotalRows %d %v, want %d", n, ok, tt.rows)
			}
			got, err := drain(t, src, tt.batch)
			if err != nil || got != tt.rows {
				t.Fatalf("read %d rows, err %v; want %d", got, err, tt.rows)
			}
		})
	}
}

// TestIPCDecompressionBomb rewrites the uncompressed-length prefix of a zstd
// buffer to 2^36: arrow-go alone would abort the process allocating it.
func TestIPCDecompressionBomb(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 1000, columns: [{name: id, type: int64}]}`)
	for _, file := range []bool{false, true} {
		name := "bomb.arrows"
		if file {
			name = "bomb.arrow"
		}
		path := filepath.Join(dir, name)
		writeIPC(t, path, recs, file, ipc.WithZstd())
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var want [8]byte
		binary.LittleEndian.PutUint64(want[:], 8000)
		i := bytes.Index(data, want[:])
		if i < 0 {
			t.Fatal("no uncompressed-length prefix of 8000 found")
		}
		binary.LittleEndian.PutUint64(data[i:], 1<<36)
		writeFile(t, path, string(data))
		t.Run(name, func(t *testing.T) {
			_, err := build(t, mem, "ipc_source", `{paths: [`+name+`]}`, dir)
			wantErr(t, err, name+"|exceeds a safety limit")
			if !errors.Is(err, ErrLimit) {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
			if _, err := Inspect(path); !errors.Is(err, ErrLimit) {
				t.Errorf("Inspect: %v, want ErrLimit", err)
			}
		})
	}
	stagetest.Release(recs)
}

// TestIPCTruncated cuts a valid file at every length: each must give an
// error or fewer rows, never a panic.
func TestIPCTruncated(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 100, batch_rows: 40, columns: [{name: id, type: int64}, {name: s, type: string}]}`)
	for _, file := range []bool{false, true} {
		path := filepath.Join(dir, "full")
		writeIPC(t, path, recs, file, ipc.WithLZ4())
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n += 7 {
			writeFile(t, filepath.Join(dir, "cut.arrow"), string(data[:n]))
			src, err := build(t, mem, "ipc_source", `{paths: [cut.arrow]}`, dir)
			if err != nil {
				wantErr(t, err, "cut.arrow")
				continue
			}
			rows, err := drain(t, src, 0)
			if err == nil && rows > 100 {
				t.Errorf("cut at %d: %d rows", n, rows)
			}
			if err != nil {
				wantErr(t, err, "cut.arrow")
			}
		}
	}
	stagetest.Release(recs)
}
