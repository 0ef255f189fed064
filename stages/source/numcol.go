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
	lay := planNumSlab(cols, n)
	slab := memory.NewResizableBuffer(mem)
	slab.Resize(lay.total)
	defer slab.Release()
	buf := slab.Bytes()

	var shared, sharedBitmap *memory.Buffer
	if lay.scalars > 0 {
		shared = memory.SliceBuffer(slab, lay.valuesOff, 8*n*lay.scalars)
		defer shared.Release()
	}
	if lay.scalarNulls {
		size := slabBitmapBytes(n * lay.scalars)
		clear(buf[lay.bitmapOff : lay.bitmapOff+size])
		sharedBitmap = memory.SliceBuffer(slab, lay.bitmapOff, size)
		defer sharedBitmap.Release()
	}
	bufs := make([]*memory.Buffer, 2*lay.scalars) // each scalar column's {bitmap, values}
	out := make([]arrow.Array, len(cols))
	off, k := 0, 0
	for i, c := range cols {
		if c.dim > 0 {
			out[i], off = vectorArray(slab, off, n, c)
			c.reset()
			continue
		}
		data := buf[lay.valuesOff+8*n*k : lay.valuesOff+8*n*(k+1)]
		if c.typ.ID() == arrow.INT64 {
			copy(arrow.Int64Traits.CastFromBytes(data), c.i64)
		} else {
			copy(arrow.Float64Traits.CastFromBytes(data), c.f64)
		}
		b := bufs[2*k : 2*k+2 : 2*k+2]
		b[1] = shared
		if c.nulls > 0 {
			bm := buf[lay.bitmapOff:]
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
	}
	return out
}

// slabAlign is the alignment of each buffer in a [buildNumColumns] slab.
const slabAlign = 64

// slabPad rounds x up to a multiple of slabAlign.
func slabPad(x int) int { return (x + slabAlign - 1) &^ (slabAlign - 1) }

// slabBitmapBytes is the size of a validity bitmap of bits bits.
func slabBitmapBytes(bits int) int { return int(bitutil.BytesForBits(int64(bits))) }

// A numSlab lays out the one buffer [buildNumColumns] allocates: first
// each vector column's bitmap (if it has nulls) and values, then the
// scalar columns' shared values at valuesOff and, if any has nulls, their
// shared bitmap at bitmapOff.
type numSlab struct {
	total                int
	scalars              int // scalar (int64, float64) columns
	scalarNulls          bool
	valuesOff, bitmapOff int
}

// planNumSlab lays out the slab for n rows of cols.
func planNumSlab(cols []*numColumn, n int) numSlab {
	var lay numSlab
	for _, c := range cols {
		if c.dim > 0 {
			lay.total += slabPad(c.width() * n)
			if c.nulls > 0 {
				lay.total += slabPad(slabBitmapBytes(n))
			}
			continue
		}
		lay.scalars++
		lay.scalarNulls = lay.scalarNulls || c.nulls > 0
	}
	lay.valuesOff = lay.total
	lay.total += slabPad(8 * n * lay.scalars)
	lay.bitmapOff = lay.total
	if lay.scalarNulls {
		lay.total += slabPad(slabBitmapBytes(n * lay.scalars))
	}
	return lay
}

// vectorArray builds the vector column c's array of n rows in slab at off,
// and returns it with the offset after it. Its values are its child's,
// the row bitmap the list's.
func vectorArray(slab *memory.Buffer, off, n int, c *numColumn) (arrow.Array, int) {
	buf := slab.Bytes()
	var bitmap *memory.Buffer
	if c.nulls > 0 {
		size := slabBitmapBytes(n)
		bm := buf[off : off+size]
		clear(bm)
		for r, ok := range c.valid {
			if ok {
				bitutil.SetBit(bm, r)
			}
		}
		bitmap = memory.SliceBuffer(slab, off, size)
		off += slabPad(size)
	}
	size := c.width() * n
	copy(arrow.Float32Traits.CastFromBytes(buf[off:off+size]), c.f32)
	values := memory.SliceBuffer(slab, off, size)
	off += slabPad(size)
	child := array.NewData(arrow.PrimitiveTypes.Float32, n*c.dim, []*memory.Buffer{nil, values}, nil, 0, 0)
	d := array.NewData(c.typ, n, []*memory.Buffer{bitmap}, []arrow.ArrayData{child}, c.nulls, 0)
	child.Release()
	arr := array.MakeFromData(d)
	d.Release()
	values.Release()
	if bitmap != nil {
		bitmap.Release()
	}
	return arr, off
}
