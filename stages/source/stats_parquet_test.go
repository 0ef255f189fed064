package source

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// statsRecord builds a batch of ids, names (nil: null) and timestamps.
func statsRecord(t *testing.T, ids []int64, names []*string, stamps []time.Time) arrow.RecordBatch {
	t.Helper()
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "at", Type: ts, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(stagetest.Mem(t), schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues(ids, nil)
	for _, n := range names {
		if n == nil {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(*n)
		}
	}
	for _, s := range stamps {
		b.Field(2).(*array.TimestampBuilder).Append(arrow.Timestamp(s.UnixMicro()))
	}
	return b.NewRecordBatch()
}

// writeStatsFile writes rec to path in row groups of two rows, with or
// without column statistics.
func writeStatsFile(t *testing.T, path string, rec arrow.RecordBatch, stats bool) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	props := parquet.NewWriterProperties(parquet.WithMaxRowGroupLength(2), parquet.WithStats(stats))
	w, err := pqarrow.NewFileWriter(rec.Schema(), f, props, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestParquetStatistics merges the chunk statistics of two files of
// several row groups each, and reports files without statistics as such.
func TestParquetStatistics(t *testing.T) {
	dir := t.TempDir()
	s := func(v string) *string { return &v }
	day := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r1 := statsRecord(t, []int64{5, 3, 9}, []*string{s("m"), nil, s("q")}, []time.Time{day, day.Add(time.Hour), day})
	defer r1.Release()
	r2 := statsRecord(t, []int64{-2, 4}, []*string{nil, s("b")}, []time.Time{day.Add(-time.Minute), day})
	defer r2.Release()
	a := writeStatsFile(t, filepath.Join(dir, "a.parquet"), r1, true)
	b := writeStatsFile(t, filepath.Join(dir, "b.parquet"), r2, true)
	bare := writeStatsFile(t, filepath.Join(dir, "bare.parquet"), r2, false)

	got, ok, err := ParquetStatistics(a, b)
	if err != nil || !ok {
		t.Fatalf("ParquetStatistics = ok %v, %v", ok, err)
	}
	want := []ColumnStats{
		{Column: "id", Nulls: 0, Min: "-2", Max: "9"},
		{Column: "name", Nulls: 2, Min: "b", Max: "q"},
		{Column: "at", Nulls: 0, Min: "2026-03-01T11:59:00Z", Max: "2026-03-01T13:00:00Z"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("column %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, paths := range [][]string{{bare}, {a, bare}} {
		if _, ok, err := ParquetStatistics(paths...); ok || err != nil {
			t.Errorf("%v: ok %v, err %v; want not ok (no statistics) and no error", paths, ok, err)
		}
	}
	if _, _, err := ParquetStatistics(filepath.Join(dir, "missing.parquet")); err == nil {
		t.Error("a missing file: no error")
	}
}
