package sink

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// rebaseLists returns rec with every top-level fixed_size_list column that
// starts at a non-zero offset (a slice) replaced by an equal column at
// offset 0 whose child is the matching zero-copy slice of the values.
//
// arrow-go's Parquet writer (v18.8.0) ignores the offset of a sliced
// fixed_size_list column and writes the values of the first rows of the
// unsliced array instead: wrong data, and bytes that depend on where the
// batches were cut. Rebasing avoids both. The columns hold no null lists
// (Write rejects them), so the rebased columns need no validity bitmap.
//
// rec is borrowed; the result is owned by the caller (rec itself, retained,
// when nothing needed rebasing).
func rebaseLists(rec arrow.RecordBatch, fslCols []int) arrow.RecordBatch {
	var cols []arrow.Array
	for _, i := range fslCols {
		c := rec.Column(i)
		if c.Data().Offset() == 0 {
			continue
		}
		if cols == nil {
			cols = append([]arrow.Array(nil), rec.Columns()...)
		}
		cols[i] = rebaseList(c)
		defer cols[i].Release()
	}
	if cols == nil {
		rec.Retain()
		return rec
	}
	return array.NewRecordBatch(rec.Schema(), cols, rec.NumRows())
}

// rebaseList returns a fixed_size_list array equal to c (which holds no
// nulls) at offset 0, sharing c's values.
func rebaseList(c arrow.Array) arrow.Array {
	d := c.Data()
	size := int64(c.DataType().(*arrow.FixedSizeListType).Len())
	off, n := int64(d.Offset()), int64(d.Len())
	values := array.NewSliceData(d.Children()[0], off*size, (off+n)*size)
	defer values.Release()
	nd := array.NewData(c.DataType(), d.Len(), []*memory.Buffer{nil}, []arrow.ArrayData{values}, 0, 0)
	defer nd.Release()
	return array.MakeFromData(nd)
}
