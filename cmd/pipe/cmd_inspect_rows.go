package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/units"
	"github.com/pipe-ml/pipe/stages/source"
)

// Limits of a cell of the --head table.
const (
	cellWidth = 40 // characters of one cell; longer values end in "…"
	listShown = 3  // items of a list shown before "… N items"
	headBatch = 1024
)

// writeHead prints the first n rows of the data files, read in order, as a
// table. It reads batches of at most min(n, 1024) rows from mem and keeps
// only the cells' text, so its memory is bounded by n and the sources'
// limits.
func writeHead(ctx context.Context, w io.Writer, mem memory.Allocator, files []string, n int) error {
	var header []string
	var rows [][]string
	for _, path := range files {
		if len(rows) >= n {
			break
		}
		h, more, err := headOf(ctx, mem, path, n-len(rows))
		if err != nil {
			return err
		}
		if header == nil {
			header = h
		}
		rows = append(rows, more...)
	}
	if header == nil {
		return nil
	}
	var b strings.Builder
	writeTable(&b, "", append([][]string{header}, rows...), nil)
	fmt.Fprintf(&b, "(%d rows shown)\n", len(rows))
	_, err := io.WriteString(w, b.String())
	return err
}

// headOf reads the column names and the cells of the first n rows of
// one file.
func headOf(ctx context.Context, mem memory.Allocator, path string, n int) (header []string, rows [][]string, err error) {
	src, _, err := source.OpenFile(path, mem, min(n, headBatch))
	if err != nil {
		return nil, nil, err
	}
	defer src.Close()
	for _, f := range src.Schema().Fields() {
		header = append(header, f.Name)
	}
	for len(rows) < n {
		rec, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		for i := 0; i < int(rec.NumRows()) && len(rows) < n; i++ {
			row := make([]string, rec.NumCols())
			for c, col := range rec.Columns() {
				row[c] = cellText(col, i)
			}
			rows = append(rows, row)
		}
		rec.Release()
	}
	return header, rows, nil
}

// cellText renders one value for the table: lists and binary abbreviated,
// text cut at cellWidth characters.
func cellText(a arrow.Array, i int) string {
	return clip(valueText(a, i), cellWidth)
}

// valueText renders value i of a.
func valueText(a arrow.Array, i int) string {
	if a.IsNull(i) {
		return "null"
	}
	switch a := a.(type) {
	case *array.String:
		return printable(a.Value(i))
	case *array.LargeString:
		return printable(a.Value(i))
	case *array.Binary:
		return "<binary " + units.Bytes(int64(len(a.Value(i)))) + ">"
	case *array.LargeBinary:
		return "<binary " + units.Bytes(int64(len(a.Value(i)))) + ">"
	case *array.FixedSizeBinary:
		return "<binary " + units.Bytes(int64(len(a.Value(i)))) + ">"
	case array.ListLike:
		from, to := a.ValueOffsets(i)
		return listText(a.ListValues(), int(from), int(to))
	case *array.Struct:
		parts := make([]string, a.NumField())
		st := a.DataType().(*arrow.StructType)
		for f := range a.NumField() {
			parts[f] = st.Field(f).Name + ": " + clip(valueText(a.Field(f), i), cellWidth)
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case *array.Float32:
		return strconv.FormatFloat(float64(a.Value(i)), 'g', 6, 32)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(i), 'g', 6, 64)
	}
	return printable(a.ValueStr(i))
}

// listText renders items [from, to) of values: all of a short list, the
// first listShown and the count of a longer one.
func listText(values arrow.Array, from, to int) string {
	n := to - from
	shown := n
	if n > listShown {
		shown = listShown - 1
	}
	parts := make([]string, 0, shown+1)
	for j := from; j < from+shown; j++ {
		parts = append(parts, clip(valueText(values, j), 12))
	}
	if shown < n {
		parts = append(parts, fmt.Sprintf("… %d items", n))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// printable escapes control characters, so that a value stays on its
// line of the table.
func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return s
	}
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}

// clip cuts s to at most width characters, ending in "…" when cut.
func clip(s string, width int) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// writeTable writes rows (the first the header) as columns separated by
// two spaces, each line after indent; right[c] right-aligns column c.
func writeTable(b *strings.Builder, indent string, rows [][]string, right []bool) {
	var widths []int
	for _, row := range rows {
		for c, cell := range row {
			if c == len(widths) {
				widths = append(widths, 0)
			}
			widths[c] = max(widths[c], utf8.RuneCountInString(cell))
		}
	}
	for _, row := range rows {
		b.WriteString(indent)
		for c, cell := range row {
			pad := strings.Repeat(" ", widths[c]-utf8.RuneCountInString(cell))
			if c > 0 {
				b.WriteString("  ")
			}
			switch {
			case c < len(right) && right[c]:
				b.WriteString(pad + cell)
			case c == len(row)-1:
				b.WriteString(cell)
			default:
				b.WriteString(cell + pad)
			}
		}
		b.WriteString("\n")
	}
}
