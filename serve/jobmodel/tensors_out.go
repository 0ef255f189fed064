package jobmodel

import (
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/serve"
)

// toTensors copies the columns of a request's rows, which may span several
// batches (parts), into response tensors, one per column of the response
// schema named in want (every column when want is empty).
func toTensors(s *arrow.Schema, parts []arrow.RecordBatch, want []serve.RequestedOutput) ([]serve.Tensor, error) {
	rows := int64(0)
	for _, p := range parts {
		rows += p.NumRows()
	}
	var out []serve.Tensor
	for i := range s.NumFields() {
		f := s.Field(i)
		if len(want) > 0 && !slices.ContainsFunc(want, func(o serve.RequestedOutput) bool { return o.Name == f.Name }) {
			continue
		}
		m, err := tensorMeta(f)
		if err != nil {
			return nil, err
		}
		t := serve.Tensor{Name: f.Name, Datatype: m.Datatype}
		var inner []int64
		for _, p := range parts {
			dims, err := leaves(p.Column(i), 0, int(p.NumRows()), &t.Data)
			if err != nil {
				return nil, fmt.Errorf("output %q: %w", f.Name, err)
			}
			if inner != nil && !slices.Equal(inner, dims) {
				return nil, fmt.Errorf("output %q: rows of shape %v and %v in one request: a tensor needs one shape", f.Name, inner, dims)
			}
			inner = dims
		}
		t.Shape = append([]int64{rows}, inner...)
		out = append(out, t)
	}
	return out, nil
}

// leaves appends the leaf values of rows [from, to) of arr to *acc (a typed
// slice, created on first use) and returns the dimensions of one row.
func leaves(arr arrow.Array, from, to int, acc *any) ([]int64, error) {
	if arr.NullN() > 0 {
		for i := from; i < to; i++ {
			if arr.IsNull(i) {
				return nil, fmt.Errorf("row %d is null: a tensor has no nulls", i)
			}
		}
	}
	switch a := arr.(type) {
	case *array.FixedSizeList:
		n := a.DataType().(*arrow.FixedSizeListType).Len()
		off := a.Data().Offset()
		dims, err := leaves(a.ListValues(), (off+from)*int(n), (off+to)*int(n), acc)
		return append([]int64{int64(n)}, dims...), err
	case array.ListLike:
		return listLeaves(a, from, to, acc)
	}
	return nil, appendLeafValues(arr, from, to, acc)
}

// listLeaves appends the values of variable-length list rows, which must
// all have the same length.
func listLeaves(a array.ListLike, from, to int, acc *any) ([]int64, error) {
	if from == to {
		return []int64{0}, nil
	}
	s0, e0 := a.ValueOffsets(from)
	n := e0 - s0
	for i := from + 1; i < to; i++ {
		if s, e := a.ValueOffsets(i); e-s != n {
			return nil, fmt.Errorf("rows of %d and %d values in one request: a tensor needs one length (row %d)", n, e-s, i)
		}
	}
	_, end := a.ValueOffsets(to - 1)
	dims, err := leaves(a.ListValues(), int(s0), int(end), acc)
	return append([]int64{n}, dims...), err
}

// appendLeafValues appends values [from, to) of a leaf array to *acc.
func appendLeafValues(arr arrow.Array, from, to int, acc *any) error {
	switch a := arr.(type) {
	case *array.Boolean:
		vals := make([]bool, 0, to-from)
		for i := from; i < to; i++ {
			vals = append(vals, a.Value(i))
		}
		return appendTo(acc, vals)
	case *array.Int8:
		return appendTo(acc, a.Int8Values()[from:to])
	case *array.Int16:
		return appendTo(acc, a.Int16Values()[from:to])
	case *array.Int32:
		return appendTo(acc, a.Int32Values()[from:to])
	case *array.Int64:
		return appendTo(acc, a.Int64Values()[from:to])
	case *array.Uint8:
		return appendTo(acc, a.Uint8Values()[from:to])
	case *array.Uint16:
		return appendTo(acc, a.Uint16Values()[from:to])
	case *array.Uint32:
		return appendTo(acc, a.Uint32Values()[from:to])
	case *array.Uint64:
		return appendTo(acc, a.Uint64Values()[from:to])
	case *array.Float32:
		return appendTo(acc, a.Float32Values()[from:to])
	case *array.Float64:
		return appendTo(acc, a.Float64Values()[from:to])
	case array.BinaryLike:
		vals := make([][]byte, 0, to-from)
		for i := from; i < to; i++ {
			vals = append(vals, bytesAt(arr, i))
		}
		return appendTo(acc, vals)
	}
	return fmt.Errorf("a column of %s has no tensor form", arr.DataType())
}

// bytesAt copies element i of a string or binary array.
func bytesAt(arr arrow.Array, i int) []byte {
	switch a := arr.(type) {
	case *array.String:
		return []byte(a.Value(i))
	case *array.LargeString:
		return []byte(a.Value(i))
	case *array.Binary:
		return slices.Clone(a.Value(i))
	case *array.LargeBinary:
		return slices.Clone(a.Value(i))
	}
	return nil
}

// appendTo appends a copy of vals to *acc, a []T or nil.
func appendTo[T any](acc *any, vals []T) error {
	if *acc == nil {
		*acc = slices.Clone(vals)
		return nil
	}
	have, ok := (*acc).([]T)
	if !ok {
		return fmt.Errorf("values of %T after %T", vals, *acc)
	}
	*acc = append(have, vals...)
	return nil
}
