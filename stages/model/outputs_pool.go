package model

import (
	"fmt"
	"math"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/stages"
)

// Pooling modes of a token-level output.
const (
	poolMean = "mean"
	poolCLS  = "cls"
	poolMax  = "max"
)

// planPooled plans a pooled output: the model's [batch, seq, dim] float
// output becomes one fixed_size_list<float32>[dim] per row.
func planPooled(op outputPlan, t bridge.TensorInfo, b OutputBinding) (outputPlan, error) {
	switch b.Pool {
	case poolMean, poolCLS, poolMax:
	default:
		return op, fmt.Errorf("model output %q: pool %q is not one of mean, cls, max", t.Name, b.Pool)
	}
	if len(t.Shape) != 3 || t.Shape[2].Dynamic() {
		return op, fmt.Errorf("model output %q %s: pool needs a [batch, seq, dim] output with a fixed dim", t.Name, t.Shape)
	}
	if t.Type != bridge.Float32 {
		return op, fmt.Errorf("model output %q is %s: pool takes float32 outputs", t.Name, t.Type)
	}
	op.pool, op.normalize, op.dim = b.Pool, b.Normalize, t.Shape[2].Size
	op.fields = []arrow.Field{{Name: b.Column, Type: arrow.FixedSizeListOfNonNullable(int32(op.dim), arrow.PrimitiveTypes.Float32)}}
	return op, nil
}

// maskColumn returns the column of the attention mask a pooled output
// uses: the binding's mask, else the column bound to the model input
// attention_mask, else -1 (each row's length among the padded inputs).
func (pl *planner) maskColumn(output string, b OutputBinding) (int, error) {
	name := b.Mask
	if name == "" {
		ib, ok := pl.conf.Inputs["attention_mask"]
		if !ok || ib.Column == "" {
			return -1, nil
		}
		name = ib.Column
	}
	idx, err := stages.Column(pl.in, name)
	if err != nil {
		return -1, fmt.Errorf("model output %q: mask: %w", output, err)
	}
	if _, ok := listElem(pl.in.Field(idx).Type); !ok {
		return -1, &stages.ColumnError{Column: name, Msg: fmt.Sprintf("the mask of pooled output %q must be a list column like the token ids, not %s", output, pl.in.Field(idx).Type)}
	}
	return idx, nil
}

// pooledArray reduces the [n', seq, dim] tensor t (n' >= n rows) to n
// vectors, keeping for each row the positions its mask keeps. It frees
// t's buffer.
func (op *outputPlan) pooledArray(t bridge.Tensor, rec arrow.RecordBatch, lo, n int64, lens []int64, mem memory.Allocator) (arrow.Array, error) {
	defer mem.Free(t.Data)
	if len(t.Shape) != 3 || t.Shape[0] < n || t.Shape[2] != op.dim || t.Type != bridge.Float32 {
		return nil, fmt.Errorf("model output %q is %s %v; pool wants [%d, seq, %d] float32", op.name, t.Type, t.Shape, n, op.dim)
	}
	seq, dim := t.Shape[1], op.dim
	vals := arrow.Float32Traits.CastFromBytes(t.Data)
	out := make([]float32, n*dim)
	var mask array.ListLike
	if op.maskCol >= 0 {
		mask, _ = rec.Column(op.maskCol).(array.ListLike)
	}
	for r := range n {
		keep := func(pos int64) bool { return pos < lens[r] }
		if mask != nil {
			keep = maskKeeps(mask, int(lo+r))
		}
		pool(op.pool, vals[r*seq*dim:(r+1)*seq*dim], seq, dim, keep, out[r*dim:(r+1)*dim])
		if op.normalize {
			normalize(out[r*dim : (r+1)*dim])
		}
	}
	b := array.NewFixedSizeListBuilder(mem, int32(dim), arrow.PrimitiveTypes.Float32)
	defer b.Release()
	b.AppendValues(make([]bool, n)) // all valid
	b.ValueBuilder().(*array.Float32Builder).AppendValues(out, nil)
	fsl := b.NewArray()
	defer fsl.Release()
	// The builder's type is nullable; the plan declared non-nullable.
	d := array.NewData(op.fields[0].Type, fsl.Len(), fsl.Data().Buffers(), fsl.Data().Children(), 0, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// maskKeeps returns whether a position of row r is kept by its mask (a
// nonzero value; positions past the mask's end are padding).
func maskKeeps(mask array.ListLike, r int) func(int64) bool {
	start, end := mask.ValueOffsets(r)
	get, err := getter(mask.ListValues())
	if err != nil {
		return func(int64) bool { return false }
	}
	return func(pos int64) bool { return start+pos < end && get(int(start+pos)) != 0 }
}

// pool reduces one row's [seq, dim] values into out. Means add up in
// float64, as the reference does.
func pool(mode string, v []float32, seq, dim int64, keep func(int64) bool, out []float32) {
	if mode == poolCLS {
		copy(out, v[:dim])
		return
	}
	acc := make([]float64, dim)
	if mode == poolMax {
		for d := range acc {
			acc[d] = math.Inf(-1)
		}
	}
	var kept int64
	for pos := range seq {
		if !keep(pos) {
			continue
		}
		kept++
		for d, x := range v[pos*dim : (pos+1)*dim] {
			if mode == poolMax {
				acc[d] = max(acc[d], float64(x))
			} else {
				acc[d] += float64(x)
			}
		}
	}
	for d := range out {
		switch {
		case kept == 0:
			out[d] = 0 // nothing kept (an empty row): a zero vector
		case mode == poolMean:
			out[d] = float32(acc[d] / float64(kept))
		default:
			out[d] = float32(acc[d])
		}
	}
}

// normalize scales v to unit L2 norm; a zero vector stays zero.
func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(sum))
	for i := range v {
		v[i] *= inv
	}
}

// outputArrays turns model output t of rows [lo, lo+n) of rec into the
// output's columns: pooled, labelled or as they are. It takes ownership of
// t's buffer.
func (s *Stage) outputArrays(op outputPlan, t bridge.Tensor, rec arrow.RecordBatch, lo, n int64) ([]arrow.Array, error) {
	switch {
	case op.pool != "":
		var lens []int64
		if op.maskCol < 0 {
			lens = s.plan.rowLens(rec, lo, n)
		}
		a, err := op.pooledArray(t, rec, lo, n, lens, s.mem)
		if err != nil {
			return nil, err
		}
		return []arrow.Array{a}, nil
	case op.labels != nil:
		return op.labelArrays(t, n, s.mem)
	case op.ctc != nil:
		return op.ctcArrays(t, n, s.mem)
	}
	return op.arrays(t, n, s.mem)
}
