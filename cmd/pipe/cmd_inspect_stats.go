package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages/source"
)

// statsBatch is the batch size of a computing read.
const statsBatch = 8192

// writeStats prints per column the nulls, min and max of the data files
// together: from the Parquet column-chunk statistics when every file is
// Parquet and every chunk has them (reading only the footers), else
// computed by reading every row, one batch at a time (from mem).
func writeStats(ctx context.Context, w io.Writer, mem memory.Allocator, files []string) error {
	cols, how, err := fileStats(ctx, mem, files)
	if err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "stats (%s):\n", how)
	rows := [][]string{{"column", "nulls", "min", "max"}}
	for _, c := range cols {
		rows = append(rows, []string{c.Column, strconv.FormatInt(c.Nulls, 10), clip(orDash(c.Min), cellWidth), clip(orDash(c.Max), cellWidth)})
	}
	writeTable(&b, "  ", rows, []bool{false, true})
	_, err = io.WriteString(w, b.String())
	return err
}

// fileStats returns the statistics of files and how they were found:
// "from statistics" or "computed".
func fileStats(ctx context.Context, mem memory.Allocator, files []string) ([]source.ColumnStats, string, error) {
	if st, ok, err := source.ParquetStatistics(files...); err == nil && ok {
		return st, "from statistics", nil
	}
	acc := &statsAcc{}
	for _, path := range files {
		if err := acc.read(ctx, mem, path); err != nil {
			return nil, "", err
		}
	}
	return acc.result(), "computed", nil
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

// statsAcc accumulates per column nulls, min and max over batches.
type statsAcc struct {
	names []string
	cols  []colAcc
}

// colAcc is one column's running figures. Integers, dates and timestamps
// compare as int64, floats as float64 (NaN left out), text and booleans as
// bytes; other types (lists, binary, structs) count nulls only.
type colAcc struct {
	nulls    int64
	seen     bool
	lo, hi   string // the rendered extremes
	loI, hiI int64
	loF, hiF float64
	loS, hiS string
}

// read adds the rows of one file.
func (s *statsAcc) read(ctx context.Context, mem memory.Allocator, path string) error {
	src, _, err := source.OpenFile(path, mem, statsBatch)
	if err != nil {
		return err
	}
	defer src.Close()
	if s.names == nil {
		for _, f := range src.Schema().Fields() {
			s.names = append(s.names, f.Name)
		}
		s.cols = make([]colAcc, len(s.names))
	}
	if n := src.Schema().NumFields(); n != len(s.names) {
		return fmt.Errorf("%s: %d columns, the first file has %d", path, n, len(s.names))
	}
	for {
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		for c, col := range rec.Columns() {
			s.cols[c].add(col)
		}
		rec.Release()
	}
}

// add folds one column chunk into the figures.
func (c *colAcc) add(a arrow.Array) {
	c.nulls += int64(a.NullN())
	for i := range a.Len() {
		if a.IsNull(i) {
			continue
		}
		switch v := a.(type) {
		case *array.Int64, *array.Int32, *array.Int16, *array.Int8, *array.Timestamp, *array.Date32, *array.Date64:
			c.addInt(intValue(a, i), a, i)
		case *array.Uint8, *array.Uint16, *array.Uint32:
			c.addInt(intValue(a, i), a, i)
		case *array.Float32:
			c.addFloat(float64(v.Value(i)), 32)
		case *array.Float64:
			c.addFloat(v.Value(i), 64)
		case *array.String:
			c.addText(v.Value(i))
		case *array.LargeString:
			c.addText(v.Value(i))
		case *array.Boolean:
			c.addText(strconv.FormatBool(v.Value(i)))
		default:
			return // no order pipe shows
		}
	}
}

// intValue returns value i of an integer-like array as int64.
func intValue(a arrow.Array, i int) int64 {
	switch v := a.(type) {
	case *array.Int64:
		return v.Value(i)
	case *array.Int32:
		return int64(v.Value(i))
	case *array.Int16:
		return int64(v.Value(i))
	case *array.Int8:
		return int64(v.Value(i))
	case *array.Uint8:
		return int64(v.Value(i))
	case *array.Uint16:
		return int64(v.Value(i))
	case *array.Uint32:
		return int64(v.Value(i))
	case *array.Timestamp:
		return int64(v.Value(i))
	case *array.Date32:
		return int64(v.Value(i))
	case *array.Date64:
		return int64(v.Value(i))
	}
	return 0
}

func (c *colAcc) addInt(v int64, a arrow.Array, i int) {
	if !c.seen || v < c.loI {
		c.loI, c.lo = v, a.ValueStr(i)
	}
	if !c.seen || v > c.hiI {
		c.hiI, c.hi = v, a.ValueStr(i)
	}
	c.seen = true
}

func (c *colAcc) addFloat(v float64, bits int) {
	if math.IsNaN(v) {
		return
	}
	if !c.seen || v < c.loF {
		c.loF, c.lo = v, strconv.FormatFloat(v, 'g', -1, bits)
	}
	if !c.seen || v > c.hiF {
		c.hiF, c.hi = v, strconv.FormatFloat(v, 'g', -1, bits)
	}
	c.seen = true
}

// addText compares text by bytes. It keeps copies of the extremes: a
// string of a batch points into the batch's buffers.
func (c *colAcc) addText(v string) {
	if !c.seen || v < c.loS {
		c.loS = strings.Clone(v)
	}
	if !c.seen || v > c.hiS {
		c.hiS = strings.Clone(v)
	}
	c.lo, c.hi = c.loS, c.hiS
	c.seen = true
}

// result returns the figures by column.
func (s *statsAcc) result() []source.ColumnStats {
	out := make([]source.ColumnStats, len(s.names))
	for i, name := range s.names {
		c := s.cols[i]
		out[i] = source.ColumnStats{Column: name, Nulls: c.nulls, Min: printable(c.lo), Max: printable(c.hi)}
	}
	return out
}
