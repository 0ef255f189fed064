package output

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestFolderLocks: one unsharded writer; shards of one run side by side;
// the same shard twice, another shard count, or an unsharded run beside
// shards refused with the holder named; a released lock taken again.
func TestFolderLocks(t *testing.T) {
	dir := t.TempDir()
	lock := func(sh Shard) (*Locks, error) { return LockFolders(context.Background(), []Folder{Local(dir)}, sh) }
	must := func(sh Shard) *Locks {
		t.Helper()
		l, err := lock(sh)
		if err != nil {
			t.Fatalf("lock %s: %v", sh, err)
		}
		return l
	}
	refused := func(sh Shard, why string) {
		t.Helper()
		l, err := lock(sh)
		var le *LockedError
		if !errors.As(err, &le) || !errors.Is(err, ErrLocked) {
			l.Release()
			t.Fatalf("lock %s: %v, want a LockedError", sh, err)
		}
		if !strings.Contains(le.Why, why) || len(le.Holders) == 0 || le.Holders[0].PID != os.Getpid() {
			t.Errorf("lock %s: %+v, want why %q and this process as the holder", sh, le, why)
		}
	}

	// A commit lock file left by an earlier commit, held by nobody.
	if err := os.MkdirAll(filepath.Join(dir, LockDir), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, LockDir, "commit"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	one := must(Shard{0, 1})
	refused(Shard{0, 1}, "another run")
	refused(Shard{1, 2}, "unsharded")
	one.Release()

	a := must(Shard{0, 2})
	b := must(Shard{1, 2})
	refused(Shard{0, 2}, "shard 0/2 is already running")
	refused(Shard{0, 3}, "split into 2 shards")
	refused(Shard{0, 1}, "another run")
	a.Release()
	b.Release()
	must(Shard{0, 3}).Release()
	must(Shard{0, 1}).Release()
}

// TestLockDirSymlinkRefused: a lock folder that is a symbolic link is not
// followed.
func TestLockDirSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, LockDir)); err != nil {
		t.Fatal(err)
	}
	if l, err := LockFolders(context.Background(), []Folder{Local(dir)}, Shard{}); !errors.Is(err, ErrFolderEscape) {
		l.Release()
		t.Fatalf("lock through a symlink: %v, want ErrFolderEscape", err)
	}
}
