package sink

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestRowWidth(t *testing.T) {
	tests := []struct {
		fields []arrow.Field
		want   int64
	}{
		{[]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64}}, 8},
		{[]arrow.Field{{Name: "a", Type: arrow.FixedWidthTypes.Boolean}, {Name: "b", Type: arrow.PrimitiveTypes.Float32}}, 5},
		{[]arrow.Field{{Name: "v", Type: arrow.FixedSizeListOf(32, arrow.PrimitiveTypes.Float32)}}, 128},
		{[]arrow.Field{{Name: "s", Type: arrow.BinaryTypes.String}, {Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int8)}}, 64},
		{[]arrow.Field{{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int16}, arrow.Field{Name: "y", Type: arrow.PrimitiveTypes.Float64})}}, 10},
	}
	for _, tc := range tests {
		if got := rowWidth(arrow.NewSchema(tc.fields, nil)); got != tc.want {
			t.Errorf("rowWidth(%v) = %d, want %d", tc.fields, got, tc.want)
		}
	}
}

// TestLimits: narrow schemas keep row_group_rows and max_rows_per_file;
// wide ones get row groups of at most row_group_bytes and files of at most
// maxFileChunks column chunks.
func TestLimits(t *testing.T) {
	wide := func(n int) *arrow.Schema {
		fs := make([]arrow.Field, n)
		for i := range fs {
			fs[i] = arrow.Field{Name: "c", Type: arrow.PrimitiveTypes.Float64}
		}
		return arrow.NewSchema(fs, nil)
	}
	c := DefaultParquetConfig()
	tests := []struct {
		name   string
		conf   func(ParquetConfig) ParquetConfig
		schema *arrow.Schema
		want   limits
	}{
		{"narrow", nil, wide(4), limits{rowGroup: 128 << 10, file: (maxFileChunks / 4) * (128 << 10)}},
		{"narrow max_rows_per_file", func(c ParquetConfig) ParquetConfig { c.MaxRowsPerFile = 1000; return c }, wide(4), limits{128 << 10, 1000}},
		{"wide rows", nil, wide(1000), limits{rowGroup: (64 << 20) / 8000, file: 65 * ((64 << 20) / 8000)}},
		{"row_group_bytes", func(c ParquetConfig) ParquetConfig { c.RowGroupBytes = 80000; return c }, wide(1000), limits{10, 650}},
		{"one row wider than the bytes", func(c ParquetConfig) ParquetConfig { c.RowGroupBytes = 10; return c }, wide(1000), limits{1, 65}},
		{"very wide", nil, wide(40000), limits{209, 209}},
		{"unknown schema", nil, nil, limits{128 << 10, 0}},
	}
	for _, tc := range tests {
		conf := c
		if tc.conf != nil {
			conf = tc.conf(c)
		}
		if got := limitsOf(conf, tc.schema); got != tc.want {
			t.Errorf("%s: limits %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCheckColumns(t *testing.T) {
	fields := []arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int64},
		{Name: "st", Type: arrow.StructOf(arrow.Field{Name: "x", Type: arrow.PrimitiveTypes.Int16}, arrow.Field{Name: "y", Type: arrow.ListOf(arrow.PrimitiveTypes.Float64)})},
	}
	s := arrow.NewSchema(fields, nil)
	c := DefaultParquetConfig()
	if err := checkColumns(c, s); err != nil {
		t.Fatal(err)
	}
	c.MaxColumns = 2
	err := checkColumns(c, s)
	if !errors.Is(err, ErrTooManyColumns) || !strings.Contains(err.Error(), "3 columns") || !strings.Contains(err.Error(), "max_columns (2)") {
		t.Errorf("checkColumns with max_columns 2 = %v, want ErrTooManyColumns naming 3 columns and the setting", err)
	}
}

// TestRowGroupBytesOfLargeValues: with values of variable size (image
// bytes here), a row group holds the rows whose actual bytes fit
// row_group_bytes, at least one; the cut, and so the file's bytes, do
// not depend on how the rows were batched.
func TestRowGroupBytesOfLargeValues(t *testing.T) {
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "bytes", Type: arrow.BinaryTypes.Binary}}, nil)
	sizes := []int{100 << 10, 900 << 10, 300 << 10, 2 << 20, 10, 500 << 10, 600 << 10, 1 << 20, 50 << 10, 700 << 10}
	rows := func(lo, hi int) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		for i := lo; i < hi; i++ {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			b.Field(1).(*array.BinaryBuilder).Append(bytes.Repeat([]byte{byte(i)}, sizes[i]))
		}
		return b.NewRecordBatch()
	}
	var files [][]byte
	for _, cuts := range [][]int{{0, 10}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {0, 4, 10}} {
		dir := t.TempDir()
		conf := DefaultParquetConfig()
		conf.Path, conf.RowGroupBytes = stages.Path(dir), 1<<20
		sk, err := NewParquet(conf, &stages.Env{ID: "w", Inputs: []*arrow.Schema{schema}, Mem: mem})
		if err != nil {
			t.Fatal(err)
		}
		var recs []arrow.RecordBatch
		for i := 0; i+1 < len(cuts); i++ {
			recs = append(recs, rows(cuts[i], cuts[i+1]))
		}
		writeAll(t, sk, recs)
		stagetest.Release(recs)
		_ = sk.Close()
		names := parts(t, dir)
		pf := readBack(t, mem, filepath.Join(dir, names[0]))
		pf.release()
		// 100K+900K = 1000K fits 1 MiB; +300K does not. 300K; 2 MiB alone;
		// 10 B + 500K; 600K; 1 MiB alone; 50K + 700K.
		if want := []int64{2, 1, 1, 2, 1, 1, 2}; !slices.Equal(pf.rgRows, want) {
			t.Errorf("batches cut at %v: row groups of %v rows, want %v", cuts, pf.rgRows, want)
		}
		data, err := os.ReadFile(filepath.Join(dir, names[0]))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, data)
	}
	for i := 1; i < len(files); i++ {
		if !bytes.Equal(files[i], files[0]) {
			t.Errorf("batching %d wrote different bytes than batching 0", i)
		}
	}
}
