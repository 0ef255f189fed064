// Package contentsum computes the SHA-256 that identifies the content of a
// file or folder a stage reads at build time (a model, an .mlpackage, a
// matrix), and reads or copies that content so that what is used is what
// was hashed.
//
// A file's sum is the SHA-256 of its bytes, the value sha256sum prints. A
// folder's sum covers every regular file under it, in sorted order of
// slash-separated relative path, each as its relative path, a zero byte and
// its bytes; its size is the sum of the files' sizes.
//
// # Errors
//
// Every error names the path it concerns. A content that differs from an
// expected sum is a [*MismatchError], which wraps [ErrChanged].
//
// # Concurrency
//
// The functions keep no state and may be called from several goroutines.
package contentsum

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrChanged is wrapped by a [*MismatchError]: the content read differs
// from the one expected.
var ErrChanged = errors.New("content changed")

// MismatchError says that the content at Path does not have the expected
// sum.
type MismatchError struct {
	Path string
	Want string // the expected sum, hex
	Got  string // the sum of what was read, hex
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: content changed: sha256 is %s, expected %s (the file was replaced or modified after it was first read)", e.Path, e.Got, e.Want)
}

// Unwrap returns [ErrChanged].
func (e *MismatchError) Unwrap() error { return ErrChanged }

// Sum returns the hex SHA-256 of the file or folder at path and its size in
// bytes.
func Sum(path string) (sum string, size int64, err error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", 0, err
	}
	if !fi.IsDir() {
		f, err := os.Open(path)
		if err != nil {
			return "", 0, err
		}
		defer f.Close()
		h := sha256.New()
		n, err := io.Copy(h, f)
		if err != nil {
			return "", 0, fmt.Errorf("%s: reading: %w", path, err)
		}
		return hex.EncodeToString(h.Sum(nil)), n, nil
	}
	return walkFolder(path, nil)
}

// ReadFile reads the regular file at path and returns its bytes and their
// sum. When want is not "", a sum other than want is a [*MismatchError]
// (and no bytes are returned).
func ReadFile(path, want string) ([]byte, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	s := sha256.Sum256(b)
	got := hex.EncodeToString(s[:])
	if err := Check(path, want, got); err != nil {
		return nil, "", err
	}
	return b, got, nil
}

// Check returns a [*MismatchError] when want is not "" and differs from got
// (case-insensitively), else nil.
func Check(path, want, got string) error {
	if want != "" && !strings.EqualFold(want, got) {
		return &MismatchError{Path: path, Want: strings.ToLower(want), Got: got}
	}
	return nil
}

// Copy copies the file or folder at src to dst (which must not exist),
// hashing the bytes as it copies them, and returns their sum and size. When
// want is not "" and the copied content's sum differs, dst is removed and
// the error is a [*MismatchError] naming src.
func Copy(src, dst, want string) (sum string, size int64, err error) {
	fi, err := os.Stat(src)
	if err != nil {
		return "", 0, err
	}
	defer func() {
		if err != nil {
			_ = os.RemoveAll(dst)
		}
	}()
	if !fi.IsDir() {
		h := sha256.New()
		size, err = copyFile(src, dst, h)
		if err != nil {
			return "", 0, err
		}
		sum = hex.EncodeToString(h.Sum(nil))
	} else {
		if err := os.MkdirAll(dst, 0o700); err != nil {
			return "", 0, err
		}
		sum, size, err = walkFolder(src, func(rel string, h io.Writer) (int64, error) {
			target := filepath.Join(dst, filepath.FromSlash(rel))
			if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
				return 0, err
			}
			return copyFile(filepath.Join(src, filepath.FromSlash(rel)), target, h)
		})
		if err != nil {
			return "", 0, err
		}
	}
	if err := Check(src, want, sum); err != nil {
		return "", 0, err
	}
	return sum, size, nil
}

// copyFile copies src to a new file dst, writing every byte to h too.
func copyFile(src, dst string, h io.Writer) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.MultiWriter(out, h), in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, fmt.Errorf("%s: copying: %w", src, err)
	}
	return n, nil
}

// walkFolder hashes the regular files under dir in sorted order. each,
// when set, writes a file's bytes to the hash itself (and copies them);
// else the file is read.
func walkFolder(dir string, each func(rel string, h io.Writer) (int64, error)) (string, int64, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			rel, err := filepath.Rel(dir, p)
			if err != nil {
				return err
			}
			files = append(files, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		return "", 0, err
	}
	sort.Strings(files)
	h := sha256.New()
	var size int64
	for _, rel := range files {
		fmt.Fprintf(h, "%s\x00", rel)
		n, err := hashInto(h, dir, rel, each)
		if err != nil {
			return "", 0, err
		}
		size += n
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

func hashInto(h hash.Hash, dir, rel string, each func(string, io.Writer) (int64, error)) (int64, error) {
	if each != nil {
		return each(rel, h)
	}
	p := filepath.Join(dir, filepath.FromSlash(rel))
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, err := io.Copy(h, f)
	if err != nil {
		return 0, fmt.Errorf("%s: reading: %w", p, err)
	}
	return n, nil
}
