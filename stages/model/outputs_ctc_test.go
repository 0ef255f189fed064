package model

import (
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// TestCTC: greedy decoding keeps the best class of each step, merges
// repeats unless a blank separates them, drops blanks, and averages the
// kept characters' probabilities; the plan checks the class count.
func TestCTC(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	info := bridge.TensorInfo{Name: "probs", Type: bridge.Float32, Shape: bridge.Shape{{Size: -1}, {Size: -1}, {Size: 4}}}
	// classes: blank, a, b, space (PaddleOCR layout)
	op, err := planCTC(outputPlan{name: "probs"}, info, OutputBinding{Column: "text", CTC: &LabelNames{Names: []string{"a", "b"}}, Space: true})
	if err != nil {
		t.Fatal(err)
	}
	steps := [][]int{
		{1, 1, 0, 1, 2, 2, 3, 0}, // a a|blank|a b b space blank -> "aab "
		{0, 0, 0, 0, 0, 0, 0, 0}, // all blank -> ""
	}
	probs := make([]float32, 0, 2*8*4)
	var keptSum float64
	for r, row := range steps {
		for s, c := range row {
			p := make([]float32, 4)
			for i := range p {
				p[i] = 0.05
			}
			p[c] = 0.6 + 0.01*float32(s)
			if r == 0 && c != 0 && (s == 0 || row[s-1] != c) {
				keptSum += float64(p[c])
			}
			probs = append(probs, p...)
		}
	}
	buf := mem.Allocate(4 * len(probs))
	copy(arrow.Float32Traits.CastFromBytes(buf), probs)
	arrs, err := op.ctcArrays(bridge.Tensor{Type: bridge.Float32, Shape: []int64{2, 8, 4}, Data: buf}, 2, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer arrs[0].Release()
	defer arrs[1].Release()
	texts, conf := arrs[0].(*array.String), arrs[1].(*array.Float32)
	if texts.Value(0) != "aab " || texts.Value(1) != "" {
		t.Errorf("texts %q %q, want \"aab \" and \"\"", texts.Value(0), texts.Value(1))
	}
	if want := keptSum / 4; math.Abs(float64(conf.Value(0))-want) > 1e-6 || conf.Value(1) != 1 {
		t.Errorf("confidence %v %v, want %v and 1", conf.Value(0), conf.Value(1), want)
	}
	_, err = planCTC(outputPlan{name: "probs"}, info, OutputBinding{Column: "text", CTC: &LabelNames{Names: []string{"a", "b"}}})
	if err == nil || !strings.Contains(err.Error(), "4 classes, but the dictionary with the blank makes 3") {
		t.Errorf("class count: %v", err)
	}
}
