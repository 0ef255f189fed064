package output

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"

	"github.com/pipe-ml/pipe/stages"
)

// LocalDir is a [Folder] on a local (or NFS-mounted) directory, with flock
// locks ([Locker]). Its calls ignore their context: local file operations
// are not cancelled half-way.
type LocalDir struct {
	dir string
}

// Local returns the [Folder] of directory dir, named in messages as dir is
// written.
func Local(dir string) *LocalDir { return &LocalDir{dir: dir} }

// path returns the local path of name.
func (l *LocalDir) path(name string) string {
	if name == "" {
		return l.dir
	}
	return filepath.Join(l.dir, filepath.FromSlash(name))
}

// Path returns the local path of name; Path("") is the directory as given.
func (l *LocalDir) Path(name string) string { return l.path(name) }

// List returns the directory's entries, sorted by name.
func (l *LocalDir) List(_ context.Context, dir string) ([]Entry, error) {
	ents, err := os.ReadDir(l.path(dir))
	if err != nil {
		return nil, err
	}
	out := make([]Entry, len(ents))
	for i, e := range ents {
		out[i] = Entry{Name: e.Name(), Type: e.Type()}
	}
	return out, nil
}

// Stat describes name without following a link.
func (l *LocalDir) Stat(_ context.Context, name string) (Entry, error) {
	fi, err := os.Lstat(l.path(name))
	if err != nil {
		return Entry{}, err
	}
	return Entry{Name: fi.Name(), Type: fi.Mode().Type()}, nil
}

// Size returns the size of name, following a link.
func (l *LocalDir) Size(_ context.Context, name string) (int64, error) {
	fi, err := os.Stat(l.path(name))
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// ReadFile reads name.
func (l *LocalDir) ReadFile(_ context.Context, name string) ([]byte, error) {
	return os.ReadFile(l.path(name))
}

// Open opens name for reading.
func (l *LocalDir) Open(_ context.Context, name string) (io.ReadCloser, error) {
	return os.Open(l.path(name))
}

// WriteFileAtomic creates name's folder when missing, then writes data to a
// temporary file beside name (".NAME.tmp*"), fsyncs it, renames it into
// place and fsyncs the folder.
func (l *LocalDir) WriteFileAtomic(_ context.Context, name string, data []byte) error {
	path := l.path(name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return writeFileAtomic(path, data)
}

// writeFileAtomic writes data to a temporary file beside path, syncs it and
// renames it into place.
func writeFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	fail := func(err error) error {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// WriteMarker creates the empty file name, fsyncs it and its folder.
func (l *LocalDir) WriteMarker(_ context.Context, name string) error {
	path := l.path(name)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	return stages.SyncDir(filepath.Dir(path))
}

// Remove removes the file or empty folder name.
func (l *LocalDir) Remove(_ context.Context, name string) error { return os.Remove(l.path(name)) }

// RemoveAll removes name and everything under it.
func (l *LocalDir) RemoveAll(_ context.Context, name string) error {
	return os.RemoveAll(l.path(name))
}

// MkdirAll creates folder name and its parents.
func (l *LocalDir) MkdirAll(_ context.Context, name string) error {
	return os.MkdirAll(l.path(name), 0o755)
}

// Sync fsyncs folder dir.
func (l *LocalDir) Sync(_ context.Context, dir string) error { return stages.SyncDir(l.path(dir)) }

// localLock is a lock file held with flock(2).
type localLock struct{ f *os.File }

// Lock opens (creating it) and flocks name.
func (l *LocalDir) Lock(_ context.Context, name string, exclusive, wait bool) (LockFile, error) {
	f, err := os.OpenFile(l.path(name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, exclusive, wait); err != nil {
		_ = f.Close()
		if errors.Is(err, errWouldBlock) {
			return nil, errors.Join(ErrLockHeld, err)
		}
		return nil, err
	}
	return &localLock{f: f}, nil
}

// Held probes name's lock without keeping it.
func (l *LocalDir) Held(_ context.Context, name string, anyMode bool) bool {
	f, err := os.Open(l.path(name))
	if err != nil {
		return false
	}
	defer f.Close()
	if err := lockFile(f, anyMode, false); err != nil {
		return errors.Is(err, errWouldBlock)
	}
	_ = unlockFile(f)
	return false
}

// Replace truncates the lock file and writes data.
func (k *localLock) Replace(data []byte) error {
	if err := k.f.Truncate(0); err != nil {
		return err
	}
	_, err := k.f.WriteAt(data, 0)
	return err
}

// Unlock releases the lock and closes the file.
func (k *localLock) Unlock() error {
	_ = unlockFile(k.f)
	return k.f.Close()
}
