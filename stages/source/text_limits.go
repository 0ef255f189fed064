package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/stages"
)

// This file holds the limits that bound the memory of the sources that
// build their batches (CSV, JSON lines, generate): the size of one record
// or line, and the size of one batch, which shrinks a batch's rows when
// the schema is wide.

// ErrInvalidUTF8: a text value or column name is not valid UTF-8, which
// Arrow string columns and field names require.
var ErrInvalidUTF8 = errors.New("not valid UTF-8")

const (
	// defaultBatchBytes is the default of batch_bytes.
	defaultBatchBytes = 32 << 20
	// maxBatchBytes bounds batch_bytes: string offsets are 32-bit.
	maxBatchBytes = 1 << 30
	// defaultMaxRecordBytes is the default of max_record_bytes (CSV) and
	// max_line_bytes (JSON lines).
	defaultMaxRecordBytes = 64 << 20
	// maxRecordBytes bounds those settings.
	maxRecordBytes = 1 << 30
)

// sizeSetting validates a byte-size setting named key and returns its
// value; 0 (a config built in Go without it) stands for def.
func sizeSetting(key string, v stages.ByteSize, def, most int64) (int64, error) {
	if v == 0 {
		return def, nil
	}
	if v < 0 || int64(v) > most {
		return 0, fmt.Errorf("%s must be from 1 to %s, got %d", key, stages.ByteSize(most), v)
	}
	return int64(v), nil
}

// rowBytes estimates the bytes one row of a column of type dt takes in a
// batch, as its builder holds it: its fixed-width values, offsets and
// validity (counted as a byte: the text sources track it as a bool), but
// not the bytes of strings, which the text sources count as they read.
func rowBytes(dt arrow.DataType) int64 {
	switch t := dt.(type) {
	case *arrow.FixedSizeListType:
		return 1 + int64(t.Len())*(rowBytes(t.Elem())-1)
	case arrow.FixedWidthDataType:
		return 1 + int64(max(t.BitWidth()/8, 1))
	}
	return 1 + 4 // strings and binaries: an int32 offset
}

// schemaRowBytes is the sum of rowBytes over the fields of s, at least 1.
func schemaRowBytes(s *arrow.Schema) int64 {
	var n int64 = 1
	for _, f := range s.Fields() {
		n += rowBytes(f.Type)
	}
	return n
}

// batchRowsFor returns how many rows of width bytes fit in budget, from 1
// to batchRows.
func batchRowsFor(batchRows int, budget, width int64) int {
	return int(max(1, min(int64(batchRows), budget/max(width, 1))))
}

// LimitError is a record, line or row above a size setting. It wraps
// [ErrLimit].
type LimitError struct {
	What    string // "record", "line", "row"
	Size    int64  // its size in bytes when known, else 0 (more than Limit)
	Limit   int64
	Setting string // the key that raises the limit
}

func (e *LimitError) Error() string {
	size := fmt.Sprintf("more than %s", stages.ByteSize(e.Limit))
	if e.Size > 0 {
		size = fmt.Sprintf("%d bytes, more than %s", e.Size, stages.ByteSize(e.Limit))
	}
	return fmt.Sprintf("%s: %s of %s (raise %s to read it)", ErrLimit, e.What, size, e.Setting)
}

// Unwrap returns [ErrLimit].
func (e *LimitError) Unwrap() error { return ErrLimit }

// errReadLimit is returned by a [readLimiter] past its limit.
var errReadLimit = errors.New("read limit reached")

// readLimiter passes through at most limit bytes of r, then fails with
// errReadLimit. A CSV reader reads from it through a bufio.Reader of
// bufSize bytes: granting limit = (offset of the record's start) +
// max_record_bytes + bufSize lets every record of at most max_record_bytes
// through and bounds what a longer one costs.
type readLimiter struct {
	r       io.Reader
	read    int64
	limit   int64
	tripped bool
}

func (l *readLimiter) Read(p []byte) (int, error) {
	if l.read >= l.limit {
		l.tripped = true
		return 0, errReadLimit
	}
	if int64(len(p)) > l.limit-l.read {
		p = p[:l.limit-l.read]
	}
	n, err := l.r.Read(p)
	l.read += int64(n)
	return n, err
}

// lineAt returns the 1-based line of path that holds byte offset off (of
// its decompressed text when it is compressed).
func lineAt(path string, off int64) int64 {
	f, err := openText(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.LimitReader(f, off), 1<<16)
	line := int64(1)
	buf := make([]byte, 1<<16)
	for {
		n, err := br.Read(buf)
		line += int64(bytes.Count(buf[:n], []byte{'\n'}))
		if err != nil {
			return line
		}
	}
}

// invalidUTF8 describes a value that is not valid UTF-8.
func invalidUTF8(v string) error {
	return fmt.Errorf("value %q is %w", truncate(v), ErrInvalidUTF8)
}

// checkNamesUTF8 returns the first name that is not valid UTF-8, with its
// index, or -1.
func checkNamesUTF8(names []string) int {
	for i, n := range names {
		if !utf8.ValidString(n) {
			return i
		}
	}
	return -1
}
