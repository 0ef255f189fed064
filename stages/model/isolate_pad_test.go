package model

import (
	"bytes"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

func TestMaxDepth(t *testing.T) {
	tests := []struct {
		n    int64
		want int
	}{{1, 1}, {2, 2}, {3, 3}, {4, 3}, {5, 4}, {8, 4}, {9, 5}, {16, 5}, {512, 10}, {513, 11}}
	for _, tt := range tests {
		if got := maxDepth(tt.n); got != tt.want {
			t.Errorf("maxDepth(%d) = %d, want ceil(log2 n)+1 = %d", tt.n, got, tt.want)
		}
	}
}

// TestPadRepeatsLastRow pads the batched tensors of a 3-row part to 5 rows
// and leaves an unbatched constant alone.
func TestPadRepeatsLastRow(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	p := &plan{inputs: []inputPlan{{name: "x", batched: true}, {name: "c"}}}
	x := []byte{1, 1, 2, 2, 3, 3} // 3 rows of 2 bytes
	c := []byte{9, 9, 9}
	ts := []bridge.Tensor{
		{Type: bridge.Uint8, Shape: []int64{3, 2}, Data: x},
		{Type: bridge.Uint8, Shape: []int64{3}, Data: c},
	}
	var owned [][]byte
	if got := p.pad(slices.Clone(ts), 3, 3, &owned, mem); len(owned) != 0 || &got[0].Data[0] != &x[0] {
		t.Fatalf("a full part was padded")
	}
	got := p.pad(slices.Clone(ts), 3, 5, &owned, mem)
	defer func() {
		for _, b := range owned {
			mem.Free(b)
		}
	}()
	if len(owned) != 1 {
		t.Fatalf("%d buffers allocated, want 1", len(owned))
	}
	if !slices.Equal(got[0].Shape, []int64{5, 2}) || !bytes.Equal(got[0].Data, []byte{1, 1, 2, 2, 3, 3, 3, 3, 3, 3}) {
		t.Fatalf("padded x: shape %v data %v", got[0].Shape, got[0].Data)
	}
	if !slices.Equal(got[1].Shape, []int64{3}) || &got[1].Data[0] != &c[0] {
		t.Fatalf("the unbatched constant changed: %v", got[1])
	}
	if !slices.Equal(ts[0].Shape, []int64{3, 2}) {
		t.Fatalf("the input tensor's shape was modified: %v", ts[0].Shape)
	}
}
