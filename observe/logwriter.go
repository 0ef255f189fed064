package observe

import (
	"io"
	"sync"
)

// LogWriter is where a run's log lines go: straight to its output, or,
// while progress bars are drawn, above the bars so that the two do not
// garble each other. Give it to the logger and to [WatchOptions].
type LogWriter struct {
	mu   sync.Mutex
	out  io.Writer
	bars io.Writer // nil: no bars
}

// NewLogWriter returns a LogWriter writing to out.
func NewLogWriter(out io.Writer) *LogWriter { return &LogWriter{out: out} }

// Write writes p to the output, or above the bars while they are drawn.
func (w *LogWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.bars != nil {
		if n, err := w.bars.Write(p); err == nil {
			return n, nil
		}
	}
	return w.out.Write(p)
}

// route sends writes above bars (nil: straight to the output again).
func (w *LogWriter) route(bars io.Writer) {
	w.mu.Lock()
	w.bars = bars
	w.mu.Unlock()
}
