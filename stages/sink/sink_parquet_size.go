package sink

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// The memory of a Parquet file being written is its buffered row group
// (every column's pages of the rows so far, compressed) plus the footer's
// column-chunk metadata (one entry per row group and column, kept until the
// file is closed). Both are bounded here from the schema alone, so that the
// bytes written stay a function of the rows and the settings, never of the
// batch sizes.

// DefaultRowGroupBytes is row_group_bytes when unset.
const DefaultRowGroupBytes = 64 << 20

// maxFileChunks bounds the column chunks (row groups x columns) of one
// file: each costs about 2-3 KiB of footer metadata in memory until the
// file is closed, so a file of a 25,000-column schema holds at most 2 row
// groups and a 33-column one about 2,000.
const maxFileChunks = 1 << 16

// varWidthBytes is the width counted for a value of variable size (a
// string, a binary, a list): a nominal figure, so that the cut depends on
// the schema only.
const varWidthBytes = 32

// rowWidth estimates the bytes one row of s takes in a row group.
func rowWidth(s *arrow.Schema) int64 {
	var w int64
	for _, f := range s.Fields() {
		w += typeWidth(f.Type)
	}
	return max(w, 1)
}

// typeWidth estimates the bytes of one value of t.
func typeWidth(t arrow.DataType) int64 {
	switch t := t.(type) {
	case *arrow.FixedSizeListType:
		return int64(t.Len()) * typeWidth(t.Elem())
	case *arrow.StructType:
		var w int64
		for _, f := range t.Fields() {
			w += typeWidth(f.Type)
		}
		return w
	case arrow.FixedWidthDataType:
		return max(int64(t.BitWidth()+7)/8, 1)
	}
	return varWidthBytes
}

// rowGroupRows is the rows of a row group of schema s: row_group_rows, or
// fewer when that many rows would hold more than row_group_bytes.
func rowGroupRows(c ParquetConfig, s *arrow.Schema) int64 {
	limit := c.RowGroupBytes
	if limit <= 0 {
		limit = DefaultRowGroupBytes
	}
	return max(1, min(c.RowGroupRows, int64(limit)/rowWidth(s)))
}

// fileRows is the most rows of one file of schema s with row groups of rg
// rows: max_rows_per_file, or fewer when the file would hold more than
// maxFileChunks column chunks; 0 means unlimited.
func fileRows(c ParquetConfig, s *arrow.Schema, rg int64) int64 {
	groups := max(1, int64(maxFileChunks/max(len(s.Fields()), 1)))
	most := groups * rg
	if c.MaxRowsPerFile > 0 && c.MaxRowsPerFile < most {
		return c.MaxRowsPerFile
	}
	return most
}

// limits are the cuts of a sink's output for its schema.
type limits struct {
	rowGroup int64 // rows per row group
	file     int64 // rows per file; 0 means unlimited
}

// limitsOf returns the cuts for schema s; nil s (not known yet) gives the
// configured ones.
func limitsOf(c ParquetConfig, s *arrow.Schema) limits {
	if s == nil {
		return limits{rowGroup: c.RowGroupRows, file: c.MaxRowsPerFile}
	}
	rg := rowGroupRows(c, s)
	return limits{rowGroup: rg, file: fileRows(c, s, rg)}
}

// DefaultMaxColumns is max_columns when unset.
const DefaultMaxColumns = 10_000

// ErrTooManyColumns is wrapped by the error of a schema wider than
// max_columns.
var ErrTooManyColumns = errors.New("schema has more columns than the sink writes")

// checkColumns refuses a schema with more Parquet leaf columns than
// max_columns.
func checkColumns(c ParquetConfig, s *arrow.Schema) error {
	most := c.MaxColumns
	if most <= 0 {
		most = DefaultMaxColumns
	}
	n := 0
	for _, f := range s.Fields() {
		n += leafColumns(f.Type)
	}
	if n > most {
		return fmt.Errorf("%w: %d columns, more than max_columns (%d); each costs the Parquet writer about 25 KiB of memory: raise max_columns to write it, or select fewer columns",
			ErrTooManyColumns, n, most)
	}
	return nil
}

// leafColumns counts the Parquet columns a field of type t becomes.
func leafColumns(t arrow.DataType) int {
	switch t := t.(type) {
	case *arrow.StructType:
		n := 0
		for _, f := range t.Fields() {
			n += leafColumns(f.Type)
		}
		return max(n, 1)
	case arrow.ListLikeType:
		return leafColumns(t.Elem())
	}
	return 1
}

// byteRoom bounds a row group by the bytes of its rows when the schema
// has values of variable size (images, texts, token lists), which the
// schema-only estimate of rowGroupRows cannot see: it counts rows
// [off, off+most) of rec one by one and returns the rows that still fit
// row_group_bytes (at least one when the row group is empty) as the new
// room, or room unchanged when they all fit, with the bytes of the rows
// that will be taken. The cut depends on the rows' contents and order
// only, never on how they were batched.
func (s *ParquetSink) byteRoom(rec arrow.RecordBatch, off, most int64, empty bool, room int64) (int64, int64) {
	if len(s.varCols) == 0 {
		return room, 0
	}
	limit := int64(s.conf.RowGroupBytes)
	if limit <= 0 {
		limit = DefaultRowGroupBytes
	}
	var taken int64
	for k := range most {
		b := s.fixedRow
		for _, c := range s.varCols {
			b += valueBytes(rec.Column(c), int(off+k))
		}
		if s.rgBytes+taken+b > limit && (k > 0 || !empty) {
			return k, taken
		}
		taken += b
	}
	return room, taken
}

// rowShape splits schema s into the columns of variable-size values and
// the bytes of the others in one row.
func rowShape(s *arrow.Schema) (varCols []int, fixed int64) {
	for i, f := range s.Fields() {
		if w := typeWidth(f.Type); w == varWidthBytes {
			varCols = append(varCols, i)
		} else {
			fixed += w
		}
	}
	return varCols, fixed
}

// valueBytes is the bytes of value i of a: strings and binaries by their
// length, lists by their values, others by their type.
func valueBytes(a arrow.Array, i int) int64 {
	switch c := a.(type) {
	case interface{ ValueLen(int) int }: // string, binary and their large forms
		return int64(c.ValueLen(i)) + 4
	case array.ListLike:
		if _, fixed := a.(*array.FixedSizeList); !fixed {
			lo, hi := c.ValueOffsets(i)
			return (hi-lo)*typeWidth(c.ListValues().DataType()) + 4
		}
	}
	return typeWidth(a.DataType())
}
