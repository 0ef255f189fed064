package mempool

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

func TestAllocateSizes(t *testing.T) {
	for _, tc := range []struct {
		size, class int // class: the bytes held when freed (0: none)
	}{
		{0, 0},
		{1, 0},
		{4095, 0},                  // below the smallest class: from the heap
		{4096, 4096},               // the smallest class
		{4097, 5120},               // rounded up to its class: 4 KiB * 5/4
		{6000, 6144},               // 4 KiB * 6/4
		{8192, 8192},               // 4 KiB * 8/4
		{458_803, 512 << 10},       // 256 KiB * 8/4 (7/4 is 448 KiB, too small)
		{1<<20 + 1, 1<<20 + 1<<18}, // 1 MiB * 5/4
		{1 << 26, 1 << 26},         // the largest class
		{1<<26 + 1, 0},             // beyond: from the heap
	} {
		t.Run(fmt.Sprint(tc.size), func(t *testing.T) {
			a := New()
			b := a.Allocate(tc.size)
			if len(b) != tc.size || cap(b) != tc.size {
				t.Fatalf("len %d cap %d, want %d for both", len(b), cap(b), tc.size)
			}
			defer func() {
				a.Free(b)
				if a.Held() != tc.class {
					t.Fatalf("held %d after Free, want the class size %d", a.Held(), tc.class)
				}
			}()
			if tc.size > 0 && addr(b)%alignment != 0 {
				t.Fatalf("address %#x is not %d-byte aligned", addr(b), alignment)
			}
			if i := bytes.IndexFunc(b, func(r rune) bool { return r != 0 }); i >= 0 {
				t.Fatalf("byte %d is not zero", i)
			}
		})
	}
}

func TestRecycle(t *testing.T) {
	a := New()
	b := a.Allocate(8000)
	for i := range b {
		b[i] = 7
	}
	a.Free(b)
	if a.Held() != 8192 {
		t.Fatalf("held %d after freeing an 8 KiB-class buffer, want 8192", a.Held())
	}
	c := a.Allocate(7500) // same class
	if addr(c) != addr(b) {
		t.Fatal("a buffer of the same class was not reused")
	}
	if a.Held() != 0 {
		t.Fatalf("held %d after reuse, want 0", a.Held())
	}
	if i := bytes.IndexFunc(c, func(r rune) bool { return r != 0 }); i >= 0 {
		t.Fatalf("reused buffer: byte %d is not zero", i)
	}
	d := a.Allocate(20000) // another class: not the freed buffer
	if addr(d) == addr(b) {
		t.Fatal("a buffer was handed out twice")
	}
	// Buffers the pool does not keep are left to the garbage collector.
	a.Free(make([]byte, 10000))
	a.Free(a.Allocate(100))
	if a.Held() != 0 {
		t.Fatalf("held %d after freeing foreign and small buffers, want 0", a.Held())
	}
}

func TestLimit(t *testing.T) {
	a := New(WithLimit(8192))
	x, y := a.Allocate(8192), a.Allocate(8192)
	a.Free(x)
	a.Free(y)
	if a.Held() != 8192 {
		t.Fatalf("held %d, want the limit 8192", a.Held())
	}
	z := New(WithLimit(0))
	z.Free(z.Allocate(1 << 20))
	if z.Held() != 0 {
		t.Fatalf("limit 0 held %d", z.Held())
	}
}

func TestPoison(t *testing.T) {
	a := New(WithPoison())
	b := a.Allocate(10000)
	b[0], b[9999] = 1, 2
	a.Free(b)
	if b[0] != poisonByte || b[9999] != poisonByte {
		t.Fatalf("freed buffer reads %#x, %#x; want the poison %#x", b[0], b[9999], poisonByte)
	}
	if c := a.Allocate(10000); c[0] != 0 || c[9999] != 0 {
		t.Fatal("a poisoned buffer was handed out without zeroing")
	}
}

func TestReallocate(t *testing.T) {
	a := New()
	b := a.Allocate(7000) // class 7 KiB
	for i := range b {
		b[i] = 3
	}
	b = b[:4000]
	b[3999] = 4
	g := a.Reallocate(7100, b) // fits: in place, the new bytes zeroed
	if addr(g) != addr(b) || len(g) != 7100 {
		t.Fatal("a reallocation within capacity moved the buffer")
	}
	if g[3999] != 4 || g[4000] != 0 || g[7099] != 0 {
		t.Fatalf("in place: kept %d, extension %d %d; want 4, 0, 0", g[3999], g[4000], g[7099])
	}
	h := a.Reallocate(9000, g) // beyond: copied, the old buffer pooled
	if addr(h) == addr(g) || len(h) != 9000 || h[3999] != 4 || h[8999] != 0 {
		t.Fatal("a reallocation beyond capacity did not copy into a new zeroed buffer")
	}
	if a.Held() != 7168 {
		t.Fatalf("held %d after moving out of a 7 KiB buffer, want 7168", a.Held())
	}
	s := a.Reallocate(100, h) // shrinking keeps the buffer
	if addr(s) != addr(h) || len(s) != 100 {
		t.Fatal("shrinking moved the buffer")
	}
}

// TestConcurrent: buffers handed out at the same time never overlap, and
// what a goroutine writes stays until it frees the buffer.
func TestConcurrent(t *testing.T) {
	a := New(WithPoison())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 500 {
				b := a.Allocate(4096 << (i % 5))
				for j := range b {
					b[j] = byte(g)
				}
				for j := range b {
					if b[j] != byte(g) {
						errs <- fmt.Errorf("goroutine %d: byte %d changed to %#x while held", g, j, b[j])
						return
					}
				}
				a.Free(b)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// TestArrowBuilders: arrays built and released through a checked pool leave
// nothing allocated, and a rebuilt array reads its own values, not the
// previous one's.
func TestArrowBuilders(t *testing.T) {
	mem := memory.NewCheckedAllocator(New(WithPoison()))
	defer mem.AssertSize(t, 0)
	for round := range 3 {
		b := array.NewFloat32Builder(mem)
		for i := range 10000 {
			if i%7 == 0 {
				b.AppendNull()
				continue
			}
			b.Append(float32(round*10000 + i))
		}
		arr := b.NewFloat32Array()
		b.Release()
		for i := range 10000 {
			if i%7 == 0 {
				if !arr.IsNull(i) {
					t.Fatalf("round %d: row %d is not null", round, i)
				}
				continue
			}
			if got := arr.Value(i); got != float32(round*10000+i) {
				t.Fatalf("round %d: row %d reads %v", round, i, got)
			}
		}
		arr.Release()
	}
}

func BenchmarkAllocateFree(b *testing.B) {
	for _, size := range []int{64 << 10, 512 << 10} {
		for _, tc := range []struct {
			name string
			mem  memory.Allocator
		}{{"pool", New()}, {"go", memory.NewGoAllocator()}} {
			b.Run(fmt.Sprintf("%s/%dKiB", tc.name, size>>10), func(b *testing.B) {
				b.SetBytes(int64(size))
				for b.Loop() {
					buf := tc.mem.Allocate(size)
					buf[size-1] = 1
					tc.mem.Free(buf)
				}
			})
		}
	}
}

// TestClasses: every size the pool keeps maps to a class at least as large
// and at most a quarter larger, whose own size maps back to it, and class
// indexes grow with the size.
func TestClasses(t *testing.T) {
	prev := -1
	for size := minSize; size <= maxSize; size += 1 + size/97 {
		idx, c, ok := class(size)
		if !ok || c < size || 4*c > 5*size+4*minSize/4 || idx < prev || idx >= classes {
			t.Fatalf("size %d: class %d of %d bytes (ok %v), previous index %d", size, idx, c, ok, prev)
		}
		if j, cc, _ := class(c); j != idx || cc != c {
			t.Fatalf("class size %d maps to class %d of %d, want %d", c, j, cc, idx)
		}
		prev = idx
	}
	if _, _, ok := class(minSize - 1); ok {
		t.Error("a size below 4 KiB has a class")
	}
	if _, _, ok := class(maxSize + 1); ok {
		t.Error("a size above 64 MiB has a class")
	}
}

// TestComputeFilterStrings: arrow-go's selection kernels size their output
// by cap() of a buffer's bytes and write through its length, so a pool that
// handed out slices longer in capacity than in length made a filter over a
// string column panic ("slice bounds out of range" in VarBinaryImpl) or copy
// short, then zero, the values past the length. The filtered strings must
// equal the input's kept strings, computed independently.
func TestComputeFilterStrings(t *testing.T) {
	mem := memory.NewCheckedAllocator(New(WithPoison()))
	defer mem.AssertSize(t, 0)
	const n = 100_000
	sb := array.NewStringBuilder(mem)
	mb := array.NewBooleanBuilder(mem)
	var want []string
	for i := range n {
		// Short values, then long ones, which are most of the kept rows:
		// the kernel's first guess of the output size (the mean length
		// times the kept rows) falls short and it grows its buffer.
		s := fmt.Sprintf("v%d", i)
		if i > n/2 {
			s = fmt.Sprintf("a much longer value number %d", i)
		}
		keep := i%1000 == 0 || i > n/2 && i%3 != 0
		sb.Append(s)
		mb.Append(keep)
		if keep {
			want = append(want, s)
		}
	}
	vals, mask := sb.NewStringArray(), mb.NewBooleanArray()
	sb.Release()
	mb.Release()
	defer vals.Release()
	defer mask.Release()
	for round := range 3 { // the later rounds take recycled buffers
		ctx := compute.WithAllocator(context.Background(), mem)
		out, err := compute.FilterArray(ctx, vals, mask, *compute.DefaultFilterOptions())
		if err != nil {
			t.Fatal(err)
		}
		got := out.(*array.String)
		if err := got.ValidateFull(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if got.Len() != len(want) {
			t.Fatalf("round %d: %d rows, want %d", round, got.Len(), len(want))
		}
		for i, w := range want {
			if got.Value(i) != w {
				t.Fatalf("round %d: row %d is %q, want %q", round, i, got.Value(i), w)
			}
		}
		out.Release()
	}
}

// TestCapacityIsLength: every slice the pool hands out, fresh, recycled or
// reallocated in place, has its length as its capacity, as Go's allocator
// gives (arrow-go code writes up to cap()); freeing it still recycles the
// whole class buffer.
func TestCapacityIsLength(t *testing.T) {
	a := New()
	for _, size := range []int{100, 4097, 7000, 1<<20 + 1} {
		b := a.Allocate(size)
		if cap(b) != len(b) {
			t.Fatalf("Allocate(%d): len %d cap %d", size, len(b), cap(b))
		}
		a.Free(b)
		c := a.Allocate(size)
		if cap(c) != len(c) {
			t.Fatalf("recycled Allocate(%d): len %d cap %d", size, len(c), cap(c))
		}
		for _, n := range []int{size / 2, size + 10, size} {
			c = a.Reallocate(n, c)
			if len(c) != n || cap(c) != n {
				t.Fatalf("Reallocate(%d) of %d: len %d cap %d", n, size, len(c), cap(c))
			}
		}
		a.Free(c)
	}
}
