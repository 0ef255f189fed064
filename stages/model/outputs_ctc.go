package model

import (
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// planCTC plans a CTC-decoded output: [batch, time, classes] probabilities
// become a text and its confidence. The classes are the dictionary's
// characters with the blank first (or last) and, with space, a space
// after the dictionary: PaddleOCR's layout.
func planCTC(op outputPlan, t bridge.TensorInfo, b OutputBinding) (outputPlan, error) {
	chars := append([]string(nil), b.CTC.Names...)
	if b.Space {
		chars = append(chars, " ")
	}
	switch b.Blank {
	case "", "first":
		chars = append([]string{""}, chars...)
		op.blank = 0
	case "last":
		op.blank = len(chars)
		chars = append(chars, "")
	default:
		return op, fmt.Errorf("model output %q: blank %q is not first or last", t.Name, b.Blank)
	}
	switch {
	case len(t.Shape) != 3:
		return op, fmt.Errorf("model output %q %s: ctc needs a [batch, time, classes] output", t.Name, t.Shape)
	case t.Type != bridge.Float32:
		return op, fmt.Errorf("model output %q is %s: ctc takes float32 probabilities", t.Name, t.Type)
	case !t.Shape[2].Dynamic() && t.Shape[2].Size != int64(len(chars)):
		return op, fmt.Errorf("model output %q %s: %d classes, but the dictionary with the blank%s makes %d",
			t.Name, t.Shape, t.Shape[2].Size, map[bool]string{true: " and the space", false: ""}[b.Space], len(chars))
	}
	op.ctc = chars
	op.fields = []arrow.Field{{Name: b.Column, Type: arrow.BinaryTypes.String}, {Name: b.Column + "_confidence", Type: arrow.PrimitiveTypes.Float32}}
	return op, nil
}

// ctcArrays decodes the [n', time, classes] tensor t greedily into the
// text and confidence columns of n rows: the best class of each step,
// repeats merged, blanks dropped; the confidence is the mean probability
// of the characters kept (1 for an empty text). It frees t's buffer.
func (op *outputPlan) ctcArrays(t bridge.Tensor, n int64, mem memory.Allocator) ([]arrow.Array, error) {
	defer mem.Free(t.Data)
	k := int64(len(op.ctc))
	if len(t.Shape) != 3 || t.Shape[0] < n || t.Shape[2] != k || t.Type != bridge.Float32 {
		return nil, fmt.Errorf("model output %q is %s %v; ctc wants [%d, time, %d] float32", op.name, t.Type, t.Shape, n, k)
	}
	steps := t.Shape[1]
	probs := arrow.Float32Traits.CastFromBytes(t.Data)
	texts := array.NewStringBuilder(mem)
	defer texts.Release()
	conf := array.NewFloat32Builder(mem)
	defer conf.Release()
	var sb strings.Builder
	for r := range n {
		sb.Reset()
		var sum float64
		kept, prev := 0, -1
		for s := range steps {
			row := probs[(r*steps+s)*k : (r*steps+s+1)*k]
			best := argmax(row)
			if best != op.blank && best != prev {
				sb.WriteString(op.ctc[best])
				sum += float64(row[best])
				kept++
			}
			prev = best
		}
		texts.Append(sb.String())
		if kept == 0 {
			conf.Append(1)
		} else {
			conf.Append(float32(sum / float64(kept)))
		}
	}
	return []arrow.Array{texts.NewArray(), conf.NewArray()}, nil
}

// argmax returns the index of the largest value (the first on ties).
func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}
