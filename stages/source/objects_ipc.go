package source

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/pipe-ml/pipe/internal/s3conf"
	"github.com/pipe-ml/pipe/stages"
)

// This file holds what ipc_source does differently for s3:// objects: a
// file-format object is read through ranged requests (see [objectReader]):
// the footer at its end, then each record batch's message; a stream-format
// object is one streamed GetObject. Every request is conditional on the
// ETag the listing saw, so an object replaced during the run fails.

// ipcInput is what arrow-go's file reader reads an IPC file or object
// through.
type ipcInput interface {
	ipc.ReadAtSeeker
	io.Closer
}

var _ ipcInput = (*windowReader)(nil)

// ipcWindow is the least an IPC object's reader fetches per request: the
// footer with the end of the object, and a record batch's message header
// with the start of its body (the whole message when small), so that
// walking the message headers and reading small batches costs a request
// per window rather than several per message.
const ipcWindow = 32 << 10

// windowReader reads an IPC object through an [objectReader], fetching
// reads shorter than ipcWindow as a window of that size (the object's last
// window for a read near its end) and keeping the last window fetched.
type windowReader struct {
	*objectReader
	mu  sync.Mutex
	off int64  // of buf in the object
	buf []byte // the last window fetched
}

// ReadAt implements io.ReaderAt.
func (w *windowReader) ReadAt(p []byte, off int64) (int, error) {
	size := w.obj.size
	if off < 0 || off >= size || len(p) >= ipcWindow {
		return w.objectReader.ReadAt(p, off)
	}
	want := min(int64(len(p)), size-off)
	w.mu.Lock()
	defer w.mu.Unlock()
	if off < w.off || off+want > w.off+int64(len(w.buf)) {
		start := off
		if start+ipcWindow > size {
			start = max(0, size-ipcWindow)
		}
		buf := make([]byte, min(size, start+ipcWindow)-start)
		if _, err := w.get(buf, start); err != nil {
			return 0, err
		}
		w.off, w.buf = start, buf
	}
	return eofIfShort(copy(p[:want], w.buf[off-w.off:]), len(p))
}

// openAt opens f for reads at offsets: the file (failing when it changed
// since its metadata was checked), or a reader of the object.
func (f *ipcFile) openAt() (ipcInput, int64, error) {
	if f.obj != nil {
		client, err := objectClient(context.Background())
		if err != nil {
			return nil, 0, err
		}
		return &windowReader{objectReader: newObjectReader(client, *f.obj)}, f.obj.size, nil
	}
	file, err := os.Open(f.path)
	if err != nil {
		return nil, 0, err
	}
	st, err := file.Stat()
	if err != nil {
		file.Close()
		return nil, 0, err
	}
	// arrow-go reads what scanIPC checked when the source was built: a
	// file changed since would reach it unchecked.
	if was := f.stat; was != nil && (st.Size() != was.Size() || !st.ModTime().Equal(was.ModTime())) {
		file.Close()
		return nil, 0, fmt.Errorf("changed since the job was validated (size %d, then %d): not read", st.Size(), was.Size())
	}
	return file, st.Size(), nil
}

// openStream opens f to be read from its start: the file, or the object's
// streamed body (resumed from the byte it was cut off at, on the same
// version).
func (f *ipcFile) openStream() (io.ReadCloser, error) {
	if f.obj == nil {
		in, _, err := f.openAt()
		return in, err
	}
	client, err := objectClient(context.Background())
	if err != nil {
		return nil, err
	}
	body, _, err := s3conf.GetBody(context.Background(), client, f.obj.bucket, f.obj.key, f.obj.etag, 0)
	if err != nil {
		return nil, fmt.Errorf("get object: %w", objectChanged(err, f.obj.etag))
	}
	return body, nil
}

// ObjectVersions implements [stages.ObjectVersioner].
func (s *IPC) ObjectVersions() []stages.ObjectVersion {
	var out []stages.ObjectVersion
	for _, f := range s.files {
		if f.obj != nil {
			out = append(out, stages.ObjectVersion{URL: f.path, Size: f.obj.size, ETag: f.obj.etag})
		}
	}
	return out
}

// Read implements io.Reader from the position Seek set, which arrow-go's
// IPC file reader asks for (it reads through ReadAt).
func (r *objectReader) Read(p []byte) (int, error) {
	r.mu.Lock()
	pos := r.pos
	r.mu.Unlock()
	n, err := r.ReadAt(p, pos)
	r.mu.Lock()
	r.pos = pos + int64(n)
	r.mu.Unlock()
	return n, err
}
