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
// returns is zeroed and 64-byte aligned, and its capacity is its length, as
// with Go's allocator: arrow-go's compute kernels take cap() of a buffer's
// bytes as room they may write through its length, so a longer capacity
// made them panic or drop bytes. The pool remembers the class size behind
// each buffer it hands out: a buffer still grows in place up to that size,
// and goes back to its class when freed. It is safe for concurrent use.
type Allocator struct {
	limit  int
	poison bool

	mu   sync.Mutex
	free [classes][][]byte // by class, most recently freed last
	held int               // bytes in free
	// out maps the address of every class buffer handed out and not yet
	// freed to its class size. Only its buffers are recycled.
	out map[uintptr]int
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
	a := &Allocator{limit: DefaultLimit, out: map[uintptr]int{}}
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

func addr(b []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(b))) }

// Allocate implements memory.Allocator.
func (a *Allocator) Allocate(size int) []byte {
	c, capacity, ok := class(size)
	if !ok {
		return alloc(size, size)
	}
	var b []byte
	a.mu.Lock()
	if n := len(a.free[c]); n > 0 {
		b = a.free[c][n-1]
		a.free[c][n-1] = nil
		a.free[c] = a.free[c][:n-1]
		a.held -= cap(b)
		a.out[addr(b)] = capacity
		a.mu.Unlock()
		b = b[:size:size]
		clear(b)
		return b
	}
	a.mu.Unlock()
	b = alloc(capacity, capacity)
	a.mu.Lock()
	a.out[addr(b)] = capacity
	a.mu.Unlock()
	return b[:size:size]
}

// whole returns the class buffer that b, handed out by the pool, is the
// start of; b itself when the pool does not keep it.
func (a *Allocator) whole(b []byte) []byte {
	if cap(b) < minSize || cap(b) > maxSize {
		return b
	}
	a.mu.Lock()
	capacity, ok := a.out[addr(b)]
	a.mu.Unlock()
	if !ok {
		return b
	}
	return unsafe.Slice(unsafe.SliceData(b), capacity)[:len(b)]
}

// Reallocate implements memory.Allocator: in place while size fits the
// buffer's class (the bytes past the old length zeroed), else a new buffer
// with b's bytes, b going back to the pool. A class buffer shrunk below the
// smallest class is left to the garbage collector when freed.
func (a *Allocator) Reallocate(size int, b []byte) []byte {
	w := a.whole(b)
	if size > cap(w) {
		nb := a.Allocate(size)
		copy(nb, b)
		a.Free(b)
		return nb
	}
	if size < minSize && cap(w) >= minSize {
		a.mu.Lock()
		delete(a.out, addr(b))
		a.mu.Unlock()
	}
	old := len(b)
	b = w[:size:size]
	if size > old {
		clear(b[old:])
	}
	return b
}

// Free implements memory.Allocator. b must not be used afterwards.
func (a *Allocator) Free(b []byte) {
	if cap(b) < minSize || cap(b) > maxSize {
		return // not one of the pool's buffers: the garbage collector's
	}
	a.mu.Lock()
	n, ok := a.out[addr(b)]
	delete(a.out, addr(b))
	a.mu.Unlock()
	if !ok {
		return
	}
	b = unsafe.Slice(unsafe.SliceData(b), n)
	if a.poison {
		for i := range b {
			b[i] = poisonByte
		}
	}
	c, _, _ := class(n)
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
