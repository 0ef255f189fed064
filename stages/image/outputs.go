package image

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// outputs are the Arrow buffers of one batch's new columns, written in
// place by the workers (each row's slots by one worker only).
type outputs struct {
	plan     *plan
	per      int              // values per row
	tensor   *memory.Buffer   // float32 or uint8 values, n*per
	ints     []*memory.Buffer // width, height, then pad_x, pad_y (letterbox) or valid_width (fixed_height), int32
	scale    *memory.Buffer   // letterbox only
	f32      []float32
	u8       []byte
	i32      [][]int32
	scaleF32 []float32
	n        int
}

func newOutputs(mem memory.Allocator, p *plan, n int) *outputs {
	o := &outputs{plan: p, per: 3 * p.outW * p.outH, n: n}
	elem := 4
	if p.uint8Out {
		elem = 1
	}
	o.tensor = alloc(mem, n*o.per*elem)
	if p.uint8Out {
		o.u8 = o.tensor.Bytes()
	} else {
		o.f32 = arrow.Float32Traits.CastFromBytes(o.tensor.Bytes())
	}
	nInts := 2
	switch p.resize.Mode {
	case "letterbox":
		nInts = 4
		o.scale = alloc(mem, 4*n)
		o.scaleF32 = arrow.Float32Traits.CastFromBytes(o.scale.Bytes())
	case "fixed_height":
		nInts = 3
	}
	for range nInts {
		b := alloc(mem, 4*n)
		o.ints = append(o.ints, b)
		o.i32 = append(o.i32, arrow.Int32Traits.CastFromBytes(b.Bytes()))
	}
	return o
}

func alloc(mem memory.Allocator, size int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(size)
	return b
}

// release frees the buffers of a batch that failed.
func (o *outputs) release() {
	o.tensor.Release()
	for _, b := range o.ints {
		b.Release()
	}
	if o.scale != nil {
		o.scale.Release()
	}
}

// row writes row i's outputs from a decoded image.
func (o *outputs) row(i int, d decoded, canvas []byte) {
	w, h := d.size()
	pl := o.plan.place(w, h)
	o.plan.render(d, pl, canvas)
	if o.plan.uint8Out {
		o.plan.writeUint8(canvas, o.u8[i*o.per:(i+1)*o.per])
	} else {
		o.plan.writeFloat(canvas, o.f32[i*o.per:(i+1)*o.per])
	}
	o.i32[0][i], o.i32[1][i] = int32(w), int32(h)
	switch {
	case o.scale != nil:
		o.scaleF32[i] = pl.scale
		o.i32[2][i], o.i32[3][i] = int32(pl.dx), int32(pl.dy)
	case len(o.i32) == 3: // fixed_height: the unpadded width
		o.i32[2][i] = int32(pl.r.w)
	}
}

// record returns in's columns (retained) plus the outputs, handing the
// buffers' ownership to the arrays.
func (o *outputs) record(schema *arrow.Schema, in arrow.RecordBatch) arrow.RecordBatch {
	cols := append([]arrow.Array(nil), in.Columns()...)
	for _, c := range cols {
		c.Retain()
	}
	typ := schema.Field(len(cols)).Type.(*arrow.FixedSizeListType)
	vals := array.NewData(typ.Elem(), o.n*o.per, []*memory.Buffer{nil, o.tensor}, nil, 0, 0)
	list := array.NewData(typ, o.n, []*memory.Buffer{nil}, []arrow.ArrayData{vals}, 0, 0)
	cols = append(cols, array.MakeFromData(list))
	list.Release()
	vals.Release()
	o.tensor.Release()
	prim := func(t arrow.DataType, b *memory.Buffer) {
		d := array.NewData(t, o.n, []*memory.Buffer{nil, b}, nil, 0, 0)
		cols = append(cols, array.MakeFromData(d))
		d.Release()
		b.Release()
	}
	prim(arrow.PrimitiveTypes.Int32, o.ints[0])
	prim(arrow.PrimitiveTypes.Int32, o.ints[1])
	if o.scale != nil {
		prim(arrow.PrimitiveTypes.Float32, o.scale)
	}
	for _, b := range o.ints[2:] {
		prim(arrow.PrimitiveTypes.Int32, b)
	}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	return array.NewRecordBatch(schema, cols, int64(o.n))
}

// run decodes the n rows with up to s.threads goroutines, each holding one
// decoded image at a time and taking the next row as it finishes one.
// It waits for all of them, and returns the error of the lowest bad row.
func (s *imageStage) run(ctx context.Context, get imageGetter, out *outputs, n int) error {
	workers := max(1, min(s.threads, n))
	errs := make([]*RowError, workers)
	var next atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			canvas := make([]byte, 3*s.plan.outW*s.plan.outH)
			for !stop.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if err := ctx.Err(); err != nil {
					stop.Store(true)
					errs[w] = &RowError{Column: s.conf.Column, Row: -1, Err: err}
					return
				}
				r := get(i)
				d, err := s.decodeRow(r)
				if err != nil {
					stop.Store(true)
					errs[w] = &RowError{Column: s.conf.Column, Row: s.rows + int64(i), Path: r.path, Err: err}
					return
				}
				out.row(i, d, canvas)
			}
		}()
	}
	wg.Wait()
	return firstError(ctx, errs)
}

// decodeRow decodes one row's image, reading it from its file first when
// the row has a path and no bytes.
func (s *imageStage) decodeRow(r rowImage) (decoded, error) {
	b := r.bytes
	if r.file {
		var err error
		if b, err = s.files.read(r.path); err != nil {
			return decoded{}, err
		}
	}
	if s.native {
		return decodeNative(b, s.conf.MaxPixels, s.plan, s.conf.ShrinkOnLoad)
	}
	return decode(b, s.conf.MaxPixels, s.plan.bg)
}

// firstError returns the context's error if the batch was cancelled, else
// the row error with the lowest row, or nil.
func firstError(ctx context.Context, errs []*RowError) error {
	var first *RowError
	for _, e := range errs {
		if e == nil {
			continue
		}
		if e.Row < 0 {
			return ctx.Err()
		}
		if first == nil || e.Row < first.Row {
			first = e
		}
	}
	if first == nil {
		return nil
	}
	return first
}
