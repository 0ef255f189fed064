package model

import (
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/stages"
)

// PadMetadataKey is the field metadata key that gives the pad value of a
// variable-length list column, such as the pad id the tokenize stage
// writes on input_ids. A binding's own pad wins over it.
const PadMetadataKey = "pipe.pad"

// listElem returns the element type of a variable-length list type.
func listElem(t arrow.DataType) (arrow.DataType, bool) {
	switch lt := t.(type) {
	case *arrow.ListType:
		return lt.Elem(), true
	case *arrow.LargeListType:
		return lt.Elem(), true
	}
	return nil, false
}

// planList works out how a list<...> column feeds model input t: padded
// to the longest row of each batch when the model's row shape is one open
// dimension ([batch, seq]), or exactly the model's row size when its row
// shape is fixed (or given by the binding's shape).
func planList(t bridge.TensorInfo, b InputBinding, field arrow.Field, ip inputPlan) (inputPlan, error) {
	errf := func(format string, args ...any) error {
		return &stages.ColumnError{Column: b.Column, Msg: fmt.Sprintf("model input %q (%s %s): ", t.Name, t.Type, t.Shape) + fmt.Sprintf(format, args...)}
	}
	elem, _ := listElem(field.Type)
	if _, nested := listElem(elem); nested || elem.ID() == arrow.FIXED_SIZE_LIST {
		return ip, errf("nested list columns are not supported; flatten it")
	}
	if !convertible(elem, t.Type) || t.Type == bridge.Bool {
		return ip, errf("list elements are %s, which cannot be converted to %s", elem, t.Type)
	}
	ip.listed = true
	rest := t.Shape[1:]
	switch {
	case b.Shape != nil:
		if len(b.Shape) != len(rest) {
			return ip, errf("shape %v has %d dimensions; the model wants %d after the batch", b.Shape, len(b.Shape), len(rest))
		}
		ip.rowShape, ip.listLen = b.Shape, product(b.Shape)
	case len(rest) == 1 && rest[0].Dynamic():
		ip.ragged = true
	case len(rest) == 0:
		return ip, errf("the model takes one value per row; a list column needs a [batch, n] input")
	default:
		shape := make([]int64, len(rest))
		for i, d := range rest {
			if d.Dynamic() {
				return ip, errf("a list column feeds [batch, seq] (padded) or a fixed row shape; the model's row shape %s has open dimensions: give shape", bridge.Shape(rest))
			}
			shape[i] = d.Size
		}
		ip.rowShape, ip.listLen = shape, product(shape)
	}
	pad, err := padValue(b, field)
	if err != nil {
		return ip, errf("%v", err)
	}
	ip.pad = pad
	return ip, nil
}

// padValue is the binding's pad, else the column's pipe.pad metadata,
// else 0.
func padValue(b InputBinding, field arrow.Field) (float64, error) {
	if b.Pad != nil {
		return *b.Pad, nil
	}
	v, ok := field.Metadata.GetValue(PadMetadataKey)
	if !ok {
		return 0, nil
	}
	pad, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return 0, fmt.Errorf("metadata %s=%q is not a number", PadMetadataKey, v)
	}
	return pad, nil
}

// seqLen returns the longest row, among the first n rows of rec, of the
// plan's padded list inputs: the width every one of them is padded to.
func (p *plan) seqLen(rec arrow.RecordBatch, n int64) int64 {
	if !p.hasRagged() {
		return 0
	}
	var longest int64
	for _, l := range p.rowLens(rec, 0, n) {
		longest = max(longest, l)
	}
	return longest
}

// listTensor builds the tensor of a list input from the first n rows of
// col: rows padded with ip.pad up to seq values (a padded input), or
// exactly ip.listLen values each. The tensor's buffer comes from mem and
// is returned for the caller to free.
func listTensor(col arrow.Array, ip inputPlan, n, seq int64, mem memory.Allocator, rowBase int64) (bridge.Tensor, []byte, error) {
	l := col.(array.ListLike)
	width, shape := ip.listLen, append([]int64{n}, ip.rowShape...)
	if ip.ragged {
		width, shape = seq, []int64{n, seq}
	}
	if err := checkListRows(l, ip, n, rowBase); err != nil {
		return bridge.Tensor{}, nil, err
	}
	size := ip.want.Size()
	buf := mem.Allocate(int(n*width) * size)
	pad := make([]byte, size)
	if err := convertValue(ip.pad, ip.want, pad); err != nil {
		mem.Free(buf)
		return bridge.Tensor{}, nil, err
	}
	vals, err := listValueBytes(l, n, ip.want)
	if err != nil {
		mem.Free(buf)
		return bridge.Tensor{}, nil, &stages.ColumnError{Column: ip.colName, Msg: err.Error()}
	}
	first, _ := l.ValueOffsets(0)
	for r := range int(n) {
		lo, hi := l.ValueOffsets(r)
		row := buf[int64(r)*width*int64(size) : int64(r+1)*width*int64(size)]
		k := copy(row, vals[(lo-first)*int64(size):(hi-first)*int64(size)])
		for i := k; i < len(row); i += size {
			copy(row[i:], pad)
		}
	}
	return bridge.Tensor{Type: ip.want, Shape: shape, Data: buf}, buf, nil
}

// checkListRows reports the first of the first n rows that cannot feed
// the input (see listRowFault).
func checkListRows(l array.ListLike, ip inputPlan, n, rowBase int64) error {
	for r := range n {
		if msg := listRowFault(l, ip, r); msg != "" {
			return &RowError{Column: ip.colName, Row: rowBase + r, Msg: msg}
		}
	}
	return nil
}

// listRowFault says why row r of l cannot feed the input: a null list, a
// null value, or a length other than the model's fixed row size; "" when
// it can.
func listRowFault(l array.ListLike, ip inputPlan, r int64) string {
	if l.IsNull(int(r)) {
		return nullMsg
	}
	lo, hi := l.ValueOffsets(int(r))
	if !ip.ragged && hi-lo != ip.listLen {
		return fmt.Sprintf("has %d values; the model wants %d per row", hi-lo, ip.listLen)
	}
	if vals := l.ListValues(); vals.NullN() > 0 {
		for i := lo; i < hi; i++ {
			if vals.IsNull(int(i)) {
				return nullMsg
			}
		}
	}
	return ""
}

// listValueBytes returns the values of the first n rows of l as tensor
// bytes of type want: the column's own buffer when the types match, else
// a converted copy.
func listValueBytes(l array.ListLike, n int64, want bridge.ElemType) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	first, _ := l.ValueOffsets(0)
	_, last := l.ValueOffsets(int(n - 1))
	vals := array.NewSlice(l.ListValues(), first, last)
	defer vals.Release()
	if data, ok := rawBytes(vals, want); ok {
		return data, nil
	}
	out := make([]byte, vals.Len()*want.Size())
	if err := convert(vals, want, out); err != nil {
		return nil, err
	}
	return out, nil
}

// convertValue writes v as one value of type want into out.
func convertValue(v float64, want bridge.ElemType, out []byte) error {
	b := array.NewFloat64Builder(memory.DefaultAllocator)
	defer b.Release()
	b.Append(v)
	a := b.NewFloat64Array()
	defer a.Release()
	return convert(a, want, out)
}

// splitTokens cuts bt, in row order, into consecutive parts whose padded
// list inputs hold at most batch.max_tokens values each (rows times the
// part's longest row); a row longer than that runs alone. It returns bt
// alone when nothing bounds tokens. bt's record is released when it is
// split: each part holds its own slice.
func (s *Stage) splitTokens(bt batcher.Batch) []batcher.Batch {
	limit := int64(s.conf.Batch.MaxTokens)
	if limit <= 0 || !s.plan.hasRagged() || bt.Padding > 0 {
		return []batcher.Batch{bt}
	}
	lens := s.plan.rowLens(bt.Rec, 0, int64(bt.Rows))
	var parts []batcher.Batch
	lo, longest := int64(0), int64(0)
	for r, l := range lens {
		hi := int64(r)
		if hi > lo && (hi-lo+1)*max(longest, l) > limit {
			parts = append(parts, slicePart(bt, lo, hi))
			lo, longest = hi, 0
		}
		longest = max(longest, l)
	}
	if len(parts) == 0 {
		return []batcher.Batch{bt}
	}
	parts = append(parts, slicePart(bt, lo, int64(len(lens))))
	bt.Release()
	return parts
}

// slicePart is rows [lo, hi) of bt as a batch of its own.
func slicePart(bt batcher.Batch, lo, hi int64) batcher.Batch {
	return batcher.Batch{Rec: bt.Rec.NewSlice(lo, hi), Rows: int(hi - lo), Reason: bt.Reason, Waited: bt.Waited}
}

func (p *plan) hasRagged() bool {
	for _, ip := range p.inputs {
		if ip.ragged {
			return true
		}
	}
	return false
}

// rowLens returns the length of each of rows [from, from+n) of rec: its
// longest value among the padded list inputs (0 for a null).
func (p *plan) rowLens(rec arrow.RecordBatch, from, n int64) []int64 {
	lens := make([]int64, n)
	for _, ip := range p.inputs {
		if !ip.ragged {
			continue
		}
		l := rec.Column(ip.col).(array.ListLike)
		for r := range lens {
			if lo, hi := l.ValueOffsets(int(from) + r); l.IsValid(int(from) + r) {
				lens[r] = max(lens[r], hi-lo)
			}
		}
	}
	return lens
}

// countTokens adds the values of the first n rows of rec's padded list
// inputs to the stage's token counts, before and after padding.
func (s *Stage) countTokens(rec arrow.RecordBatch, n int64) {
	if !s.plan.hasRagged() {
		return
	}
	var real, longest int64
	for _, l := range s.plan.rowLens(rec, 0, n) {
		real += l
		longest = max(longest, l)
	}
	s.tokens.Add(real)
	s.padded.Add(longest * n)
}
