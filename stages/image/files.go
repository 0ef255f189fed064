package image

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Errors of a row whose image is a file named by the struct layout's path;
// a [*RowError] wraps one of them.
var (
	ErrNoFile       = errors.New("image file cannot be read")
	ErrFileTooLarge = errors.New("image file is larger than max_file_bytes")
)

// FileSizeError is an image file larger than max_file_bytes; it wraps
// [ErrFileTooLarge].
type FileSizeError struct {
	File  string // the resolved path
	Size  int64  // the bytes read or the size the file reports
	Limit int64
}

func (e *FileSizeError) Error() string {
	return fmt.Sprintf("%v: %s has %d bytes or more (max_file_bytes %d)", ErrFileTooLarge, e.File, e.Size, e.Limit)
}

func (e *FileSizeError) Unwrap() error { return ErrFileTooLarge }

// imageFiles reads the files that struct rows without bytes name.
type imageFiles struct {
	dir   string // relative paths resolve against it (the job's folder)
	limit int64  // max_file_bytes
}

// resolve returns path made absolute against f.dir.
func (f imageFiles) resolve(path string) string {
	if filepath.IsAbs(path) || f.dir == "" {
		return path
	}
	return filepath.Join(f.dir, path)
}

// read returns the content of the file path names, refusing one larger
// than the limit.
func (f imageFiles) read(path string) ([]byte, error) {
	name := f.resolve(path)
	file, err := os.Open(name)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFile, err)
	}
	defer file.Close()
	st, err := file.Stat()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoFile, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrNoFile, name)
	}
	return f.readAll(file, name, st.Size())
}

// readAll reads r, the content of file name whose size is said to be
// size: a size over the limit is refused before anything is read, and a
// content that runs past the limit anyway (a file that grew) after
// limit+1 bytes.
func (f imageFiles) readAll(r io.Reader, name string, size int64) ([]byte, error) {
	if size > f.limit {
		return nil, &FileSizeError{File: name, Size: size, Limit: f.limit}
	}
	b, err := io.ReadAll(io.LimitReader(r, f.limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrNoFile, name, err)
	}
	if int64(len(b)) > f.limit {
		return nil, &FileSizeError{File: name, Size: int64(len(b)), Limit: f.limit}
	}
	return b, nil
}
