package model

import (
	"encoding/binary"
	"fmt"
	"math"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/stages"
)

// RowError is a problem with one row of a model input column.
type RowError struct {
	Column string
	Row    int64
	Msg    string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("column %q, row %d: %s", e.Column, e.Row, e.Msg)
}

// tensors builds the model's input tensors for rec. Values are not copied
// when the column's element type is the model's (the tensor borrows the
// column's buffer, so rec must stay alive until the call returns); otherwise
// they are converted into buffers from mem, returned in owned for the caller
// to free. rowBase numbers the rows in errors.
func (p *plan) tensors(rec arrow.RecordBatch, mem memory.Allocator, rowBase int64) (ts []bridge.Tensor, owned [][]byte, err error) {
	n := rec.NumRows()
	ts = make([]bridge.Tensor, len(p.inputs))
	defer func() {
		if err != nil {
			for _, b := range owned {
				mem.Free(b)
			}
			owned = nil
		}
	}()
	seq := p.seqLen(rec, n)
	for i, ip := range p.inputs {
		if ip.listed {
			t, buf, err := listTensor(rec.Column(ip.col), ip, n, seq, mem, rowBase)
			if err != nil {
				return nil, owned, err
			}
			ts[i] = t
			owned = append(owned, buf)
			continue
		}
		if ip.constant != nil {
			t, buf := constantTensor(ip, n, mem)
			ts[i] = t
			owned = append(owned, buf)
			continue
		}
		if ip.cols != nil {
			buf := mem.Allocate(int(n) * len(ip.cols) * ip.want.Size())
			owned = append(owned, buf)
			if err := pack(rec, ip, buf, rowBase); err != nil {
				return nil, owned, err
			}
			ts[i] = bridge.Tensor{Type: ip.want, Shape: append([]int64{n}, ip.rowShape...), Data: buf}
			continue
		}
		shape := append([]int64{n}, ip.rowShape...)
		col := rec.Column(ip.col)
		values := col
		per := int64(1)
		if fsl, ok := col.(*array.FixedSizeList); ok {
			if col.NullN() > 0 {
				return nil, owned, &RowError{Column: ip.colName, Row: rowBase + firstNull(col), Msg: "null value; the model cannot take nulls"}
			}
			per = int64(fsl.DataType().(*arrow.FixedSizeListType).Len())
			start := int64(fsl.Offset()) * per
			values = array.NewSlice(fsl.ListValues(), start, start+n*per)
			defer values.Release()
		}
		if values.NullN() > 0 {
			return nil, owned, &RowError{Column: ip.colName, Row: rowBase + firstNull(values)/per, Msg: "null value; the model cannot take nulls"}
		}
		if data, ok := rawBytes(values, ip.want); ok {
			ts[i] = bridge.Tensor{Type: ip.want, Shape: shape, Data: data}
			continue
		}
		buf := mem.Allocate(int(n*per) * ip.want.Size())
		owned = append(owned, buf)
		if err := convert(values, ip.want, buf); err != nil {
			return nil, owned, &stages.ColumnError{Column: ip.colName, Msg: err.Error()}
		}
		ts[i] = bridge.Tensor{Type: ip.want, Shape: shape, Data: buf}
	}
	return ts, owned, nil
}

func firstNull(a arrow.Array) int64 {
	for i := range a.Len() {
		if a.IsNull(i) {
			return int64(i)
		}
	}
	return 0
}

// rawBytes returns the values of a as bytes without copying when their
// in-memory layout is already that of a tensor of type want.
func rawBytes(a arrow.Array, want bridge.ElemType) ([]byte, bool) {
	// Booleans are bit-packed in Arrow and one byte each in a tensor.
	at, ok := arrowOf(want)
	if !ok || want == bridge.Bool || a.DataType().ID() != at.ID() {
		return nil, false
	}
	size := want.Size()
	buf := a.Data().Buffers()[1]
	if buf == nil {
		return nil, a.Len() == 0
	}
	off := a.Data().Offset() * size
	return buf.Bytes()[off : off+a.Len()*size], true
}

// convert writes the values of a, converted to type want, into out.
func convert(a arrow.Array, want bridge.ElemType, out []byte) error {
	return convertAt(a, want, out, 1, 0, 0, a.Len())
}

// convertAt writes rows [lo, hi) of a, converted to type want, into out at
// element i*k+j for row i: column j of rows of k values (k 1, j 0: a flat
// array). Values go through float64, as [getter] reads them.
func convertAt(a arrow.Array, want bridge.ElemType, out []byte, k, j, lo, hi int) error {
	get, err := getter(a)
	if err != nil {
		return err
	}
	switch want {
	case bridge.Bool:
		b, ok := a.(*array.Boolean)
		if !ok {
			return fmt.Errorf("%s cannot feed a bool input", a.DataType())
		}
		for i := lo; i < hi; i++ {
			out[i*k+j] = 0
			if b.Value(i) {
				out[i*k+j] = 1
			}
		}
		return nil
	case bridge.Float32:
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint32(out[4*(i*k+j):], math.Float32bits(float32(get(i))))
		}
	case bridge.Float64:
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint64(out[8*(i*k+j):], math.Float64bits(get(i)))
		}
	case bridge.Float16:
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint16(out[2*(i*k+j):], float16.New(float32(get(i))).Uint16())
		}
	case bridge.Int64, bridge.Uint64:
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint64(out[8*(i*k+j):], uint64(int64(get(i))))
		}
	case bridge.Int32, bridge.Uint32:
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint32(out[4*(i*k+j):], uint32(int32(get(i))))
		}
	case bridge.Int16, bridge.Uint16:
		for i := lo; i < hi; i++ {
			binary.LittleEndian.PutUint16(out[2*(i*k+j):], uint16(int16(get(i))))
		}
	case bridge.Int8, bridge.Uint8:
		for i := lo; i < hi; i++ {
			out[i*k+j] = byte(int8(get(i)))
		}
	default:
		return fmt.Errorf("cannot convert %s to %s", a.DataType(), want)
	}
	return nil
}

// getter returns a function reading element i of a numeric array as float64.
// int64 values beyond 2^53 lose precision; such ids feed int64 inputs without
// conversion.
func getter(a arrow.Array) (func(int) float64, error) {
	switch c := a.(type) {
	case *array.Float32:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Float64:
		return c.Value, nil
	case *array.Float16:
		return func(i int) float64 { return float64(c.Value(i).Float32()) }, nil
	case *array.Int8:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Int16:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Int32:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Int64:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Uint8:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Uint16:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Uint32:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Uint64:
		return func(i int) float64 { return float64(c.Value(i)) }, nil
	case *array.Boolean:
		return func(i int) float64 {
			if c.Value(i) {
				return 1
			}
			return 0
		}, nil
	}
	return nil, fmt.Errorf("%s values cannot be converted to numbers", a.DataType())
}

// constantTensor builds the tensor of a constant input for a batch of n rows.
func constantTensor(ip inputPlan, n int64, mem memory.Allocator) (bridge.Tensor, []byte) {
	c := ip.constant
	vals := c.Values
	if c.Bool != nil {
		vals = []float64{0}
		if *c.Bool {
			vals[0] = 1
		}
	}
	var shape []int64
	reps := int64(1)
	if ip.batched {
		shape = append(shape, n)
		reps = n
	}
	shape = append(shape, ip.rowShape...)
	per := len(vals)
	size := ip.want.Size()
	buf := mem.Allocate(int(reps) * per * size)
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	b.AppendValues(vals, nil)
	src := b.NewFloat64Array()
	b.Release()
	one := make([]byte, per*size)
	if ip.want == bridge.Bool {
		for i, v := range vals {
			if v != 0 {
				one[i] = 1
			}
		}
	} else {
		_ = convert(src, ip.want, one)
	}
	src.Release()
	for r := int64(0); r < reps; r++ {
		copy(buf[int(r)*len(one):], one)
	}
	return bridge.Tensor{Type: ip.want, Shape: shape, Data: buf}, buf
}

// arrays turns model output t, for n real rows, into the output's arrays.
// The tensor's buffer becomes the arrays' memory without a copy where the
// layout allows; it is owned by the returned arrays afterwards.
func (op *outputPlan) arrays(t bridge.Tensor, n int64, mem memory.Allocator) ([]arrow.Array, error) {
	rows := int64(0)
	if len(t.Shape) > 0 {
		rows = t.Shape[0]
	}
	if rows < n {
		mem.Free(t.Data)
		return nil, fmt.Errorf("model output %q has %d rows for a batch of %d", op.name, rows, n)
	}
	per := int64(1)
	if len(t.Shape) > 1 {
		per = product(t.Shape[1:])
	}
	at, _ := arrowOf(op.elem)
	if t.Type != op.elem {
		mem.Free(t.Data)
		return nil, fmt.Errorf("model output %q is %s, declared %s", op.name, t.Type, op.elem)
	}
	if op.rowSize > 0 && per != op.rowSize {
		mem.Free(t.Data)
		return nil, fmt.Errorf("model output %q has %d values per row, declared %d", op.name, per, op.rowSize)
	}
	flat := flatArray(at, t.Data, rows*per, mem)
	defer flat.Release()
	switch {
	case len(op.columns) > 1:
		if per != int64(len(op.columns)) {
			return nil, fmt.Errorf("model output %q has %d values per row for %d columns", op.name, per, len(op.columns))
		}
		out := make([]arrow.Array, len(op.columns))
		for j := range op.columns {
			out[j] = strided(flat, j, int(per), int(n), mem)
		}
		return out, nil
	case per == 1:
		return []arrow.Array{array.NewSlice(flat, 0, n)}, nil
	}
	sliced := array.NewSlice(flat, 0, n*per)
	defer sliced.Release()
	fslType := arrow.FixedSizeListOfNonNullable(int32(per), at)
	data := array.NewData(fslType, int(n), []*memory.Buffer{nil}, []arrow.ArrayData{sliced.Data()}, 0, 0)
	defer data.Release()
	return []arrow.Array{array.MakeFromData(data)}, nil
}

// flatArray wraps tensor bytes as a flat array of type at, taking ownership
// of data (freed to mem with the array).
func flatArray(at arrow.DataType, data []byte, n int64, mem memory.Allocator) arrow.Array {
	if at.ID() == arrow.BOOL {
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		b.Reserve(int(n))
		for i := range n {
			b.UnsafeAppend(data[i] != 0)
		}
		mem.Free(data)
		return b.NewArray()
	}
	buf := memory.NewBufferWithAllocator(data, mem)
	defer buf.Release()
	d := array.NewData(at, int(n), []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// strided copies every per-th value of flat starting at j into a new array
// of n rows.
func strided(flat arrow.Array, j, per, n int, mem memory.Allocator) arrow.Array {
	size := flat.DataType().(arrow.FixedWidthDataType).BitWidth() / 8
	if flat.DataType().ID() == arrow.BOOL {
		src := flat.(*array.Boolean)
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		for i := range n {
			b.Append(src.Value(i*per + j))
		}
		return b.NewArray()
	}
	src := flat.Data().Buffers()[1].Bytes()
	out := memory.NewResizableBuffer(mem)
	out.Resize(n * size)
	if n > 0 {
		switch dst := out.Bytes(); size {
		case 1:
			gather(dst, src, j, per)
		case 2:
			gather(words[uint16](dst), words[uint16](src), j, per)
		case 4:
			gather(words[uint32](dst), words[uint32](src), j, per)
		case 8:
			gather(words[uint64](dst), words[uint64](src), j, per)
		default:
			for i := range n {
				copy(dst[i*size:(i+1)*size], src[(i*per+j)*size:(i*per+j+1)*size])
			}
		}
	}
	d := array.NewData(flat.DataType(), n, []*memory.Buffer{nil, out}, nil, 0, 0)
	out.Release()
	defer d.Release()
	return array.MakeFromData(d)
}

// gather sets dst[i] to src[i*per+j]: column j of rows of per values.
func gather[T any](dst, src []T, j, per int) {
	for i := range dst {
		dst[i] = src[i*per+j]
	}
}

// words views b, which Arrow allocated aligned, as values of T.
func words[T uint16 | uint32 | uint64](b []byte) []T {
	var zero T
	return unsafe.Slice((*T)(unsafe.Pointer(unsafe.SliceData(b))), len(b)/int(unsafe.Sizeof(zero)))
}
