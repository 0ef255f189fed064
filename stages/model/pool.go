package model

import (
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// tensorPool is an allocator that keeps freed tensor buffers for reuse by
// exact size: batches of one shape need the same input conversions and
// output tensors again and again, so a steady-state run allocates (almost)
// nothing per batch. Output buffers become the output columns' memory and
// come back here when downstream releases them. Reused buffers are not
// zeroed: every tensor is written in full before it is read. The pool
// keeps at most limit bytes (a batch's share of the memory budget), so
// large batches do not leave gigabytes idle. After close, frees go straight
// to the parent allocator.
type tensorPool struct {
	parent memory.Allocator
	limit  int64
	mu     sync.Mutex
	free   map[int][][]byte
	kept   int64 // bytes in free
	closed bool
}

// poolPerSize is how many buffers of one size the pool keeps.
const poolPerSize = 16

func newTensorPool(parent memory.Allocator, limit int64) *tensorPool {
	return &tensorPool{parent: parent, limit: limit, free: map[int][][]byte{}}
}

// Allocate returns a buffer of size bytes, reused when one is pooled.
func (p *tensorPool) Allocate(size int) []byte {
	p.mu.Lock()
	if list := p.free[size]; len(list) > 0 {
		b := list[len(list)-1]
		p.free[size] = list[:len(list)-1]
		p.kept -= int64(size)
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return p.parent.Allocate(size)
}

// Reallocate resizes b through the parent allocator.
func (p *tensorPool) Reallocate(size int, b []byte) []byte { return p.parent.Reallocate(size, b) }

// Free keeps b for reuse, or returns it to the parent when the pool is
// full or closed.
func (p *tensorPool) Free(b []byte) {
	p.mu.Lock()
	if !p.closed && len(p.free[len(b)]) < poolPerSize && p.kept+int64(len(b)) <= p.limit {
		p.free[len(b)] = append(p.free[len(b)], b)
		p.kept += int64(len(b))
		p.mu.Unlock()
		return
	}
	p.mu.Unlock()
	p.parent.Free(b)
}

// close returns every pooled buffer to the parent allocator.
func (p *tensorPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for size, list := range p.free {
		for _, b := range list {
			p.parent.Free(b)
		}
		delete(p.free, size)
	}
	p.kept = 0
	p.closed = true
}
