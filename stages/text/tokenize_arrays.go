package text

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// assemble builds the four output columns of n rows from the chunks'
// encodings: input_ids, attention_mask and token_type_ids as lists sharing
// one offsets buffer, and num_tokens.
func (s *tokenizeStage) assemble(chunks []*chunk, n int) []arrow.Array {
	offsets := memory.NewResizableBuffer(s.mem)
	offsets.Resize(4 * (n + 1))
	defer offsets.Release()
	offs := arrow.Int32Traits.CastFromBytes(offsets.Bytes())
	counts := memory.NewResizableBuffer(s.mem)
	counts.Resize(4 * n)
	defer counts.Release()
	cnt := arrow.Int32Traits.CastFromBytes(counts.Bytes())
	total, r := int32(0), 0
	for _, c := range chunks {
		for _, l := range c.lens {
			offs[r], cnt[r] = total, l
			total += l
			r++
		}
	}
	offs[n] = total
	ids, mask, types := s.values(chunks, int(total))
	out := make([]arrow.Array, 0, 4)
	for _, vals := range []*memory.Buffer{ids, mask, types} {
		out = append(out, s.list(offsets, vals, n, int(total)))
		vals.Release()
	}
	cd := array.NewData(arrow.PrimitiveTypes.Int32, n, []*memory.Buffer{nil, counts}, nil, 0, 0)
	defer cd.Release()
	return append(out, array.MakeFromData(cd))
}

// values copies the chunks' ids, masks and type ids into three buffers of
// the stage's id type.
func (s *tokenizeStage) values(chunks []*chunk, total int) (ids, mask, types *memory.Buffer) {
	size := s.idType.(arrow.FixedWidthDataType).BitWidth() / 8
	bufs := [3]*memory.Buffer{}
	for i := range bufs {
		bufs[i] = memory.NewResizableBuffer(s.mem)
		bufs[i].Resize(total * size)
	}
	at := 0
	for _, c := range chunks {
		for i, src := range [][]int32{c.enc.IDs, c.enc.Mask, c.enc.TypeIDs} {
			put(bufs[i].Bytes(), at, src, size)
		}
		at += len(c.enc.IDs)
	}
	return bufs[0], bufs[1], bufs[2]
}

// put writes src as values of size bytes at index at of dst.
func put(dst []byte, at int, src []int32, size int) {
	if size == 4 {
		copy(arrow.Int32Traits.CastFromBytes(dst)[at:], src)
		return
	}
	d := arrow.Int64Traits.CastFromBytes(dst)[at:]
	for i, v := range src {
		d[i] = int64(v)
	}
}

// list makes a list array of n rows over shared offsets and values.
func (s *tokenizeStage) list(offsets, values *memory.Buffer, n, total int) arrow.Array {
	child := array.NewData(s.idType, total, []*memory.Buffer{nil, values}, nil, 0, 0)
	defer child.Release()
	d := array.NewData(arrow.ListOf(s.idType), n, []*memory.Buffer{nil, offsets}, []arrow.ArrayData{child}, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}
