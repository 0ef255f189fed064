package sink

import (
	"errors"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
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
