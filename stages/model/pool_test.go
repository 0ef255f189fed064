package model

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestTensorPoolKeepsAtMostLimit: the pool keeps freed buffers up to its
// byte limit and hands the rest back to its parent.
func TestTensorPoolKeepsAtMostLimit(t *testing.T) {
	parent := memory.NewCheckedAllocator(memory.NewGoAllocator())
	p := newTensorPool(parent, 1000)
	a, b, c := p.Allocate(600), p.Allocate(400), p.Allocate(600)
	p.Free(a) // kept: 600
	p.Free(b) // kept: 1000
	p.Free(c) // over the limit: back to the parent
	if got := parent.CurrentAlloc(); got != 1000 {
		t.Fatalf("parent holds %d bytes, want the 1000 the pool keeps", got)
	}
	if p.kept != 1000 {
		t.Fatalf("pool counts %d bytes kept, want 1000", p.kept)
	}
	d := p.Allocate(600) // reused
	if p.kept != 400 || parent.CurrentAlloc() != 1000 {
		t.Fatalf("after reuse: kept %d, parent %d; want 400 and 1000", p.kept, parent.CurrentAlloc())
	}
	p.Free(d)
	p.close()
	if got := parent.CurrentAlloc(); got != 0 {
		t.Fatalf("parent holds %d bytes after close, want 0", got)
	}
}
