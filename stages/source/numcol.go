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
// one buffer allocated from mem, released when the last array is. The
// int64 and float64 columns share one values buffer and one validity
// bitmap, column k at offset k*n: a one-row batch of many scalar columns
// then costs two Go objects per column (its Data and array) instead of
// four.
func buildNumColumns(mem memory.Allocator, cols []*numColumn, n int) []arrow.Array {
	const align = 64
	pad := func(x int) int { return (x + align - 1) &^ (align - 1) }
	bitmapBytes := func(bits int) int { return int(bitutil.BytesForBits(int64(bits))) }
	scalars, scalarNulls := 0, false
	total := 0
	for _, c := range cols {
		if c.dim > 0 {
			total += pad(c.width() * n)
			if c.nulls > 0 {
				total += pad(bitmapBytes(n))
			}
			continue
		}
		scalars++
		scalarNulls = scalarNulls || c.nulls > 0
	}
	valuesOff := total
	total += pad(8 * n * scalars)
	bitmapOff := total
	if scalarNulls {
		total += pad(bitmapBytes(n * scalars))
	}
	slab := memory.NewResizableBuffer(mem)
	slab.Resize(total)
	defer slab.Release()
	buf := slab.Bytes()

	var shared, sharedBitmap *memory.Buffer
	if scalars > 0 {
		shared = memory.SliceBuffer(slab, valuesOff, 8*n*scalars)
		defer shared.Release()
	}
	if scalarNulls {
		clear(buf[bitmapOff : bitmapOff+bitmapBytes(n*scalars)])
		sharedBitmap = memory.SliceBuffer(slab, bitmapOff, bitmapBytes(n*scalars))
		defer sharedBitmap.Release()
	}
	bufs := make([]*memory.Buffer, 2*scalars) // each scalar column's {bitmap, values}
	out := make([]arrow.Array, len(cols))
	off, k := 0, 0
	for i, c := range cols {
		if c.dim == 0 {
			data := buf[valuesOff+8*n*k : valuesOff+8*n*(k+1)]
			if c.typ.ID() == arrow.INT64 {
				copy(arrow.Int64Traits.CastFromBytes(data), c.i64)
			} else {
				copy(arrow.Float64Traits.CastFromBytes(data), c.f64)
			}
			b := bufs[2*k : 2*k+2 : 2*k+2]
			b[1] = shared
			if c.nulls > 0 {
				bm := buf[bitmapOff:]
				for r, ok := range c.valid {
					if ok {
						bitutil.SetBit(bm, k*n+r)
					}
				}
				b[0] = sharedBitmap
			}
			d := array.NewData(c.typ, n, b, nil, c.nulls, k*n)
			out[i] = array.MakeFromData(d)
			d.Release()
			k++
			c.reset()
			continue
		}
		// A vector: its values are its child's, the row bitmap the list's.
		var bitmap *memory.Buffer
		if c.nulls > 0 {
			size := bitmapBytes(n)
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
		copy(arrow.Float32Traits.CastFromBytes(buf[off:off+size]), c.f32)
		values := memory.SliceBuffer(slab, off, size)
		off += pad(size)
		child := array.NewData(arrow.PrimitiveTypes.Float32, n*c.dim, []*memory.Buffer{nil, values}, nil, 0, 0)
		d := array.NewData(c.typ, n, []*memory.Buffer{bitmap}, []arrow.ArrayData{child}, c.nulls, 0)
		child.Release()
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
