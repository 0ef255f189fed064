package output

import (
	"context"
	"errors"
	"io"
	"io/fs"
)

// Folder is the storage seam of the output protocol: the handful of calls
// the protocol makes on an output folder. Names are slash-separated and
// relative to the folder ("_pipe_units/unit-00003.json"); "" is the folder
// itself. A local directory implements it with [LocalDir]; an object store
// implements it over a bucket and a key prefix (see the package comment for
// what it must guarantee). Every method may be called from several
// goroutines at once.
type Folder interface {
	// Path names an entry in messages and in [stages.OutputFile] paths:
	// a file path for a local folder, a URL for a bucket. Path("") names
	// the folder.
	Path(name string) string
	// List returns the entries of folder dir, sorted by name. A folder
	// that does not exist is either empty or an error wrapping
	// [fs.ErrNotExist].
	List(ctx context.Context, dir string) ([]Entry, error)
	// Stat describes the entry name itself (a symbolic link is a link, not
	// what it points to); a missing entry is an error wrapping
	// [fs.ErrNotExist].
	Stat(ctx context.Context, name string) (Entry, error)
	// Size returns the size in bytes of the file name (following a link).
	Size(ctx context.Context, name string) (int64, error)
	// ReadFile returns the contents of a small file: a manifest, a record.
	ReadFile(ctx context.Context, name string) ([]byte, error)
	// Open opens a file for reading from the start, to hash it.
	Open(ctx context.Context, name string) (io.ReadCloser, error)
	// WriteFileAtomic makes name hold exactly data, durably: a reader sees
	// the old content or the new, never a part; it creates missing
	// folders. This is the call that switches committed output.
	WriteFileAtomic(ctx context.Context, name string, data []byte) error
	// WriteMarker creates the empty file name, durably.
	WriteMarker(ctx context.Context, name string) error
	// Remove removes the file or empty folder name; a missing one is an
	// error wrapping [fs.ErrNotExist].
	Remove(ctx context.Context, name string) error
	// RemoveAll removes name and everything under it; a missing one is not
	// an error.
	RemoveAll(ctx context.Context, name string) error
	// MkdirAll creates folder name and its parents. Where folders do not
	// exist (a bucket) it does nothing.
	MkdirAll(ctx context.Context, name string) error
	// Sync makes the entries created, renamed or removed in folder dir
	// durable. Where every write is durable when it returns (a bucket) it
	// does nothing.
	Sync(ctx context.Context, dir string) error
}

// Entry is one entry of a [Folder].
type Entry struct {
	Name string
	// Type holds the type bits of the entry's mode: 0 for a plain file
	// (an object in a bucket), [fs.ModeDir] for a folder (a common key
	// prefix), [fs.ModeSymlink] for a symbolic link.
	Type fs.FileMode
}

// Regular reports whether the entry is a plain file.
func (e Entry) Regular() bool { return e.Type.IsRegular() }

// Locker is the optional lock capability of a [Folder], found by type
// assertion: a local folder has flock(2), a bucket has no locks. The
// protocol takes its locks (see [LockFolders]) only on folders that
// implement it.
type Locker interface {
	// Lock takes the lock file name (created when missing), exclusively
	// or shared. With wait unset, a lock another holder keeps returns an
	// error wrapping [ErrLockHeld] at once. The lock lasts until Unlock or
	// until the process exits, however it exits.
	Lock(ctx context.Context, name string, exclusive, wait bool) (LockFile, error)
	// Held reports whether another holder keeps the lock file name:
	// exclusively, or (with anyMode set) in either mode.
	Held(ctx context.Context, name string, anyMode bool) bool
}

// LockFile is a lock taken through a [Locker].
type LockFile interface {
	// Replace replaces the lock file's content, which says who holds it.
	Replace(data []byte) error
	// Unlock releases the lock.
	Unlock() error
}

// ErrLockHeld is wrapped by the error of [Locker.Lock] when another holder
// keeps the lock.
var ErrLockHeld = errors.New("lock is held")

// Creator is the optional streaming-write capability of a [Folder] that has
// no rename (a bucket), found by type assertion: a sink writes each part
// file straight to its final name through an [Upload], and the file
// appears there only when the upload is committed, whole.
type Creator interface {
	// Create starts writing the file name. Nothing appears under name
	// until [Upload.Commit] returns; after [Upload.Abort], or a failure,
	// nothing does. The upload may outlive ctx (a sink writes one file
	// under several calls' contexts): Abort is what stops it.
	Create(ctx context.Context, name string, o CreateOptions) (Upload, error)
}

// CreateOptions tune an [Upload].
type CreateOptions struct {
	// PartSize is the size of each part sent (the memory an upload holds
	// per part); 0 means the implementation's default.
	PartSize int64
	// MaxInFlight is the most parts sent at once, besides the one being
	// filled; 0 means the implementation's default.
	MaxInFlight int
}

// Upload is a file being written through a [Creator]. Its methods are
// called from one goroutine.
type Upload interface {
	io.Writer
	// Commit sends what is left and makes the file appear under its name,
	// whole. After a failed Commit nothing appears; call Abort.
	Commit() error
	// Abort discards the file, what was sent included. It is safe after
	// Commit (it then does nothing) and more than once.
	Abort() error
}
