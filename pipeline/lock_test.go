package pipeline

import (
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
	lock := func(sh Shard) (*folderLocks, error) { return lockFolders([]string{dir}, sh) }
	must := func(sh Shard) *folderLocks {
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
			l.release()
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
	one.release()

	a := must(Shard{0, 2})
	b := must(Shard{1, 2})
	refused(Shard{0, 2}, "shard 0/2 is already running")
	refused(Shard{0, 3}, "split into 2 shards")
	refused(Shard{0, 1}, "another run")
	a.release()
	b.release()
	must(Shard{0, 3}).release()
	must(Shard{0, 1}).release()
}

// TestLockDirSymlinkRefused: a lock folder that is a symbolic link is not
// followed.
func TestLockDirSymlinkRefused(t *testing.T) {
	dir := t.TempDir()
	if err := os.Symlink(t.TempDir(), filepath.Join(dir, LockDir)); err != nil {
		t.Fatal(err)
	}
	if l, err := lockFolders([]string{dir}, Shard{}); !errors.Is(err, ErrFolderEscape) {
		l.release()
		t.Fatalf("lock through a symlink: %v, want ErrFolderEscape", err)
	}
}

func TestPartGeneration(t *testing.T) {
	tests := []struct {
		name string
		gen  int
		ok   bool
	}{
		{"part-00000-00000.parquet", 1, true},
		{"part-00012-00003.parquet", 1, true},
		{"part-00012-g2-00003.parquet", 2, true},
		{"part-00012-g117-00003.parquet", 117, true},
		{"part-00012-g1-00003.parquet", 0, false},
		{"part-00012-g0-00003.parquet", 0, false},
		{"part-00012-gx-00003.parquet", 0, false},
		{"part-0001-00003.parquet", 0, false},
		{"part-00001-00003.parquet.inprogress", 0, false},
		{"part-mine.parquet", 0, false},
		{"notes.txt", 0, false},
	}
	for _, tc := range tests {
		gen, ok := partGeneration(tc.name)
		if gen != tc.gen || ok != tc.ok {
			t.Errorf("partGeneration(%q) = %d, %v; want %d, %v", tc.name, gen, ok, tc.gen, tc.ok)
		}
	}
	for unit, gen := range map[int]int{0: 0, 3: 1, 7: 2, 12: 40} {
		name := partPrefix(unit, gen) + "-00001.parquet"
		if g, ok := partGeneration(name); !ok || g != max(gen, 1) {
			t.Errorf("partPrefix(%d, %d) names %s, generation %d %v", unit, gen, name, g, ok)
		}
	}
}

// TestRemoveStale removes unlisted part files of the committed generation
// or older, and keeps listed files, later generations' files and files pipe
// did not write.
func TestRemoveStale(t *testing.T) {
	dir := t.TempDir()
	names := []string{"part-00000-g2-00000.parquet", "part-00001-00000.parquet", "part-00000-00000.parquet",
		"part-00000-g3-00000.parquet", "part-mine.parquet", "notes.txt"}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	m := &Manifest{Generation: 2, Files: []ManifestFile{{Name: "part-00000-g2-00000.parquet"}, {Name: "part-00001-00000.parquet"}}}
	if err := removeStale(dir, m); err != nil {
		t.Fatal(err)
	}
	var left []string
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		left = append(left, e.Name())
	}
	want := "notes.txt part-00000-g2-00000.parquet part-00000-g3-00000.parquet part-00001-00000.parquet part-mine.parquet"
	if got := strings.Join(left, " "); got != want {
		t.Errorf("left %s, want %s", got, want)
	}
}

func TestForeignEntries(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"_SUCCESS", "_manifest.json", ".metrics.json.tmp123", "metrics.json", "part-00000-00000.parquet", "a.csv", "part-x.parquet", ".hidden"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{"_pipe_units", "_pipe_lock", "bad", "sub"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	names, n, err := foreignEntries(dir, map[string]bool{filepath.Join(dir, "bad"): true})
	if err != nil || n != 4 || strings.Join(names, " ") != ".hidden a.csv part-x.parquet sub" {
		t.Errorf("foreignEntries = %v, %d, %v", names, n, err)
	}
	if names, n, err := foreignEntries(filepath.Join(dir, "missing"), nil); err != nil || n != 0 || names != nil {
		t.Errorf("a missing folder: %v, %d, %v", names, n, err)
	}
}
