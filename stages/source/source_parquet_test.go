package source

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestParquetSource(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 2500, batch_rows: 1000, columns: [{name: id, type: int64}, {name: x, type: float32}, {name: s, type: string, null_fraction: 0.1}, {name: v, type: vector, dims: 3}]}`)
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 1000) // row groups 1000, 1000, 500
	writeParquet(t, filepath.Join(dir, "b.parquet"), recs, 2500)
	stagetest.Release(recs)
	other := genRecords(t, mem, `{count: 10, columns: [{name: id, type: int32}]}`)
	writeParquet(t, filepath.Join(dir, "c.parquet"), other, 10)
	stagetest.Release(other)

	tests := []struct {
		name, with string
		rows       int64
		batch      int64
		cols       string
		err        string
	}{
		{"all", `{paths: [a.parquet, b.parquet]}`, 5000, 2500, "id,x,s,v", ""}, // chosen: cut to the largest row group
		{"small batches", `{paths: ["[ab].parquet"], batch_rows: 300}`, 5000, 300, "id,x,s,v", ""},
		{"projection reorders", `{paths: [a.parquet], columns: [v, id]}`, 2500, 1000, "v,id", ""},
		{"unknown column", `{paths: [a.parquet], columns: [id, nope]}`, 0, 0, "", `a.parquet|column "nope": not found`},
		{"schema mismatch", `{paths: [a.parquet, c.parquet]}`, 0, 0, "", "c.parquet|schema differs from the first file|a.parquet"},
		{"no match", `{paths: ["*.pq"]}`, 0, 0, "", "matches no file"},
		{"bad batch_rows", `{paths: [a.parquet], batch_rows: -1}`, 0, 0, "", "batch_rows must be 0 (chosen from the files) or positive, got -1"},
		{"bad batch_bytes", `{paths: [a.parquet], batch_bytes: -1}`, 0, 0, "", "with.batch_bytes: expected a size"},
		{"missing paths", `{batch_rows: 10}`, 0, 0, "", `missing required key "paths"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := build(t, mem, "parquet_source", tt.with, dir)
			if tt.err != "" {
				wantErr(t, err, tt.err)
				return
			}
			wantErr(t, err, "")
			if got := fieldNames(src.Schema()); strings.ReplaceAll(got, ", ", ",") != tt.cols {
				t.Errorf("columns %s, want %s", got, tt.cols)
			}
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

func TestParquetRowGroups(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 2500, columns: [{name: id, type: int64}]}`)
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 1000)
	stagetest.Release(recs)
	src, err := build(t, mem, "parquet_source", `{paths: [a.parquet, a.parquet], batch_rows: 700}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	p := src.(*Parquet)
	var layout []string
	for _, g := range p.RowGroups() {
		layout = append(layout, fmt.Sprintf("%s:%d:%d", filepath.Base(g.File), g.Index, g.Rows))
	}
	if got := strings.Join(layout, " "); got != "a.parquet:0:1000 a.parquet:1:1000 a.parquet:2:500" {
		t.Errorf("layout %s", got)
	}
	// A batch never spans two row groups: 700+300, 700+300, 500.
	out, err := stagetest.Drain(context.Background(), src)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []string
	for _, r := range out {
		sizes = append(sizes, fmt.Sprint(r.NumRows()))
	}
	if got := strings.Join(sizes, ","); got != "700,300,700,300,500" {
		t.Errorf("batch sizes %s", got)
	}
	ids := colValues(out, 0)
	if ids[0] != "0" || ids[len(ids)-1] != "2499" || len(ids) != 2500 {
		t.Errorf("ids %s..%s (%d)", ids[0], ids[len(ids)-1], len(ids))
	}
}

func TestParquetCorruptFile(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "bad.parquet"), "PAR1 this is not a parquet file PAR1")
	_, err := build(t, mem, "parquet_source", `{paths: [bad.parquet]}`, dir)
	wantErr(t, err, "bad.parquet")
	var fe *FileError
	if !errors.As(err, &fe) {
		t.Errorf("error %T is not a *FileError", err)
	}
}

// BenchmarkParquetSource compares the source with a plain pqarrow read
// loop (Parallel false, same batch size) over the same generated file; the
// source should cost within a few percent of it.
func BenchmarkParquetSource(b *testing.B) {
	const rows = 200000
	path := filepath.Join(b.TempDir(), "bench.parquet")
	recs := genRecords(b, nil, `{count: 200000, columns: [{name: id, type: int64}, {name: f0, type: float32}, {name: f1, type: float32}, {name: f2, type: float32}, {name: f3, type: float32}, {name: s, type: string}]}`)
	writeParquet(b, path, recs, 65536)
	stagetest.Release(recs)
	for _, mmap := range []bool{false, true} {
		b.Run(map[bool]string{false: "source", true: "source_memory_map"}[mmap], func(b *testing.B) {
			benchParquetSource(b, path, rows, mmap)
		})
	}
	b.Run("pqarrow", func(b *testing.B) {
		for b.Loop() {
			pf, err := file.OpenParquetFile(path, false)
			if err != nil {
				b.Fatal(err)
			}
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: defaultBatchRows}, memory.DefaultAllocator)
			if err != nil {
				b.Fatal(err)
			}
			rr, err := fr.GetRecordReader(context.Background(), nil, nil)
			if err != nil {
				b.Fatal(err)
			}
			n := int64(0)
			for rr.Next() {
				n += rr.RecordBatch().NumRows()
			}
			rr.Release()
			pf.Close()
			if n != rows {
				b.Fatalf("%d rows", n)
			}
		}
		b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	})
}

// TestParquetMemoryMapSameRows reads the same files with and without
// memory_map and compares every batch.
func TestParquetMemoryMapSameRows(t *testing.T) {
	dir := filepath.Join(corpusRoot, "parquet-testing", "data")
	for _, name := range []string{"alltypes_plain.parquet", "alltypes_tiny_pages_plain.parquet"} {
		t.Run(name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			read := func(mmap bool) []arrow.RecordBatch {
				with := fmt.Sprintf("{paths: [%q], batch_rows: 1000, memory_map: %v}", filepath.Join(dir, name), mmap)
				s := stagetest.MustBuild(t, nil, mem, "parquet_source", with, "")
				recs, err := stagetest.Drain(context.Background(), s.(stages.Source))
				if err != nil {
					t.Fatal(err)
				}
				return recs
			}
			plain, mapped := read(false), read(true)
			defer stagetest.Release(plain)
			defer stagetest.Release(mapped)
			if len(plain) == 0 || len(plain) != len(mapped) {
				t.Fatalf("%d batches plain, %d mapped", len(plain), len(mapped))
			}
			for i := range plain {
				if !array.RecordEqual(plain[i], mapped[i]) {
					t.Fatalf("batch %d differs", i)
				}
			}
		})
	}
}

// benchParquetSource reads path through the source, read or mapped.
func benchParquetSource(b *testing.B, path string, rows int64, mmap bool) {
	for b.Loop() {
		src, err := NewParquet(ParquetConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: defaultBatchRows, MemoryMap: mmap}, nil)
		if err != nil {
			b.Fatal(err)
		}
		n := int64(0)
		for {
			rec, err := src.Next(context.Background())
			if err != nil {
				break
			}
			n += rec.NumRows()
			rec.Release()
		}
		src.Close()
		if n != rows {
			b.Fatalf("%d rows", n)
		}
	}
	b.ReportMetric(float64(rows*int64(b.N))/b.Elapsed().Seconds(), "rows/s")
}
