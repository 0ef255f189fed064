package sink

import "os"

// writebackBytes is how much a part file accumulates before the sink asks
// the kernel to start writing it to disk.
const writebackBytes = 8 << 20

// writebackWriter writes to a part file and, every writebackBytes, starts
// the kernel's writeback of what it wrote without waiting for it (Linux
// sync_file_range; nothing elsewhere). The fsync that completes the file
// then has little left to flush, so a unit's commit stalls the pipeline
// less.
type writebackWriter struct {
	f                *os.File
	written, started int64
	off              bool // the sink skips fsync (tests)
}

func (w *writebackWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.written += int64(n)
	if !w.off && w.written-w.started >= writebackBytes {
		startWriteback(w.f, w.started, w.written-w.started)
		w.started = w.written
	}
	return n, err
}
