package output

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/pipe-ml/pipe/stages"
)

// LockDir is the folder of lock files inside an output folder.
const LockDir = "_pipe_lock"

// ErrLocked is wrapped by [*LockedError].
var ErrLocked = errors.New("output folder is in use by another run")

// ErrFolderEscape is returned when a folder pipe writes inside an output
// folder is not a plain folder: a symbolic link there could send staged
// files, journal records or locks outside the output folder.
var ErrFolderEscape = errors.New("not a plain folder inside the output folder")

// LockHolder says who holds an output folder's lock.
type LockHolder struct {
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
	// Shard is "i/n"; "0/1" for an unsharded run, "commit" for a commit.
	Shard string `json:"shard"`
	// Expires is when a lease ends unless its holder renews it: set for a
	// lock object in a bucket (output/s3folder), zero for a flock.
	Expires time.Time `json:"expires,omitzero"`
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
	if Scheme(e.Dir) != "" {
		return fmt.Sprintf("%s is in use: %s (held by %s). Wait for it to finish, or stop it; "+
			"a lock object whose holder stopped renewing it is taken over once its lease expires (a holder on this host that is gone, at once); "+
			"to break a stale lock sooner, delete the objects under %s/%s/", e.Dir, e.Why, who, e.Dir, LockDir)
	}
	return fmt.Sprintf("%s is in use: %s (held by %s). Wait for it to finish, or stop it; "+
		"the lock goes with the process that holds it (on NFS, once the server's lease of a vanished client expires)", e.Dir, e.Why, who)
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// Locks are the locks a run holds on its output folders.
type Locks struct {
	held []LockFile
}

// Release releases every lock. It is safe on nil.
func (l *Locks) Release() {
	if l == nil {
		return
	}
	for _, k := range slices.Backward(l.held) {
		_ = k.Unlock()
	}
	l.held = nil
}

// LockFolders takes shard sh's locks on every folder that has them
// ([Locker]), in the order of their paths; on failure it holds none.
func LockFolders(ctx context.Context, folders []Folder, sh Shard) (*Locks, error) {
	folders = slices.Clone(folders)
	slices.SortFunc(folders, func(a, b Folder) int { return strings.Compare(a.Path(""), b.Path("")) })
	folders = slices.CompactFunc(folders, func(a, b Folder) bool { return a.Path("") == b.Path("") })
	l := &Locks{}
	for _, f := range folders {
		lk, ok := f.(Locker)
		if !ok {
			continue
		}
		if err := l.lockFolder(ctx, f, lk, sh); err != nil {
			l.Release()
			return nil, err
		}
	}
	return l, nil
}

// lockFolder takes sh's locks on one folder.
func (l *Locks) lockFolder(ctx context.Context, f Folder, lk Locker, sh Shard) error {
	me := LockHolder{Shard: sh.String(), PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Second)}
	me.Host, _ = os.Hostname()
	if err := f.MkdirAll(ctx, LockDir); err != nil {
		return fmt.Errorf("lock %s: %w", f.Path(""), err)
	}
	if err := checkLockDir(ctx, f); err != nil {
		return err
	}
	if sh.count() == 1 {
		k, err := l.take(ctx, lk, "folder", true)
		if err != nil {
			return refused(ctx, f, err, "another run is writing it")
		}
		return writeHolder(k, me)
	}
	if _, err := l.take(ctx, lk, "folder", false); err != nil {
		return refused(ctx, f, err, "an unsharded run is writing it")
	}
	k, err := l.take(ctx, lk, shardLockName(sh), true)
	if err != nil {
		return refused(ctx, f, err, fmt.Sprintf("shard %s is already running", sh))
	}
	if err := writeHolder(k, me); err != nil {
		return err
	}
	return checkOtherShardCounts(ctx, f, lk, sh)
}

// take locks the folder's lock file name without waiting.
func (l *Locks) take(ctx context.Context, lk Locker, name string, exclusive bool) (LockFile, error) {
	k, err := lk.Lock(ctx, path.Join(LockDir, name), exclusive, false)
	if err != nil {
		return nil, err
	}
	l.held = append(l.held, k)
	return k, nil
}

// refused turns a failure to take a lock into a [*LockedError] naming the
// holders, or returns a locking failure that is not contention as it is.
func refused(ctx context.Context, f Folder, err error, why string) error {
	if !errors.Is(err, ErrLockHeld) {
		return fmt.Errorf("lock %s: %w", f.Path(""), err)
	}
	return &LockedError{Dir: f.Path(""), Why: why, Holders: lockHolders(ctx, f)}
}

// checkOtherShardCounts refuses a sharded run while a run split into
// another number of shards holds a shard lock in the folder: their units
// differ.
func checkOtherShardCounts(ctx context.Context, f Folder, lk Locker, sh Shard) error {
	for _, name := range matching(ctx, f, LockDir, "shard-*-of-*") {
		var i, n int
		if _, err := fmt.Sscanf(path.Base(name), "shard-%d-of-%d", &i, &n); err != nil || n == sh.count() {
			continue
		}
		if lk.Held(ctx, name, true) {
			return &LockedError{Dir: f.Path(""), Why: fmt.Sprintf("a run split into %d shards is writing it (this one has %d)", n, sh.count()), Holders: lockHolders(ctx, f)}
		}
	}
	return nil
}

// lockHolders reads the holders of the folder's locks that are held now.
// Shards hold the folder lock shared without writing it: only an exclusive
// holder's content is read.
func lockHolders(ctx context.Context, f Folder) []LockHolder {
	lk, ok := f.(Locker)
	if !ok {
		return nil
	}
	var out []LockHolder
	for _, name := range matching(ctx, f, LockDir, "*") {
		if !lk.Held(ctx, name, path.Base(name) != "folder") {
			continue
		}
		if h, err := readJSON[LockHolder](ctx, f, name); err == nil {
			out = append(out, *h)
		}
	}
	return out
}

// writeHolder replaces the lock file's content with who holds it.
func writeHolder(k LockFile, h LockHolder) error {
	data, _ := json.Marshal(h)
	return k.Replace(append(data, '\n'))
}

// shardLockName is the lock file of shard sh.
func shardLockName(sh Shard) string {
	return fmt.Sprintf("shard-%05d-of-%05d", sh.Index, sh.count())
}

// checkLockDir refuses a lock folder that is a symbolic link or not a
// folder, as [CheckPipeFolders] does for pipe's other folders. A missing
// one is fine: a bucket has no empty folders to make.
func checkLockDir(ctx context.Context, f Folder) error {
	e, err := f.Stat(ctx, LockDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if !e.Type.IsDir() {
		return fmt.Errorf("%s: %w", f.Path(LockDir), ErrFolderEscape)
	}
	return nil
}

// lockCommit takes the folder's commit lock, waiting for another committer,
// and returns its release. A folder without locks is not locked.
func lockCommit(ctx context.Context, f Folder) (func(), error) {
	lk, ok := f.(Locker)
	if !ok {
		return func() {}, nil
	}
	if err := f.MkdirAll(ctx, LockDir); err != nil {
		return nil, err
	}
	if err := checkLockDir(ctx, f); err != nil {
		return nil, err
	}
	k, err := lk.Lock(ctx, path.Join(LockDir, "commit"), true, true)
	if err != nil {
		return nil, err
	}
	return func() { _ = k.Unlock() }, nil
}

// CheckPipeFolders refuses pipe's own folders inside the output folder
// (staging, units journal, shard manifests, locks) when one is a symbolic
// link or not a folder. Missing ones are fine.
func CheckPipeFolders(ctx context.Context, f Folder) error {
	for _, name := range []string{stages.StagingDir, stages.UnitsDir, stages.ShardsDir, LockDir} {
		e, err := f.Stat(ctx, name)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return err
		case !e.Type.IsDir():
			return fmt.Errorf("%s: %w", f.Path(name), ErrFolderEscape)
		}
	}
	return nil
}
