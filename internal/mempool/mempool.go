package mempool

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	alignment = 64       // Arrow's buffer alignment
	minSize   = 4 << 10  // smaller buffers come straight from the Go heap
	maxSize   = 64 << 20 // larger ones too

	// Four classes per doubling (sizes 2^k times 5/4, 6/4, 7/4, 8/4), so a
	// buffer wastes at most a fifth of its class; classes counts them from
	// 4 KiB (2^11 * 8/4) to 64 MiB (2^25 * 8/4).
	classes = (25-11)*4 + 4

	// DefaultLimit is the freed memory a pool keeps unless told otherwise.
	DefaultLimit = 64 << 20

	poisonByte = 0xA5
)

// Allocator is a memory.Allocator that recycles freed buffers of 4 KiB to
// 64 MiB by size class, four classes per power of two. Every buffer it
// returns is zeroed and 64-byte aligned; its capacity is its class size, so
// a buffer grows in place up to that size. It is safe for concurrent use.
type Allocator struct {
	limit  int
	poison bool

	mu   sync.Mutex
	free [classes][][]byte // by class, most recently freed last
	held int               // bytes in free
}

var _ memory.Allocator = (*Allocator)(nil)

// Option configures an Allocator.
type Option func(*Allocator)

// WithLimit sets how many freed bytes the pool keeps (default
// [DefaultLimit]); 0 keeps none, which makes the pool a Go allocator.
func WithLimit(bytes int) Option { return func(a *Allocator) { a.limit = max(bytes, 0) } }

// WithPoison fills every buffer the pool takes back with a pattern (0xA5
// bytes), so that reading a buffer after freeing it gives garbage instead
// of plausible values. For tests.
func WithPoison() Option { return func(a *Allocator) { a.poison = true } }

// New returns an Allocator.
func New(opts ...Option) *Allocator {
	a := &Allocator{limit: DefaultLimit}
	for _, o := range opts {
		o(a)
	}
	return a
}

// class returns the size class of a buffer of size bytes and that class's
// size, or false when the pool does not keep buffers of that size.
func class(size int) (idx, capacity int, ok bool) {
	if size < minSize || size > maxSize {
		return 0, 0, false
	}
	k := bits.Len(uint(size-1)) - 1 // 2^k < size <= 2^(k+1)
	step := 1 << (k - 2)
	j := (size - 1<<k + step - 1) / step // 1..4
	return (k-11)*4 + j - 1, 1<<k + j*step, true
}

// Allocate implements memory.Allocator.
func (a *Allocator) Allocate(size int) []byte {
	c, capacity, ok := class(size)
	if !ok {
		return alloc(size, size)
	}
	a.mu.Lock()
	if n := len(a.free[c]); n > 0 {
		b := a.free[c][n-1]
		a.free[c][n-1] = nil
		a.free[c] = a.free[c][:n-1]
		a.held -= cap(b)
		a.mu.Unlock()
		b = b[:size]
		clear(b)
		return b
	}
	a.mu.Unlock()
	return alloc(size, capacity)
}

// Reallocate implements memory.Allocator: in place while size fits the
// buffer's capacity (the bytes past the old length zeroed), else a new
// buffer with b's bytes, b going back to the pool.
func (a *Allocator) Reallocate(size int, b []byte) []byte {
	if size <= cap(b) {
		old := len(b)
		b = b[:size]
		if size > old {
			clear(b[old:])
		}
		return b
	}
	nb := a.Allocate(size)
	copy(nb, b)
	a.Free(b)
	return nb
}

// Free implements memory.Allocator. b must not be used afterwards.
func (a *Allocator) Free(b []byte) {
	n := cap(b)
	c, capacity, ok := class(n)
	if !ok || n != capacity {
		return // not one of the pool's sizes: the garbage collector's
	}
	b = b[:n]
	if a.poison {
		for i := range b {
			b[i] = poisonByte
		}
	}
	a.mu.Lock()
	if a.held+n <= a.limit {
		a.free[c] = append(a.free[c], b[:0])
		a.held += n
	}
	a.mu.Unlock()
}

// Held returns the bytes of freed buffers the pool keeps.
func (a *Allocator) Held() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.held
}

// alloc returns a zeroed, 64-byte aligned slice of length size and
// capacity capacity from the Go heap.
func alloc(size, capacity int) []byte {
	buf := make([]byte, capacity+alignment)
	shift := int(-uintptr(unsafe.Pointer(unsafe.SliceData(buf))) & (alignment - 1))
	return buf[shift : shift+size : shift+capacity]
}
