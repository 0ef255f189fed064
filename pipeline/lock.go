package pipeline

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// One writer per output folder. A run holds an advisory lock (flock(2)) on
// `_pipe_lock/folder` inside every folder it writes, from before it looks at
// the folder until it has committed or given up:
//
//   - an unsharded run holds it exclusively, so a second run on the folder
//     fails at once with [ErrLocked] and touches nothing;
//   - each shard of a sharded run holds it shared, plus its own
//     `_pipe_lock/shard-IIIII-of-NNNNN` exclusively: shards of one run do not
//     block each other, the same shard started twice does, and a run split
//     into another number of shards is refused while one of them holds its
//     lock;
//   - committing a folder (the last shard, `pipe commit`) also holds
//     `_pipe_lock/commit` exclusively, so two committers take turns.
//
// The kernel releases a process's locks when it exits, however it exits: a
// lock is never stale on a local filesystem, and a rerun after a crash or a
// SIGKILL takes it over by simply taking it. On NFS (v4, or v3 with lockd)
// flock is a byte-range lock held by the client; the server releases the
// locks of a client that vanished when its lease expires (90 seconds by
// default), so a pod that died on another node is taken over by waiting
// that long. The lock file holds who holds it (host, pid, start time,
// shard) for the message a refused run prints.

// LockDir is the folder of lock files inside an output folder.
const LockDir = "_pipe_lock"

// ErrLocked is wrapped by [*LockedError].
var ErrLocked = errors.New("output folder is in use by another run")

// LockHolder says who holds an output folder's lock.
type LockHolder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Shard is "i/n"; "0/1" for an unsharded run, "commit" for a commit.
	Shard string `json:"shard"`
}

func (h LockHolder) String() string {
	if h.PID == 0 {
		return "an unknown process"
	}
	return fmt.Sprintf("pid %d on host %s (shard %s, started %s)", h.PID, h.Host, h.Shard, h.Started.Format(time.RFC3339))
}

// LockedError is returned when another run holds an output folder. It wraps
// [ErrLocked].
type LockedError struct {
	Dir string
	// Holders are the runs found holding the folder (their lock files'
	// contents); empty when they could not be read.
	Holders []LockHolder
	// Why says what conflicts, such as "shard 1/4 is running".
	Why string
}

func (e *LockedError) Error() string {
	var hs []string
	for _, h := range e.Holders {
		hs = append(hs, h.String())
	}
	who := "another process"
	if len(hs) > 0 {
		who = strings.Join(hs, "; ")
	}
	return fmt.Sprintf("%s is in use: %s (held by %s). Wait for it to finish, or stop it; "+
		"the lock goes with the process that holds it (on NFS, once the server's lease of a vanished client expires)", e.Dir, e.Why, who)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// folderLocks are the locks a run holds on its output folders.
type folderLocks struct {
	files []*os.File
}

// release unlocks and closes every lock file. It is safe on nil.
func (l *folderLocks) release() {
	if l == nil {
		return
	}
	for _, f := range slices.Backward(l.files) {
		_ = unlockFile(f)
		_ = f.Close()
	}
	l.files = nil
}

// lockFolders takes the run's locks on every folder in dirs, in sorted
// order; on failure it holds none.
func lockFolders(dirs []string, sh Shard) (*folderLocks, error) {
	dirs = slices.Clone(dirs)
	slices.Sort(dirs)
	dirs = slices.Compact(dirs)
	l := &folderLocks{}
	for _, dir := range dirs {
		if err := l.lockFolder(dir, sh); err != nil {
			l.release()
			return nil, err
		}
	}
	return l, nil
}

// lockFolder takes sh's locks on one folder.
func (l *folderLocks) lockFolder(dir string, sh Shard) error {
	me := LockHolder{Shard: sh.String(), PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Second)}
	me.Host, _ = os.Hostname()
	if err := os.MkdirAll(filepath.Join(dir, LockDir), 0o755); err != nil {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	if err := checkLockDir(dir); err != nil {
		return err
	}
	if sh.count() == 1 {
		f, err := l.take(dir, "folder", true)
		if err != nil {
			return l.refused(dir, err, "another run is writing it")
		}
		return writeHolder(f, me)
	}
	if _, err := l.take(dir, "folder", false); err != nil {
		return l.refused(dir, err, "an unsharded run is writing it")
	}
	own := shardLockName(sh)
	f, err := l.take(dir, own, true)
	if err != nil {
		return l.refused(dir, err, fmt.Sprintf("shard %s is already running", sh))
	}
	if err := writeHolder(f, me); err != nil {
		return err
	}
	return checkOtherShardCounts(dir, sh)
}

// take opens and locks dir's lock file name without waiting.
func (l *folderLocks) take(dir, name string, exclusive bool) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, LockDir, name), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, exclusive, false); err != nil {
		_ = f.Close()
		return nil, err
	}
	l.files = append(l.files, f)
	return f, nil
}

// refused turns a failure to take a lock into a [*LockedError] naming the
// holders, or returns a locking failure that is not contention as it is.
func (l *folderLocks) refused(dir string, err error, why string) error {
	if !errors.Is(err, errWouldBlock) {
		return fmt.Errorf("lock %s: %w", dir, err)
	}
	return &LockedError{Dir: dir, Why: why, Holders: lockHolders(dir)}
}

// checkOtherShardCounts refuses a sharded run while a run split into
// another number of shards holds a shard lock in dir: their units differ.
func checkOtherShardCounts(dir string, sh Shard) error {
	names, _ := filepath.Glob(filepath.Join(dir, LockDir, "shard-*-of-*"))
	for _, p := range names {
		var i, n int
		if _, err := fmt.Sscanf(filepath.Base(p), "shard-%d-of-%d", &i, &n); err != nil || n == sh.count() {
			continue
		}
		if held(p, true) {
			return &LockedError{Dir: dir, Why: fmt.Sprintf("a run split into %d shards is writing it (this one has %d)", n, sh.count()), Holders: lockHolders(dir)}
		}
	}
	return nil
}

// held reports whether some process holds the lock file at path:
// exclusively, or (with any set) in either mode.
func held(path string, any bool) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	if err := lockFile(f, any, false); err != nil {
		return errors.Is(err, errWouldBlock)
	}
	_ = unlockFile(f)
	return false
}

// lockHolders reads the holders of dir's locks that are held now. Shards
// hold the folder lock shared without writing it: only an exclusive
// holder's content is read.
func lockHolders(dir string) []LockHolder {
	names, _ := filepath.Glob(filepath.Join(dir, LockDir, "*"))
	slices.Sort(names)
	var out []LockHolder
	for _, p := range names {
		if !held(p, filepath.Base(p) != "folder") {
			continue
		}
		if h, err := readJSON[LockHolder](p); err == nil {
			out = append(out, *h)
		}
	}
	return out
}

// writeHolder replaces the lock file's content with who holds it.
func writeHolder(f *os.File, h LockHolder) error {
	data, _ := json.Marshal(h)
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt(append(data, '\n'), 0)
	return err
}

// shardLockName is the lock file of shard sh.
func shardLockName(sh Shard) string {
	return fmt.Sprintf("shard-%05d-of-%05d", sh.Index, sh.count())
}

// checkLockDir refuses a lock folder that is a symbolic link or not a
// folder, as [checkPipeFolders] does for pipe's other folders.
func checkLockDir(dir string) error {
	fi, err := os.Lstat(filepath.Join(dir, LockDir))
	if err != nil {
		return err
	}
	if !fi.IsDir() || fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("%s: %w", filepath.Join(dir, LockDir), ErrFolderEscape)
	}
	return nil
}

// lockCommit takes dir's commit lock, waiting for another committer.
func lockCommit(dir string) (*os.File, error) {
	if err := os.MkdirAll(filepath.Join(dir, LockDir), 0o755); err != nil {
		return nil, err
	}
	if err := checkLockDir(dir); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(filepath.Join(dir, LockDir, "commit"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockFile(f, true, true); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}

// unlockCommit releases a lock from [lockCommit].
func unlockCommit(f *os.File) {
	_ = unlockFile(f)
	_ = f.Close()
}
