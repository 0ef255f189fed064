package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3conf"
)

// objectFetches is how many ranged GETs one object reader keeps in flight
// while it prefetches: enough that the column chunks of a row group arrive
// in about the time of the largest, without opening a connection per
// column.
const objectFetches = 4

// objectReader reads one object through ranged GetObject requests. It is
// the io.ReaderAt (and io.Seeker) the Parquet reader reads a file through:
// a read the prefetched ranges cover waits for their request, any other is
// a request of its own. Every request carries If-Match with the ETag the
// listing saw, so an object replaced during the run fails rather than
// mixing two versions. Close cancels the requests in flight and waits for
// their goroutines.
type objectReader struct {
	client *s3.Client
	obj    objectInfo
	ctx    context.Context
	cancel context.CancelFunc
	sem    chan struct{}
	wg     sync.WaitGroup

	mu     sync.Mutex
	blocks []*objectBlock
	pos    int64 // for Seek
}

// objectBlock is one prefetched range of an object.
type objectBlock struct {
	off  int64
	data []byte        // len is the range's length
	err  error         // set before done closes
	done chan struct{} // closed when data (or err) is ready
}

// newObjectReader returns a reader of obj; it makes no request.
func newObjectReader(client *s3.Client, obj objectInfo) *objectReader {
	ctx, cancel := context.WithCancel(context.Background())
	return &objectReader{client: client, obj: obj, ctx: ctx, cancel: cancel, sem: make(chan struct{}, objectFetches)}
}

// ReadAt reads len(p) bytes at off, from a prefetched range when one holds
// them.
func (r *objectReader) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("%s: read at negative offset %d", r.obj.url(), off)
	}
	if off >= r.obj.size {
		return 0, io.EOF
	}
	want := min(int64(len(p)), r.obj.size-off)
	if b := r.cached(off, want); b != nil {
		select {
		case <-b.done:
		case <-r.ctx.Done():
			return 0, fmt.Errorf("%s: %w", r.obj.url(), r.ctx.Err())
		}
		if b.err == nil {
			n := copy(p[:want], b.data[off-b.off:])
			return eofIfShort(n, len(p))
		}
	}
	n, err := r.get(p[:want], off)
	if err != nil {
		return n, err
	}
	return eofIfShort(n, len(p))
}

// eofIfShort returns n with io.EOF when it is less than asked.
func eofIfShort(n, asked int) (int, error) {
	if n < asked {
		return n, io.EOF
	}
	return n, nil
}

// cached returns the prefetched block that holds [off, off+n), or nil.
func (r *objectReader) cached(off, n int64) *objectBlock {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, b := range r.blocks {
		if off >= b.off && off+n <= b.off+int64(len(b.data)) {
			return b
		}
	}
	return nil
}

// get fills p with the bytes at off by a ranged GET, resuming a body cut
// off mid-way (s3conf.ReadRange).
func (r *objectReader) get(p []byte, off int64) (int, error) {
	if err := s3conf.ReadRange(r.ctx, r.client, r.obj.bucket, r.obj.key, r.obj.etag, p, off); err != nil {
		return 0, fmt.Errorf("%s: get bytes %d-%d: %w", r.obj.url(), off, off+int64(len(p))-1, objectChanged(err, r.obj.etag))
	}
	return len(p), nil
}

// prefetch starts fetching the ranges ([offset, length] pairs) that no
// block holds yet, at most objectFetches at a time, and forgets the blocks
// of ranges not listed: what the reader holds is what the next reads need.
func (r *objectReader) prefetch(ranges [][2]int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var keep []*objectBlock
	for _, rg := range ranges {
		off, n := rg[0], min(rg[1], r.obj.size-rg[0])
		if n <= 0 {
			continue
		}
		var found *objectBlock
		for _, b := range r.blocks {
			if b.off == off && int64(len(b.data)) == n {
				found = b
			}
		}
		if found == nil {
			found = &objectBlock{off: off, data: make([]byte, n), done: make(chan struct{})}
			r.wg.Add(1)
			go r.fetch(found)
		}
		keep = append(keep, found)
	}
	r.blocks = keep
}

// fetch fills b, holding one of the reader's request slots.
func (r *objectReader) fetch(b *objectBlock) {
	defer r.wg.Done()
	defer close(b.done)
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		b.err = r.ctx.Err()
		return
	}
	defer func() { <-r.sem }()
	_, b.err = r.get(b.data, b.off)
}

// Seek implements io.Seeker, which the Parquet reader asks for to learn
// the size (it seeks to the end).
func (r *objectReader) Seek(offset int64, whence int) (int64, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += r.pos
	case io.SeekEnd:
		offset += r.obj.size
	default:
		return 0, errors.New("objectReader.Seek: invalid whence")
	}
	if offset < 0 {
		return 0, errors.New("objectReader.Seek: negative position")
	}
	r.pos = offset
	return offset, nil
}

// Close cancels the requests in flight and waits for them.
func (r *objectReader) Close() error {
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	r.blocks = nil
	r.mu.Unlock()
	return nil
}
