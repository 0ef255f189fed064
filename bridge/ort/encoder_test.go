//go:build cgo

package ort

import (
	"context"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// encoderRows are three token sequences of different lengths (BERT uncased
// ids: 101 [CLS], 102 [SEP], and the last id of the vocabulary), with their
// token types: a text batch before padding.
var encoderRows = []struct{ ids, types []int64 }{
	{[]int64{101, 7592, 2088, 102, 2129, 102}, []int64{0, 0, 0, 0, 1, 1}},
	{[]int64{101, 30521, 102}, []int64{0, 0, 0}},
	{[]int64{101, 1996, 4248, 2829, 4419, 14523, 2058, 102}, []int64{0, 0, 0, 0, 0, 0, 0, 0}},
}

// encoderTol bounds |ONNX Runtime - reference| on the encoders' outputs,
// whose values are of order 1 after the final LayerNorm: ONNX Runtime
// 1.30 computes in float32 (and may fuse the LayerNorm, GELU and attention
// patterns), the reference in float64. The largest difference seen was
// 4.8e-7, a few float32 ulps; the bound leaves a factor of 20.
const encoderTol = 1e-5

// encoderFeed pads encoderRows to seq tokens with id 0, type 0 and mask 0;
// with maskPadding false the padding is marked as real tokens instead, so
// the mask no longer hides it.
func encoderFeed(seq int, maskPadding bool) (ids, mask, types []int64) {
	for _, r := range encoderRows {
		for k := range seq {
			switch {
			case k < len(r.ids):
				ids, mask, types = append(ids, r.ids[k]), append(mask, 1), append(types, r.types[k])
			case maskPadding:
				ids, mask, types = append(ids, 0), append(mask, 0), append(types, 0)
			default:
				ids, mask, types = append(ids, 0), append(mask, 1), append(types, 0)
			}
		}
	}
	return ids, mask, types
}

// runEncoder runs model on the padded batch in ONNX Runtime and in the
// reference, checks that both agree within encoderTol, and returns ONNX
// Runtime's output (a copy) with its shape.
func runEncoder(t *testing.T, s bridge.Session, model string, seq int, maskPadding bool) ([]float32, []int64) {
	t.Helper()
	ids, mask, types := encoderFeed(seq, maskPadding)
	shape := []int64{int64(len(encoderRows)), int64(seq)}
	in := map[string][]int64{"input_ids": ids, "attention_mask": mask, "token_type_ids": types}
	var tensors []bridge.Tensor
	refIn := map[string]onnxref.Tensor{}
	for _, info := range s.Info().Inputs { // in the model's order
		tensors = append(tensors, bridge.Tensor{Type: bridge.Int64, Shape: shape, Data: bytesOf(in[info.Name])})
		refIn[info.Name] = onnxref.Tensor{Shape: shape, I64: in[info.Name]}
	}
	mem := stagetest.Mem(t)
	got, err := s.Run(context.Background(), tensors, mem)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	defer freeOutputs(mem, got)
	if len(got) != 1 || got[0].Type != bridge.Float32 {
		t.Fatalf("Run returned %+v, want one float32 tensor", got)
	}
	out := slices.Clone(viewAs[float32](got[0].Data))
	name := s.Info().Outputs[0].Name
	want := reference(t, model, refIn)[name]
	if fmt.Sprint(got[0].Shape) != fmt.Sprint(want.Shape) {
		t.Fatalf("%s shape %v, reference %v", name, got[0].Shape, want.Shape)
	}
	i, d := maxDiff(out, want.F32)
	t.Logf("%s, seq %d: largest difference from the reference %.3g", name, seq, d)
	if d > encoderTol {
		t.Fatalf("%s (seq %d): element %d is %g in ONNX Runtime and %g in the reference (difference %.3g > %g)",
			name, seq, i, out[i], want.F32[i], d, encoderTol)
	}
	return out, slices.Clone(got[0].Shape)
}

// maxDiff returns where |a - b| is largest, and that difference (+Inf
// where either is NaN).
func maxDiff(a, b []float32) (int, float64) {
	at, most := 0, 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return i, math.Inf(1)
		}
		if d > most {
			at, most = i, d
		}
	}
	return at, most
}

// realValues returns, for each row, the outputs that belong to its real
// tokens: the hidden states at its unpadded positions for
// last_hidden_state [batch, seq, hidden], the whole row for logits
// [batch, labels].
func realValues(out []float32, shape []int64) [][]float32 {
	rows := make([][]float32, len(encoderRows))
	per := len(out) / len(encoderRows)
	for r, row := range encoderRows {
		v := out[r*per : (r+1)*per]
		if len(shape) == 3 {
			v = v[:len(row.ids)*int(shape[2])]
		}
		rows[r] = v
	}
	return rows
}

// longestRow is the sequence length of the unpadded batch.
func longestRow() int {
	n := 0
	for _, r := range encoderRows {
		n = max(n, len(r.ids))
	}
	return n
}

func TestEncoderMatchesReference(t *testing.T) {
	tests := []struct {
		model string
		seq   int
		shape string
	}{
		{"encoder.onnx", longestRow(), "[3 8 32]"},
		{"encoder.onnx", 13, "[3 13 32]"},
		{"text_classifier.onnx", longestRow(), "[3 3]"},
		{"text_classifier.onnx", 13, "[3 3]"},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s seq %d", tc.model, tc.seq), func(t *testing.T) {
			s := openModel(t, tc.model)
			_, shape := runEncoder(t, s, tc.model, tc.seq, true)
			if fmt.Sprint(shape) != tc.shape {
				t.Fatalf("output shape %v, want %s", shape, tc.shape)
			}
		})
	}
}

// TestEncoderMaskHidesPadding checks that a row's outputs at its real
// tokens do not change when its padding grows, and, as a control, that
// they do change when the padding is not masked: without the control, a
// model whose outputs never depended on other positions would pass.
func TestEncoderMaskHidesPadding(t *testing.T) {
	for _, model := range []string{"encoder.onnx", "text_classifier.onnx"} {
		t.Run(model, func(t *testing.T) {
			s := openModel(t, model)
			base := realValues(runEncoder(t, s, model, longestRow(), true))
			for _, seq := range []int{longestRow() + 1, longestRow() + 5, 4 * longestRow()} {
				got := realValues(runEncoder(t, s, model, seq, true))
				for r := range base {
					if i, d := maxDiff(got[r], base[r]); d > encoderTol {
						t.Errorf("seq %d, row %d: real output %d moved by %.3g when the padding grew (%g, was %g)",
							seq, r, i, d, got[r][i], base[r][i])
					}
				}
			}
			unmasked := realValues(runEncoder(t, s, model, longestRow()+5, false))
			for r := range base {
				_, d := maxDiff(unmasked[r], base[r])
				t.Logf("row %d: unmasked padding moved the real outputs by up to %.3g", r, d)
				if d < 100*encoderTol { // seen: 0.0048 to 0.11
					t.Errorf("row %d: unmasked padding moved the real outputs by only %.3g; the check above could not see a broken mask", r, d)
				}
			}
		})
	}
}
