package source

import (
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/klauspost/compress/snappy"
	"github.com/klauspost/compress/zstd"
)

// This file holds what bounds the memory the columnar readers use on a
// hostile file: allocators that count what arrow-go allocates while it
// decodes and refuse to go past a configured limit, and Parquet codecs that
// decompress no more than the page header declares.

// sizeText writes a byte count for a message: exact below 1 KiB, else in
// the largest binary unit it reaches, with one decimal.
func sizeText(n int64) string {
	const units = "KMGTPE"
	if n < 1<<10 {
		return fmt.Sprintf("%d bytes", n)
	}
	v, u := float64(n)/(1<<10), 0
	for v >= 1<<10 && u < len(units)-1 {
		v /= 1 << 10
		u++
	}
	return fmt.Sprintf("%.1f %ciB", v, units[u])
}

// limitPanic is what a limited allocator panics with when an allocation
// would go past its limit: arrow-go's decoders have no way to return an
// allocation error. The panic happens in the source's own goroutine (the
// allocators refuse only while armed, inside a guarded read), is recovered
// by guard, and [limitError] turns it back into the error.
type limitPanic struct{ err error }

func (p *limitPanic) Error() string { return p.err.Error() }

// limitError returns the limit error that err, from guard, carries, or err.
// The panic may also come back as an error, from arrow-go code that
// recovers panics itself.
func limitError(err error) error {
	var pe *PanicError
	if errors.As(err, &pe) {
		if lp, ok := pe.Value.(*limitPanic); ok {
			return lp.err
		}
	}
	var lp *limitPanic
	if errors.As(err, &lp) {
		return lp.err
	}
	return err
}

// limitAlloc is an allocator that counts the bytes allocated through it and
// refuses, while armed, an allocation that takes the count past limit.
// Counting live bytes (frees subtract), it bounds what a reader holds at
// once; counting only growth between reset calls, it bounds what one call
// allocates.
type limitAlloc struct {
	memory.Allocator
	limit int64
	live  bool                       // frees subtract from the count
	msg   func(n, limit int64) error // the error for a count of n
	used  atomic.Int64
	armed atomic.Bool
}

func (a *limitAlloc) grow(n int64) {
	if n <= 0 {
		if a.live {
			a.used.Add(n)
		}
		return
	}
	if v := a.used.Add(n); v > a.limit && a.armed.Load() {
		a.used.Add(-n)
		panic(&limitPanic{a.msg(v, a.limit)})
	}
}

func (a *limitAlloc) Allocate(n int) []byte {
	a.grow(int64(n))
	return a.Allocator.Allocate(n)
}

func (a *limitAlloc) Reallocate(n int, b []byte) []byte {
	a.grow(int64(n) - int64(len(b)))
	return a.Allocator.Reallocate(n, b)
}

func (a *limitAlloc) Free(b []byte) {
	if a.live {
		a.used.Add(-int64(len(b)))
	}
	a.Allocator.Free(b)
}

// reset sets the count to zero.
func (a *limitAlloc) reset() { a.used.Store(0) }

// arm makes the allocator refuse allocations past its limit until disarm.
func (a *limitAlloc) arm()    { a.armed.Store(true) }
func (a *limitAlloc) disarm() { a.armed.Store(false) }

// Parquet's zstd and snappy codecs, as arrow-go registers them, size their
// output from the compressed data's own header, not from the page: a zstd
// frame declaring a content size of 2^40 bytes in a page that declares 100
// makes arrow-go allocate a terabyte, which aborts the process. The page
// reader always hands them a buffer of the page's declared uncompressed
// size (bounded by max_page_bytes); these wrappers decode into that buffer
// and refuse to go past it. Encoding is arrow-go's own.
func init() {
	for _, c := range []compress.Compression{compress.Codecs.Zstd, compress.Codecs.Snappy} {
		orig, err := compress.GetCodec(c)
		if err != nil {
			continue
		}
		compress.RegisterCodec(c, boundedCodec{Codec: orig, kind: c})
	}
}

// boundedCodec decodes at most len(dst) bytes.
type boundedCodec struct {
	compress.Codec
	kind compress.Compression
}

// zstdDecoders decode whole pages, never past the capacity of the buffer
// given (WithDecodeAllCapLimit also bounds the window to it).
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecodeAllCapLimit(true))
	if err != nil {
		panic(err)
	}
	return d
}}

func (c boundedCodec) Decode(dst, src []byte) []byte {
	out, err := c.DecodeWithError(dst, src)
	if err != nil {
		panic(err)
	}
	return out
}

func (c boundedCodec) DecodeWithError(dst, src []byte) ([]byte, error) {
	if dst == nil { // the caller wants an allocated result
		return compress.Decode(c.Codec, nil, src)
	}
	switch c.kind {
	case compress.Codecs.Zstd:
		d := zstdDecoders.Get().(*zstd.Decoder)
		defer zstdDecoders.Put(d)
		out, err := d.DecodeAll(src, dst[:0])
		if err != nil {
			return nil, fmt.Errorf("zstd page of %d bytes decoding to at most %d (its declared size): %w", len(src), len(dst), err)
		}
		return out, nil
	default: // snappy
		n, err := snappy.DecodedLen(src)
		if err != nil {
			return nil, err
		}
		if n > len(dst) {
			return nil, fmt.Errorf("snappy page declares %d uncompressed bytes in its header, more than the %d the page header declares", n, len(dst))
		}
		return snappy.Decode(dst, src)
	}
}
