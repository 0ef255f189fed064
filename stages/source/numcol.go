package source

import (
	"strconv"
	"strings"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// numColumn collects the values of one int64, float64 or vector column of
// a text source's batch in Go slices reused across batches.
// [buildNumColumns] turns a batch's columns into arrays whose buffers share
// one allocation: through Arrow builders, a JSON-lines stream read one row
// per batch costs two buffer allocations per column and row.
type numColumn struct {
	typ   arrow.DataType // int64, float64 or vector[dim]
	dim   int            // vector: numbers per row
	i64   []int64
	f64   []float64
	f32   []float32 // vector: dim per row, zeros for a null
	valid []bool
	nulls int
}

// isNumColumn reports whether a column of type dt can use numColumn.
func isNumColumn(dt arrow.DataType) bool {
	return dt.ID() == arrow.INT64 || dt.ID() == arrow.FLOAT64 || isVectorType(dt)
}

func newNumColumn(dt arrow.DataType) *numColumn {
	c := &numColumn{typ: dt}
	if l, ok := dt.(*arrow.FixedSizeListType); ok {
		c.dim = int(l.Len())
	}
	return c
}

// width is the bytes of one row's values.
func (c *numColumn) width() int {
	if c.dim > 0 {
		return 4 * c.dim
	}
	return 8
}

func (c *numColumn) len() int { return len(c.valid) }

func (c *numColumn) appendNull() {
	c.valid = append(c.valid, false)
	c.nulls++
	switch {
	case c.dim > 0:
		c.f32 = append(c.f32, make([]float32, c.dim)...)
	case c.typ.ID() == arrow.INT64:
		c.i64 = append(c.i64, 0)
	default:
		c.f64 = append(c.f64, 0)
	}
}

// appendText parses text as the column's type, as the int64, float64 and
// vector text appenders do, and appends it; false when it does not parse.
func (c *numColumn) appendText(text []byte) bool {
	// The string does not outlive the call: parse errors are dropped.
	s := strings.TrimSpace(unsafe.String(unsafe.SliceData(text), len(text)))
	if c.dim > 0 {
		before := len(c.f32)
		var ok bool
		if c.f32, ok = parseVector(s, c.dim, c.f32); !ok {
			c.f32 = c.f32[:before]
			return false
		}
		c.valid = append(c.valid, true)
		return true
	}
	if c.typ.ID() == arrow.INT64 {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return false
		}
		c.i64 = append(c.i64, v)
	} else {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return false
		}
		c.f64 = append(c.f64, v)
	}
	c.valid = append(c.valid, true)
	return true
}

// truncate keeps the first n values.
func (c *numColumn) truncate(n int) {
	if n >= len(c.valid) {
		return
	}
	for _, ok := range c.valid[n:] {
		if !ok {
			c.nulls--
		}
	}
	c.valid = c.valid[:n]
	c.i64, c.f64, c.f32 = c.i64[:min(n, len(c.i64))], c.f64[:min(n, len(c.f64))], c.f32[:min(n*c.dim, len(c.f32))]
}

// reset empties the column for the next batch, keeping its capacity.
func (c *numColumn) reset() {
	c.i64, c.f64, c.f32, c.valid, c.nulls = c.i64[:0], c.f64[:0], c.f32[:0], c.valid[:0], 0
}

// buildNumColumns turns each column's n values into an array (owned by
// the caller) and resets the columns. Every array's buffers are slices of
// one buffer allocated from mem, released when the last array is.
func buildNumColumns(mem memory.Allocator, cols []*numColumn, n int) []arrow.Array {
	const align = 64
	pad := func(x int) int { return (x + align - 1) &^ (align - 1) }
	total := 0
	for _, c := range cols {
		total += pad(c.width() * n)
		if c.nulls > 0 {
			total += pad(int(bitutil.BytesForBits(int64(n))))
		}
	}
	slab := memory.NewResizableBuffer(mem)
	slab.Resize(total)
	defer slab.Release()
	buf := slab.Bytes()
	out := make([]arrow.Array, len(cols))
	off := 0
	for i, c := range cols {
		var bitmap *memory.Buffer
		if c.nulls > 0 {
			size := int(bitutil.BytesForBits(int64(n)))
			bm := buf[off : off+size]
			clear(bm)
			for r, ok := range c.valid {
				if ok {
					bitutil.SetBit(bm, r)
				}
			}
			bitmap = memory.SliceBuffer(slab, off, size)
			off += pad(size)
		}
		size := c.width() * n
		data := buf[off : off+size]
		switch {
		case c.dim > 0:
			copy(arrow.Float32Traits.CastFromBytes(data), c.f32)
		case c.typ.ID() == arrow.INT64:
			copy(arrow.Int64Traits.CastFromBytes(data), c.i64)
		default:
			copy(arrow.Float64Traits.CastFromBytes(data), c.f64)
		}
		values := memory.SliceBuffer(slab, off, size)
		off += pad(size)
		var d arrow.ArrayData
		if c.dim > 0 {
			// A vector's values are its child's; the row bitmap is the list's.
			child := array.NewData(arrow.PrimitiveTypes.Float32, n*c.dim, []*memory.Buffer{nil, values}, nil, 0, 0)
			d = array.NewData(c.typ, n, []*memory.Buffer{bitmap}, []arrow.ArrayData{child}, c.nulls, 0)
			child.Release()
		} else {
			d = array.NewData(c.typ, n, []*memory.Buffer{bitmap, values}, nil, c.nulls, 0)
		}
		out[i] = array.MakeFromData(d)
		d.Release()
		values.Release()
		if bitmap != nil {
			bitmap.Release()
		}
		c.reset()
	}
	return out
}
