package mempool

import (
	"math/bits"
	"sync"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

const (
	alignment = 64 // Arrow's buffer alignment
	minClass  = 12 // 4 KiB: smaller buffers come straight from the Go heap
	maxClass  = 26 // 64 MiB: larger ones too

	// DefaultLimit is the freed memory a pool keeps unless told otherwise.
	DefaultLimit = 64 << 20

	poisonByte = 0xA5
)

// Allocator is a memory.Allocator that recycles freed buffers of 4 KiB to
// 64 MiB by power-of-two size class. Every buffer it returns is zeroed and
// 64-byte aligned; its capacity is its class size, so a buffer grows in
// place up to that size. It is safe for concurrent use.
type Allocator struct {
	limit  int
	poison bool

	mu   sync.Mutex
	free [maxClass + 1][][]byte // by class, most recently freed last
	held int                    // bytes in free
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

// class returns the size class of a buffer of size bytes, and false when
// the pool does not keep buffers of that size.
func class(size int) (int, bool) {
	if size < 1<<minClass || size > 1<<maxClass {
		return 0, false
	}
	return bits.Len(uint(size - 1)), true
}

// Allocate implements memory.Allocator.
func (a *Allocator) Allocate(size int) []byte {
	c, ok := class(size)
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
	return alloc(size, 1<<c)
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
	c, ok := class(n)
	if !ok || n != 1<<c {
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
