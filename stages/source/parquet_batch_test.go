package source

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestNearestPow2(t *testing.T) {
	tests := []struct{ n, want int64 }{
		{1, 1}, {2, 2}, {3, 4}, {5, 4}, {6, 8}, {7710, 8192}, {5792, 4096}, {5793, 8192}, {1 << 40, 1 << 30},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			if got := nearestPow2(tt.n); got != tt.want {
				t.Errorf("nearestPow2(%d) = %d, want %d", tt.n, got, tt.want)
			}
		})
	}
}

// TestParquetBatchChoice checks the batch size chosen from the footers:
// row widths as read, projections, the bounds, the row-group cut and a
// batch_rows set by the job; and that the source's batches follow it.
func TestParquetBatchChoice(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	// id int64 + 32 float32: 136 bytes a row.
	cols := []string{"{name: id, type: int64}"}
	for i := range 32 {
		cols = append(cols, fmt.Sprintf("{name: f%02d, type: float32}", i))
	}
	wide := genRecords(t, mem, fmt.Sprintf("{count: 40000, columns: [%s]}", strings.Join(cols, ", ")))
	writeParquet(t, filepath.Join(dir, "wide.parquet"), wide, 30000) // row groups 30000, 10000
	stagetest.Release(wide)
	narrow := genRecords(t, mem, `{count: 70000, columns: [{name: id, type: int64}]}`)
	writeParquet(t, filepath.Join(dir, "narrow.parquet"), narrow, 70000)
	stagetest.Release(narrow)
	strs := genRecords(t, mem, `{count: 3000, columns: [{name: s, type: string, length: 60}]}`)
	writeParquet(t, filepath.Join(dir, "strings.parquet"), strs, 3000)
	stagetest.Release(strs)
	docs := genRecords(t, mem, `{count: 200, columns: [{name: doc, type: string, length: 40000}]}`)
	writeParquet(t, filepath.Join(dir, "docs.parquet"), docs, 200)
	stagetest.Release(docs)

	tests := []struct {
		name, with string
		rows       int
		auto       bool
		rowBytes   [2]int64 // range of the estimate
		reason     string
		largest    int64 // the largest batch read
	}{
		{"wide rows", `{paths: [wide.parquet]}`, 8192, true, [2]int64{136, 136}, "rows of about 136 B", 8192},
		{"projection", `{paths: [wide.parquet], columns: [f00, f01], batch_bytes: 128KiB}`, 16384, true, [2]int64{8, 8}, "rows of about 8 B", 16384},
		{"smaller target", `{paths: [wide.parquet], batch_bytes: 64KiB}`, 512, true, [2]int64{136, 136}, "batch_bytes (64KiB)", 512},
		{"at least 64", `{paths: [wide.parquet], batch_bytes: 1KiB}`, 64, true, [2]int64{136, 136}, "within 64..65536", 64},
		{"narrow: at most 65536", `{paths: [narrow.parquet]}`, 65536, true, [2]int64{8, 8}, "within 64..65536", 65536},
		{"cut to the row group", `{paths: [wide.parquet], batch_bytes: 64MiB}`, 30000, true, [2]int64{136, 136}, "cut to the largest row group (30000 rows)", 30000},
		{"strings at their size", `{paths: [strings.parquet], batch_bytes: 128KiB}`, 2048, true, [2]int64{64, 72}, "rows of about", 2048},
		{"wide values: at least 64", `{paths: [docs.parquet]}`, 64, true, [2]int64{40000, 40100}, "within 64..65536", 64},
		{"set by the job", `{paths: [wide.parquet], batch_rows: 1000}`, 1000, false, [2]int64{0, 0}, "set by the job", 1000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := build(t, mem, "parquet_source", tt.with, dir)
			if err != nil {
				t.Fatal(err)
			}
			p := src.(*Parquet)
			c := p.choice
			if c.Rows != tt.rows || c.Auto != tt.auto || c.RowBytes < tt.rowBytes[0] || c.RowBytes > tt.rowBytes[1] {
				t.Errorf("choice %+v, want %d rows, auto %v, row bytes in %v", c, tt.rows, tt.auto, tt.rowBytes)
			}
			if !strings.Contains(c.Reason, tt.reason) {
				t.Errorf("reason %q, want it to contain %q", c.Reason, tt.reason)
			}
			note, _ := p.Estimate()
			if !strings.Contains(note, fmt.Sprintf("batches of %d rows", tt.rows)) || !strings.Contains(note, c.Reason) {
				t.Errorf("validate note %q does not say the choice", note)
			}
			recs, err := drainRecs(t, src)
			if err != nil {
				t.Fatal(err)
			}
			var largest int64
			for _, r := range recs {
				largest = max(largest, r.NumRows())
			}
			if largest != tt.largest {
				t.Errorf("largest batch %d rows, want %d", largest, tt.largest)
			}
		})
	}
}

// TestParquetBatchChoiceSameRows reads the same files with the chosen
// batch size, with small batches and with odd ones, and compares the rows:
// the choice changes where batches are cut, never what they hold.
func TestParquetBatchChoiceSameRows(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 25000, columns: [{name: id, type: int64}, {name: x, type: float32}, {name: s, type: string, null_fraction: 0.1}, {name: v, type: vector, dims: 3}]}`)
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 7000)
	stagetest.Release(recs)
	read := func(with string) arrow.Table {
		src, err := build(t, mem, "parquet_source", with, dir)
		if err != nil {
			t.Fatal(err)
		}
		out, err := drainRecs(t, src)
		if err != nil {
			t.Fatal(err)
		}
		return array.NewTableFromRecords(src.Schema(), out)
	}
	want := read(`{paths: [a.parquet], batch_rows: 1}`)
	defer want.Release()
	for _, with := range []string{`{paths: [a.parquet]}`, `{paths: [a.parquet], batch_rows: 333}`, `{paths: [a.parquet], batch_bytes: 10KiB}`} {
		t.Run(with, func(t *testing.T) {
			got := read(with)
			defer got.Release()
			if got.NumRows() != 25000 || !array.TableEqual(got, want) {
				t.Errorf("%d rows, differing from those read one at a time", got.NumRows())
			}
		})
	}
}

// TestParquetBatchReport checks the batch choice in the run report's
// figures (JSON under the stage's details), and that a shard keeps it.
func TestParquetBatchReport(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 5000, columns: [{name: id, type: int64}, {name: x, type: float64}]}`)
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 1000)
	stagetest.Release(recs)
	src, err := build(t, mem, "parquet_source", `{paths: [a.parquet], batch_bytes: 4KiB}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	shard, err := src.(stages.Sharder).Shard(2000, []int{1})
	if err != nil {
		t.Fatal(err)
	}
	defer shard.Close()
	for name, s := range map[string]stages.Source{"source": src, "shard": shard} {
		t.Run(name, func(t *testing.T) {
			rep := s.(stages.Reporter).Report()
			b, err := json.Marshal(rep)
			if err != nil {
				t.Fatal(err)
			}
			want := `{"batch_rows":256,"auto":true,"row_bytes":16,"batch_bytes":4096,"max_row_group_rows":1000,"reason":"chosen: rows of about 16 B as read, the power of two nearest batch_bytes (4KiB) / row size, within 64..65536"}`
			if string(b) != want {
				t.Errorf("report %s\nwant %s", b, want)
			}
			if !strings.HasPrefix(rep.String(), "batch_rows 256: chosen") {
				t.Errorf("String() = %q", rep.String())
			}
		})
	}
}
