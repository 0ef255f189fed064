package model

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/bridge"
)

// seqInfo is a model taking token ids and a mask [batch, seq] and giving
// token states [batch, seq, 2] and logits [batch, 3].
var seqInfo = bridge.ModelInfo{
	Inputs: []bridge.TensorInfo{
		{Name: "input_ids", Type: bridge.Int64, Shape: bridge.Shape{{Size: -1}, {Size: -1}}},
		{Name: "attention_mask", Type: bridge.Int64, Shape: bridge.Shape{{Size: -1}, {Size: -1}}},
	},
	Outputs: []bridge.TensorInfo{
		{Name: "hidden", Type: bridge.Float32, Shape: bridge.Shape{{Size: -1}, {Size: -1}, {Size: 2}}},
		{Name: "logits", Type: bridge.Float32, Shape: bridge.Shape{{Size: -1}, {Size: 3}}},
	},
}

// tokenRows builds list<int64> columns ids and mask (mask all ones, same
// lengths) from rows; a nil row is null. ids carry pipe.pad metadata 9.
func tokenRows(mem memory.Allocator, rows [][]int64) arrow.RecordBatch {
	md := arrow.NewMetadata([]string{PadMetadataKey}, []string{"9"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true, Metadata: md},
		{Name: "mask", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64), Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for _, r := range rows {
		for j := range 2 {
			lb := b.Field(j).(*array.ListBuilder)
			if r == nil {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			for _, v := range r {
				if j == 1 {
					v = 1
				}
				lb.ValueBuilder().(*array.Int64Builder).Append(v)
			}
		}
	}
	return b.NewRecordBatch()
}

func seqPlan(t *testing.T, schema *arrow.Schema, outputs map[string]OutputBinding) *plan {
	t.Helper()
	conf := defaults()
	conf.Inputs = map[string]InputBinding{"input_ids": {Column: "ids"}, "attention_mask": {Column: "mask", Pad: new(float64)}}
	conf.Outputs = outputs
	p, err := newPlan(&conf, schema, seqInfo)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestRaggedTensors: list columns become [n, longest] tensors, each row
// padded with its pad (the column's metadata for ids, the binding's 0 for
// the mask); a null row is an error naming the column and row.
func TestRaggedTensors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := tokenRows(mem, [][]int64{{5, 6}, {7}, {1, 2, 3, 4}, {}})
	defer rec.Release()
	p := seqPlan(t, rec.Schema(), map[string]OutputBinding{"logits": {Column: "logits"}})
	ts, owned, err := p.tensors(rec, mem, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, b := range owned {
			mem.Free(b)
		}
	}()
	wantIDs := []int64{5, 6, 9, 9, 7, 9, 9, 9, 1, 2, 3, 4, 9, 9, 9, 9}
	wantMask := []int64{1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}
	for i, want := range [][]int64{wantIDs, wantMask} {
		got := arrow.Int64Traits.CastFromBytes(ts[i].Data)
		if !slices.Equal(ts[i].Shape, []int64{4, 4}) || !slices.Equal(got, want) {
			t.Errorf("input %d: shape %v values %v, want [4 4] %v", i, ts[i].Shape, got, want)
		}
	}

	bad := tokenRows(mem, [][]int64{{1}, nil})
	defer bad.Release()
	_, owned2, err := p.tensors(bad, mem, 100)
	var re *RowError
	if !errors.As(err, &re) || re.Column != "ids" || re.Row != 101 || owned2 != nil {
		t.Errorf("null row: %v (owned %d), want a RowError for ids row 101", err, len(owned2))
	}
}

// TestSplitTokens: a batch is cut in row order into parts of at most
// max_tokens padded values (rows x longest), a long row alone.
func TestSplitTokens(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rows := [][]int64{{1, 2}, {1}, {1, 2, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {1}, {1}, {1, 2}}
	for _, tc := range []struct {
		maxTokens int
		want      []int
	}{
		{0, []int{7}},
		{70, []int{7}},
		{6, []int{2, 1, 1, 3}}, // {2,1}: 2x2=4; +{3}: 3x3=9>6; {3}; +{10}: 20>6; {10} alone; {1,1,2}: 3x2=6
		{20, []int{3, 2, 2}},   // {2,1,3}: 9; +{10}: 40>20; {10,1}: 20; +{1}: 30>20; {1,2}: 4
	} {
		rec := tokenRows(mem, rows)
		s := &Stage{conf: defaults(), plan: seqPlan(t, rec.Schema(), map[string]OutputBinding{"logits": {Column: "logits"}})}
		s.conf.Batch.MaxTokens = tc.maxTokens
		parts := s.splitTokens(batcher.Batch{Rec: rec, Rows: len(rows), Reason: batcher.Full})
		var got []int
		var ids []int64
		for _, p := range parts {
			got = append(got, p.Rows)
			if p.Reason != batcher.Full || int(p.Rec.NumRows()) != p.Rows {
				t.Errorf("max_tokens %d: part %+v lost its reason or rows", tc.maxTokens, p)
			}
			l := p.Rec.Column(0).(*array.List)
			for r := range p.Rows {
				lo, _ := l.ValueOffsets(r)
				ids = append(ids, l.ListValues().(*array.Int64).Value(int(lo)))
			}
			p.Release()
		}
		if !slices.Equal(got, tc.want) || len(ids) != len(rows) {
			t.Errorf("max_tokens %d: parts of %v rows, want %v", tc.maxTokens, got, tc.want)
		}
	}
}

// TestPool: mean and max keep the positions the mask (or the length)
// keeps, cls the first; normalize gives unit length; an empty row pools
// to zeros.
func TestPool(t *testing.T) {
	// One row, seq 3, dim 2; position 2 is padding.
	v := []float32{1, 2, 3, -4, 100, 100}
	keep := func(pos int64) bool { return pos < 2 }
	for _, tc := range []struct {
		mode string
		want []float32
	}{{poolMean, []float32{2, -1}}, {poolMax, []float32{3, 2}}, {poolCLS, []float32{1, 2}}} {
		out := make([]float32, 2)
		pool(tc.mode, v, 3, 2, keep, out)
		if !slices.Equal(out, tc.want) {
			t.Errorf("%s: %v, want %v", tc.mode, out, tc.want)
		}
	}
	out := make([]float32, 2)
	pool(poolMean, v, 3, 2, func(int64) bool { return false }, out)
	if out[0] != 0 || out[1] != 0 {
		t.Errorf("empty row: %v, want zeros", out)
	}
	n := []float32{3, 4}
	normalize(n)
	if math.Abs(float64(n[0])-0.6) > 1e-7 || math.Abs(float64(n[1])-0.8) > 1e-7 {
		t.Errorf("normalize: %v, want [0.6 0.8]", n)
	}
}

// TestLabels: scores become the top_k names, highest first (ties: lower
// class), after softmax; the plan refuses a label count the model
// contradicts.
func TestLabels(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := tokenRows(mem, [][]int64{{1}, {2}})
	defer rec.Release()
	names := &LabelNames{Names: []string{"neg", "neu", "pos"}}
	p := seqPlan(t, rec.Schema(), map[string]OutputBinding{"logits": {Column: "sent", Labels: names, TopK: 2}})
	op := p.outputs[0]
	logits := []float32{0, 0, 1, 2, 1, 1}
	buf := mem.Allocate(4 * len(logits))
	copy(arrow.Float32Traits.CastFromBytes(buf), logits)
	arrs, err := op.labelArrays(bridge.Tensor{Type: bridge.Float32, Shape: []int64{2, 3}, Data: buf}, 2, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer arrs[0].Release()
	defer arrs[1].Release()
	got := arrs[0].String() + " " + arrs[1].String()
	e := math.E
	p0, p1 := e/(2+e), math.Exp(2)/(math.Exp(2)+2*e)
	if !strings.HasPrefix(got, `[["pos" "neg"] ["neg" "neu"]]`) {
		t.Errorf("labels %s", got)
	}
	sc := arrs[1].(*array.List).ListValues().(*array.Float32).Float32Values()
	if math.Abs(float64(sc[0])-p0) > 1e-6 || math.Abs(float64(sc[2])-p1) > 1e-6 {
		t.Errorf("scores %v, want %v first and %v third", sc, p0, p1)
	}
	conf := defaults()
	conf.Inputs = map[string]InputBinding{"input_ids": {Column: "ids"}, "attention_mask": {Column: "mask"}}
	conf.Outputs = map[string]OutputBinding{"logits": {Column: "sent", Labels: &LabelNames{Names: []string{"a", "b"}}}}
	if _, err := newPlan(&conf, rec.Schema(), seqInfo); err == nil || !strings.Contains(err.Error(), "3 classes but 2 labels") {
		t.Errorf("label count: %v", err)
	}
}
