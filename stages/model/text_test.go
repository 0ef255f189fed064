package model_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages/model"
)

// tokenBatch builds rows of token ids with their mask and type ids as
// list<int64> columns (as the tokenize stage writes them), lengths drawn
// from lens.
func tokenBatch(mem memory.Allocator, rng *rand.Rand, lens []int) (arrow.RecordBatch, [][]int64) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "input_ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
		{Name: "attention_mask", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
		{Name: "token_type_ids", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	rows := make([][]int64, len(lens))
	for r, n := range lens {
		for j := range 3 {
			b.Field(j).(*array.ListBuilder).Append(true)
		}
		for i := range n {
			id := int64(rng.IntN(30522))
			if i == 0 {
				id = 101 // [CLS]
			}
			rows[r] = append(rows[r], id)
			b.Field(0).(*array.ListBuilder).ValueBuilder().(*array.Int64Builder).Append(id)
			b.Field(1).(*array.ListBuilder).ValueBuilder().(*array.Int64Builder).Append(1)
			b.Field(2).(*array.ListBuilder).ValueBuilder().(*array.Int64Builder).Append(0)
		}
	}
	return b.NewRecordBatch(), rows
}

// refRow runs the reference on one unpadded row and returns output name.
func refRow(t *testing.T, ref *onnxref.Ref, ids []int64, output string) onnxref.Tensor {
	t.Helper()
	n := int64(len(ids))
	ones, zeros := make([]int64, n), make([]int64, n)
	for i := range ones {
		ones[i] = 1
	}
	out, err := ref.Run(map[string]onnxref.Tensor{
		"input_ids":      {Shape: []int64{1, n}, I64: ids},
		"attention_mask": {Shape: []int64{1, n}, I64: ones},
		"token_type_ids": {Shape: []int64{1, n}, I64: zeros},
	}, output)
	if err != nil {
		t.Fatal(err)
	}
	return out[output]
}

// TestTextEmbedding: variable-length token rows batched with padding (and
// split by max_tokens) through the generated encoder, mean-pooled with the
// mask and L2-normalised, equal the reference run on each row alone, with
// no padding, pooled over all its positions.
func TestTextEmbedding(t *testing.T) {
	ref, err := onnxref.Load(filepath.Join(models, "encoder.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 6))
	lens := []int{3, 17, 1, 8, 30, 2, 2, 9, 64, 5, 12, 4, 40, 1, 3, 22}
	ratio := map[string]float64{}
	for _, batch := range []string{"{max_rows: 8}", "{max_rows: 8, max_tokens: 64}", "{max_rows: 16, max_tokens: 64, bucket: true}"} {
		t.Run(batch, func(t *testing.T) {
			mem := stagetest.Mem(t)
			rec, rows := tokenBatch(mem, rng, lens)
			defer rec.Release()
			s, err := build(t, mem, fmt.Sprintf(`
model: encoder.onnx
inputs: {input_ids: input_ids, attention_mask: attention_mask, token_type_ids: token_type_ids}
outputs: {last_hidden_state: {column: embedding, pool: mean, normalize: true}}
keep: []
batch: %s
`, batch), rec.Schema())
			if err != nil {
				t.Fatal(err)
			}
			out, err := runStage(t, s, rec)
			defer stagetest.Release(out)
			if err != nil {
				t.Fatal(err)
			}
			var got [][]float32
			for _, o := range out {
				fsl := o.Column(0).(*array.FixedSizeList)
				vals := fsl.ListValues().(*array.Float32).Float32Values()
				for i := range fsl.Len() {
					got = append(got, slices.Clone(vals[i*32:(i+1)*32]))
				}
			}
			if len(got) != len(rows) {
				t.Fatalf("%d rows out, want %d", len(got), len(rows))
			}
			for r, ids := range rows {
				want := meanNormalized(refRow(t, ref, ids, "last_hidden_state").F32, len(ids), 32)
				for d := range want {
					if math.Abs(float64(got[r][d]-want[d])) > 2e-5 {
						t.Fatalf("row %d (%d tokens) dim %d: %v, reference %v", r, len(ids), d, got[r][d], want[d])
					}
				}
			}
			rep := s.(*model.Stage).Report().(*model.Report)
			if rep.Tokens == 0 || rep.PaddingRatio <= 0 || rep.PaddingRatio >= 1 {
				t.Errorf("report: %d tokens, padding ratio %v", rep.Tokens, rep.PaddingRatio)
			}
			ratio[batch] = rep.PaddingRatio
		})
	}
	// Sorting 16 rows by length before cutting pads less than cutting 8
	// rows in arrival order.
	if b, a := ratio["{max_rows: 16, max_tokens: 64, bucket: true}"], ratio["{max_rows: 8, max_tokens: 64}"]; !(b < a) {
		t.Errorf("padding ratio with bucket %v, without %v: want less", b, a)
	}
}

func meanNormalized(v []float32, seq, dim int) []float32 {
	out := make([]float32, dim)
	var norm float64
	for d := range dim {
		var sum float64
		for p := range seq {
			sum += float64(v[p*dim+d])
		}
		out[d] = float32(sum / float64(seq))
		norm += float64(out[d]) * float64(out[d])
	}
	for d := range out {
		out[d] = float32(float64(out[d]) / math.Sqrt(norm))
	}
	return out
}

// TestTextLabels: the classifier's logits become the top-2 label names
// with softmax scores, those of the reference's logits.
func TestTextLabels(t *testing.T) {
	ref, err := onnxref.Load(filepath.Join(models, "text_classifier.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	mem := stagetest.Mem(t)
	rec, rows := tokenBatch(mem, rand.New(rand.NewPCG(7, 8)), []int{4, 9, 2, 15, 6})
	defer rec.Release()
	names := []string{"negative", "neutral", "positive"}
	s, err := build(t, mem, `
model: text_classifier.onnx
inputs: {input_ids: input_ids, attention_mask: attention_mask, token_type_ids: token_type_ids}
outputs: {logits: {column: sentiment, labels: [negative, neutral, positive], top_k: 2}}
keep: []
`, rec.Schema())
	if err != nil {
		t.Fatal(err)
	}
	out, err := runStage(t, s, rec)
	defer stagetest.Release(out)
	if err != nil {
		t.Fatal(err)
	}
	r := 0
	for _, o := range out {
		labels, scores := o.Column(0).(*array.List), o.Column(1).(*array.List)
		for i := range labels.Len() {
			logits := refRow(t, ref, rows[r], "logits").F32
			order, probs := top(logits)
			lo, _ := labels.ValueOffsets(i)
			for k := range 2 {
				gotName := labels.ListValues().(*array.String).Value(int(lo) + k)
				gotScore := scores.ListValues().(*array.Float32).Value(int(lo) + k)
				if gotName != names[order[k]] || math.Abs(float64(gotScore)-probs[order[k]]) > 1e-5 {
					t.Errorf("row %d top %d: %s %v, reference %s %v", r, k+1, gotName, gotScore, names[order[k]], probs[order[k]])
				}
			}
			r++
		}
	}
	if r != len(rows) {
		t.Fatalf("%d rows out, want %d", r, len(rows))
	}
}

// top returns the classes by descending softmax probability, and the
// probabilities.
func top(logits []float32) ([]int, []float64) {
	probs := make([]float64, len(logits))
	var sum float64
	for i, v := range logits {
		probs[i] = math.Exp(float64(v))
		sum += probs[i]
	}
	order := []int{0, 1, 2}
	for i := range probs {
		probs[i] /= sum
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case probs[a] > probs[b]:
			return -1
		case probs[a] < probs[b]:
			return 1
		}
		return 0
	})
	return order, probs
}
