package executor

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/contentsum"
)

// hashModel returns the hex SHA-256 of the model at path and its size in
// bytes. A folder (a .mlpackage) hashes the relative path and content of
// every regular file in it, in sorted order, and its size is their sum
// (package internal/contentsum).
func hashModel(path string) (sum string, size int64, err error) {
	sum, size, err = contentsum.Sum(path)
	if err != nil {
		return "", 0, fmt.Errorf("model %s: %w", path, err)
	}
	return sum, size, nil
}

// pinSpec pins the model file of spec (see pinModel). A kernel has no
// file: its name stands for its content.
func (e *Executor) pinSpec(spec ModelSpec) (string, int64, error) {
	if spec.Kernel != "" {
		if spec.Path != "" {
			return "", 0, fmt.Errorf("model spec: give a path or a kernel, not both (%s, %s)", spec.Path, spec.Kernel)
		}
		return "kernel:" + spec.Kernel, 0, nil
	}
	return e.pinModel(spec.Path, spec.SHA256)
}

// pinModel returns the content a model path stands for during the
// executor's life. The first Open of a path pins it: to want when the
// caller gives the hash (the job's fingerprint read the file), else to
// the file's hash now. Later Opens reuse the pin, and every load checks
// the bytes it reads against it ([Executor.loadSession]), so a model file
// replaced while a job runs never reaches a session.
func (e *Executor) pinModel(path, want string) (string, int64, error) {
	e.mu.Lock()
	p, ok := e.pins[path]
	e.mu.Unlock()
	if !ok {
		var err error
		if want != "" {
			p.sum = strings.ToLower(want)
			fi, serr := os.Stat(path)
			if serr != nil {
				err = fmt.Errorf("model %s: %w", path, serr)
			} else {
				p.size = contentSize(path, fi)
			}
		} else {
			p.sum, p.size, err = hashModel(path)
		}
		if err != nil {
			return "", 0, &bridge.Error{Backend: "executor", Op: "load", Class: bridge.ClassModelCorrupt, Err: err}
		}
		e.mu.Lock()
		if q, ok := e.pins[path]; ok {
			p = q
		} else {
			if e.pins == nil {
				e.pins = map[string]hashed{}
			}
			e.pins[path] = p
		}
		e.mu.Unlock()
	}
	if want != "" && !strings.EqualFold(want, p.sum) {
		return "", 0, &HashMismatchError{Path: path, Want: strings.ToLower(want), Got: p.sum}
	}
	return p.sum, p.size, nil
}

// contentSize is a file's size, or the summed size of a folder's files
// (0 when the folder cannot be walked: the load reports why).
func contentSize(path string, fi os.FileInfo) int64 {
	if !fi.IsDir() {
		return fi.Size()
	}
	var n int64
	_ = filepath.Walk(path, func(_ string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			n += fi.Size()
		}
		return nil
	})
	return n
}

// loadSession opens the model at path, whose content must hash to sum, on
// backend b. A backend that loads from memory ([bridge.MemoryOpener]) gets
// the bytes the executor read and checked. Any other backend, and any
// folder model, gets a private copy made once per content and checked as
// it is copied (see [Executor.privateCopy]). Content that no longer hashes
// to sum is a [*HashMismatchError] naming the file.
func (e *Executor) loadSession(ctx context.Context, b bridge.Backend, path, sum string, opts bridge.Options) (bridge.Session, error) {
	if mo, ok := b.(bridge.MemoryOpener); ok {
		if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() {
			data, _, err := contentsum.ReadFile(path, sum)
			if err != nil {
				return nil, loadError(path, err)
			}
			return mo.OpenMemory(ctx, path, data, opts)
		}
	}
	private, err := e.privateCopy(path, sum)
	if err != nil {
		return nil, loadError(path, err)
	}
	return b.Open(ctx, private, opts)
}

// loadError turns a failure to read or copy a model into the executor's
// errors: a changed content is a [*HashMismatchError], anything else a
// model-corrupt [*bridge.Error] naming the file.
func loadError(path string, err error) error {
	var me *contentsum.MismatchError
	if errors.As(err, &me) {
		return &HashMismatchError{Path: path, Want: me.Want, Got: me.Got}
	}
	return &bridge.Error{Backend: "executor", Op: "load", Class: bridge.ClassModelCorrupt, Err: fmt.Errorf("model %s: %w", path, err)}
}

// privateCopy returns the executor's private copy of the model at path
// whose content hashes to sum, making it on first use: <folder>/<sum>/<base
// name>, the base name kept so that backends see the same format and
// name. The copy is hashed as it is written and removed when the content
// differs; the folder is created with mode 0700 under the system's
// temporary folder and removed by [Executor.Close].
func (e *Executor) privateCopy(path, sum string) (string, error) {
	e.copyMu.Lock()
	defer e.copyMu.Unlock()
	if e.copiesGone {
		return "", ErrClosed // a load that began before Close
	}
	if p, ok := e.copies[sum]; ok {
		return p, nil
	}
	if e.copyDir == "" {
		d, err := os.MkdirTemp("", "pipe-models-")
		if err != nil {
			return "", fmt.Errorf("private model folder: %w", err)
		}
		e.copyDir = d
	}
	dir := filepath.Join(e.copyDir, sum)
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return "", fmt.Errorf("private model folder: %w", err)
	}
	dst := filepath.Join(dir, filepath.Base(filepath.Clean(path)))
	_ = os.RemoveAll(dst) // a copy that failed half-way
	if _, _, err := contentsum.Copy(path, dst, sum); err != nil {
		return "", err
	}
	if e.copies == nil {
		e.copies = map[string]string{}
	}
	e.copies[sum] = dst
	return dst, nil
}

// removeCopies deletes the private copies; Close calls it after every
// session is closed.
func (e *Executor) removeCopies() error {
	e.copyMu.Lock()
	defer e.copyMu.Unlock()
	e.copiesGone = true
	if e.copyDir == "" {
		return nil
	}
	err := os.RemoveAll(e.copyDir)
	e.copyDir, e.copies = "", nil
	return err
}

// modelLabel is the metrics label of a model: its file base name.
func modelLabel(path string) string { return filepath.Base(filepath.Clean(path)) }

// specLabel is the model label of a spec: the file name, or the kernel's
// name prefixed "kernel:".
func specLabel(spec ModelSpec) string {
	if spec.Kernel != "" {
		return "kernel:" + spec.Kernel
	}
	return modelLabel(spec.Path)
}

// modelExt returns the model's format extension, lower case (".onnx",
// ".mlpackage").
func modelExt(path string) string {
	return strings.ToLower(filepath.Ext(strings.TrimRight(path, "/")))
}
