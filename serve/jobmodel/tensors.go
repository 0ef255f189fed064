package jobmodel

import (
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/serve"
)

// A column maps to a tensor whose first dimension is the row:
//
//	bool, int8 … uint64, float32, float64   [rows]          BOOL, INT8 …, FP32, FP64
//	string, large_string, binary, large_binary  [rows]     BYTES
//	fixed_size_list<T>[n] (nested too)      [rows, n, …]    T's datatype
//	list<T>, large_list<T>                  [rows, -1]      T's datatype; every row of
//	                                                        a request has the same length
//
// Other column types cannot be served; [tensorMeta] says which.

// datatypeOf returns the Open Inference Protocol datatype of a leaf type.
func datatypeOf(t arrow.DataType) (string, bool) {
	switch t.ID() {
	case arrow.BOOL:
		return "BOOL", true
	case arrow.INT8:
		return "INT8", true
	case arrow.INT16:
		return "INT16", true
	case arrow.INT32:
		return "INT32", true
	case arrow.INT64:
		return "INT64", true
	case arrow.UINT8:
		return "UINT8", true
	case arrow.UINT16:
		return "UINT16", true
	case arrow.UINT32:
		return "UINT32", true
	case arrow.UINT64:
		return "UINT64", true
	case arrow.FLOAT32:
		return "FP32", true
	case arrow.FLOAT64:
		return "FP64", true
	case arrow.STRING, arrow.LARGE_STRING, arrow.BINARY, arrow.LARGE_BINARY:
		return "BYTES", true
	}
	return "", false
}

// tensorMeta describes the tensor a column becomes.
func tensorMeta(f arrow.Field) (serve.TensorMetadata, error) {
	shape := []int64{-1}
	t := f.Type
	for {
		switch lt := t.(type) {
		case *arrow.FixedSizeListType:
			shape = append(shape, int64(lt.Len()))
			t = lt.Elem()
			continue
		case *arrow.ListType:
			shape = append(shape, -1)
			t = lt.Elem()
		case *arrow.LargeListType:
			shape = append(shape, -1)
			t = lt.Elem()
		}
		break
	}
	dt, ok := datatypeOf(t)
	if !ok || (dt == "BYTES" && len(shape) > 1) {
		return serve.TensorMetadata{}, fmt.Errorf("column %q (%s) has no tensor form: serve columns of numbers, strings or binaries, and fixed-size or variable lists of numbers", f.Name, f.Type)
	}
	return serve.TensorMetadata{Name: f.Name, Datatype: dt, Shape: shape}, nil
}

// schemaMeta describes every column of a schema as a tensor.
func schemaMeta(s *arrow.Schema) ([]serve.TensorMetadata, error) {
	out := make([]serve.TensorMetadata, 0, s.NumFields())
	for _, f := range s.Fields() {
		m, err := tensorMeta(f)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// toRecord builds a batch of the request schema from a request's tensors,
// which the server has checked against the metadata. The caller owns it.
func toRecord(mem memory.Allocator, s *arrow.Schema, in []serve.Tensor) (arrow.RecordBatch, error) {
	byName := make(map[string]*serve.Tensor, len(in))
	for i := range in {
		byName[in[i].Name] = &in[i]
	}
	rows := int64(-1)
	cols := make([]arrow.Array, 0, s.NumFields())
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	for i := range s.NumFields() {
		f := s.Field(i) // not Fields(), which copies them per request
		t := byName[f.Name]
		if t == nil {
			return nil, &serve.InputError{Input: f.Name, Expected: "an input for every column of the request", Got: "none"}
		}
		if len(t.Shape) == 0 {
			return nil, &serve.InputError{Input: f.Name, Expected: "a first dimension of rows", Got: "a scalar"}
		}
		if rows >= 0 && t.Shape[0] != rows {
			return nil, &serve.InputError{Input: f.Name, Expected: fmt.Sprintf("%d rows, like the other inputs", rows), Got: fmt.Sprintf("%d", t.Shape[0])}
		}
		rows = t.Shape[0]
		col, err := buildColumn(mem, f, t)
		if err != nil {
			return nil, err
		}
		cols = append(cols, col)
	}
	if rows <= 0 {
		return nil, &serve.InputError{Expected: "at least one row", Got: "0 rows"}
	}
	return array.NewRecordBatch(s, cols, rows), nil
}

// buildColumn turns one tensor into a column of field f's type.
func buildColumn(mem memory.Allocator, f arrow.Field, t *serve.Tensor) (arrow.Array, error) {
	b := array.NewBuilder(mem, f.Type)
	defer b.Release()
	rows := t.Shape[0]
	perRow := int64(1)
	for _, d := range t.Shape[1:] {
		perRow *= d
	}
	if err := appendRows(b, t, rows, perRow); err != nil {
		return nil, err
	}
	return b.NewArray(), nil
}

// appendRows appends rows rows of perRow leaf values each from t.Data.
func appendRows(b array.Builder, t *serve.Tensor, rows, perRow int64) error {
	switch lb := b.(type) {
	case *array.FixedSizeListBuilder:
		n := int64(lb.Type().(*arrow.FixedSizeListType).Len())
		if n == 0 || perRow%n != 0 {
			return &serve.InputError{Input: t.Name, Expected: fmt.Sprintf("rows of a multiple of %d values", n), Got: fmt.Sprintf("shape %v", t.Shape)}
		}
		lb.Reserve(int(rows))
		for i := int64(0); i < rows; i++ {
			lb.Append(true)
		}
		return appendRows(lb.ValueBuilder(), t, rows*n, perRow/n)
	case array.ListLikeBuilder:
		for i := int64(0); i < rows; i++ {
			lb.Append(true)
			if err := appendLeaves(lb.ValueBuilder(), t, i*perRow, (i+1)*perRow); err != nil {
				return err
			}
		}
		return nil
	}
	if perRow != 1 {
		return &serve.InputError{Input: t.Name, Expected: "one value per row", Got: fmt.Sprintf("shape %v", t.Shape)}
	}
	return appendLeaves(b, t, 0, rows)
}

// appendLeaves appends t.Data[from:to] to a builder of t's datatype.
func appendLeaves(b array.Builder, t *serve.Tensor, from, to int64) error {
	ok := false
	switch b := b.(type) {
	case *array.BooleanBuilder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Int8Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Int16Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Int32Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Int64Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Uint8Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Uint16Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Uint32Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Uint64Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Float32Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.Float64Builder:
		ok = appendSlice(b.AppendValues, t.Data, from, to)
	case *array.BinaryBuilder: // binary, large_binary
		return appendBytes(b, t, from, to, false)
	case *array.StringBuilder:
		return appendBytes(b.BinaryBuilder, t, from, to, true)
	case *array.LargeStringBuilder:
		return appendBytes(b.BinaryBuilder, t, from, to, true)
	}
	if !ok {
		return &serve.InputError{Input: t.Name, Expected: fmt.Sprintf("data for a %s column", b.Type()), Got: fmt.Sprintf("%s (%T)", t.Datatype, t.Data)}
	}
	return nil
}

// appendBytes appends BYTES elements, which must be UTF-8 for a string
// column.
func appendBytes(b *array.BinaryBuilder, t *serve.Tensor, from, to int64, text bool) error {
	vals, ok := t.Data.([][]byte)
	if !ok {
		return &serve.InputError{Input: t.Name, Expected: "BYTES data", Got: fmt.Sprintf("%s (%T)", t.Datatype, t.Data)}
	}
	vals = vals[from:to]
	if text {
		for i, v := range vals {
			if !utf8.Valid(v) {
				return &serve.InputError{Input: t.Name, Expected: "UTF-8 text", Got: fmt.Sprintf("invalid UTF-8 in element %d", from+int64(i))}
			}
		}
	}
	b.AppendValues(vals, nil)
	return nil
}

// appendSlice appends data[from:to] when data is a []T.
func appendSlice[T any](add func([]T, []bool), data any, from, to int64) bool {
	vals, ok := data.([]T)
	if ok {
		add(vals[from:to], nil)
	}
	return ok
}
