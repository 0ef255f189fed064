package source

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/pipe-ml/pipe/stages"
)

// This file holds how the text sources (CSV, JSON lines) and `pipe inspect`
// open a file: gzip (.gz) and zstd (.zst, .zstd) files are decompressed as
// they are read, never whole. The name says how a file is compressed and
// its first bytes must agree, so that a misnamed file is an error rather
// than garbage rows.

// ErrCompressed: a compressed file is corrupt or truncated, or its content
// does not match its name (gzip data in x.csv, plain text in x.csv.gz).
var ErrCompressed = errors.New("bad compressed file")

// compression is how a text file is compressed.
type compression int

const (
	compNone compression = iota
	compGzip
	compZstd
)

func (c compression) String() string {
	switch c {
	case compGzip:
		return "gzip"
	case compZstd:
		return "zstd"
	}
	return "uncompressed"
}

// compressedExts are the name endings of compressed files, with what each
// means.
var compressedExts = []struct {
	ext  string
	comp compression
}{{".gz", compGzip}, {".zst", compZstd}, {".zstd", compZstd}}

// maxZstdWindow bounds the window a zstd frame may ask for: the memory its
// decoder holds. zstd --long (the largest window of its command line
// without --long=N) uses 128MiB.
const maxZstdWindow = 128 << 20

// compressionOf returns how the name of path says it is compressed, and
// the name without that ending ("x.csv.gz": gzip, "x.csv").
func compressionOf(path string) (compression, string) {
	low := strings.ToLower(path)
	for _, c := range compressedExts {
		if strings.HasSuffix(low, c.ext) {
			return c.comp, path[:len(path)-len(c.ext)]
		}
	}
	return compNone, path
}

// withCompressed returns exts followed by each of them with every
// compressed ending: ".csv" gives ".csv", ".csv.gz", ".csv.zst", ...
func withCompressed(exts ...string) []string {
	out := append([]string(nil), exts...)
	for _, e := range exts {
		for _, c := range compressedExts {
			out = append(out, e+c.ext)
		}
	}
	return out
}

// sniff returns the compression that the first bytes of a file announce.
func sniff(head []byte) compression {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return compGzip
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return compZstd
	}
	return compNone
}

// textFile is an open text file whose reads return its decompressed bytes.
// Errors of the decompressor wrap [ErrCompressed]. Close it when done.
type textFile struct {
	f    io.ReadCloser // the file, or the body of an s3:// object
	raw  *countReader  // counts the bytes read from f
	r    io.Reader
	comp compression
	gz   *gzip.Reader
	zr   *zstd.Decoder
}

// openText opens path for reading its text: decompressed when its name
// ends with .gz, .zst or .zstd. A file whose first bytes do not match its
// name fails with an error wrapping [ErrCompressed]; an empty file (0
// bytes) reads as empty whatever its name.
func openText(path string) (*textFile, error) {
	f, err := openTextInput(path)
	if err != nil {
		return nil, err
	}
	named, _ := compressionOf(path)
	raw := &countReader{r: f}
	br := bufio.NewReaderSize(raw, 1<<16)
	head, _ := br.Peek(4)
	t := &textFile{f: f, raw: raw, r: br, comp: named}
	if len(head) == 0 {
		t.comp = compNone
		return t, nil
	}
	if err := t.start(br, sniff(head), head, path); err != nil {
		_ = f.Close()
		return nil, fileErr(path, err)
	}
	return t, nil
}

// openErr names path in an error of [openText] that does not name it yet.
func openErr(path string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	return fileErr(path, err)
}

// start checks that the first bytes head announce the compression the
// name of path says, and starts its decompressor over br.
func (t *textFile) start(br *bufio.Reader, got compression, head []byte, path string) error {
	if got != t.comp {
		if t.comp == compNone {
			return fmt.Errorf("%w: the file holds %s data but its name does not say so; rename it %s%s",
				ErrCompressed, got, filepath.Base(path), map[compression]string{compGzip: ".gz", compZstd: ".zst"}[got])
		}
		return fmt.Errorf("%w: the name says %s but the file does not start like %s data (its first bytes are % x)",
			ErrCompressed, t.comp, t.comp, head)
	}
	var err error
	switch t.comp {
	case compGzip:
		t.gz, err = gzip.NewReader(br)
		t.r = t.gz
	case compZstd:
		t.zr, err = zstd.NewReader(br, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
			zstd.WithDecoderMaxWindow(maxZstdWindow))
		t.r = t.zr
	}
	if err != nil {
		return t.decodeErr(err)
	}
	return nil
}

// Read returns the file's decompressed bytes.
func (t *textFile) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if err != nil && err != io.EOF && t.comp != compNone {
		err = t.decodeErr(err)
	}
	return n, err
}

// decodeErr describes an error of the decompressor.
func (t *textFile) decodeErr(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: truncated %s data: the file ends in the middle of it", ErrCompressed, t.comp)
	}
	if errors.Is(err, zstd.ErrWindowSizeExceeded) {
		return fmt.Errorf("%w: the zstd data asks for a window larger than the %s this reader allows (recompress it without --long=N above 27)",
			ErrCompressed, stages.ByteSize(maxZstdWindow))
	}
	return fmt.Errorf("%w: corrupt %s data: %v", ErrCompressed, t.comp, err)
}

// compressed returns "gzip" or "zstd" for a compressed file, else "".
func (t *textFile) compressed() string {
	if t.comp == compNone {
		return ""
	}
	return t.comp.String()
}

// Close closes the decompressor and the file.
func (t *textFile) Close() error {
	if t.zr != nil {
		t.zr.Close()
	}
	if t.gz != nil {
		_ = t.gz.Close()
	}
	return t.f.Close()
}
