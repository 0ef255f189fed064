package sink

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"os"
)

// writebackBytes is how much a part file accumulates before the sink asks
// the kernel to start writing it to disk.
const writebackBytes = 8 << 20

// writebackWriter writes to a part file and, every writebackBytes, starts
// the kernel's writeback of what it wrote without waiting for it (Linux
// sync_file_range; nothing elsewhere). The fsync that completes the file
// then has little left to flush, so a unit's commit stalls the pipeline
// less.
//
// It also hashes what it writes: the file is created empty and written
// front to back through this writer alone, so the digest is the SHA-256 of
// the file, which the manifest records without reading the file again.
type writebackWriter struct {
	f                *os.File
	written, started int64
	off              bool // the sink skips fsync (tests)
	sum              hash.Hash
}

func newWritebackWriter(f *os.File, off bool) *writebackWriter {
	return &writebackWriter{f: f, off: off, sum: sha256.New()}
}

// digest returns the SHA-256 (hex) and the length of what was written.
func (w *writebackWriter) digest() (string, int64) {
	return hex.EncodeToString(w.sum.Sum(nil)), w.written
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.sum.Write(p[:n])
	w.written += int64(n)
	if !w.off && w.written-w.started >= writebackBytes {
		startWriteback(w.f, w.started, w.written-w.started)
		w.started = w.written
	}
	return n, err
}
