// Package foldertest checks that an implementation of [output.Folder]
// behaves as the output protocol relies on, the way testing/fstest checks
// an fs.FS: the local directory runs it, and so must any other store (a
// bucket) before the protocol is pointed at it.
package foldertest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/output"
)

// Run runs every behaviour of the contract as a subtest, each on a fresh,
// empty folder from open.
func Run(t *testing.T, open func(t *testing.T) output.Folder) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := open(t)
			c.check(t, t.Context(), f)
		})
	}
	t.Run("locks", func(t *testing.T) {
		f := open(t)
		lk, ok := f.(output.Locker)
		if !ok {
			t.Logf("%T has no locks (output.Locker): the lock behaviours do not apply", f)
			return
		}
		checkLocks(t, t.Context(), f, lk)
	})
}

type contractCase struct {
	name  string
	check func(t *testing.T, ctx context.Context, f output.Folder)
}

var cases = []contractCase{
	{"a write reads back whole", checkWriteRead},
	{"a write replaces the old content", checkReplace},
	{"a write creates its folders", checkParents},
	{"a write leaves no other entry", checkNoTemp},
	{"a listing is sorted and typed", checkList},
	{"a missing folder lists as empty or not found", checkListMissing},
	{"a missing file is not found", checkMissing},
	{"remove", checkRemove},
	{"remove all", checkRemoveAll},
	{"the marker is an empty file", checkMarker},
	{"paths name entries", checkPath},
	{"folders and sync", checkMkdirSync},
}

// write writes data to name or fails the test.
func write(t *testing.T, ctx context.Context, f output.Folder, name, data string) {
	t.Helper()
	if err := f.WriteFileAtomic(ctx, name, []byte(data)); err != nil {
		t.Fatalf("WriteFileAtomic(%q): %v", name, err)
	}
}

// names lists folder dir's entry names or fails the test.
func names(t *testing.T, ctx context.Context, f output.Folder, dir string) []string {
	t.Helper()
	ents, err := f.List(ctx, dir)
	if err != nil {
		t.Fatalf("List(%q): %v", dir, err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name)
	}
	return out
}

func checkWriteRead(t *testing.T, ctx context.Context, f output.Folder) {
	write(t, ctx, f, "_manifest.json", "{\"rows\": 3}\n")
	got, err := f.ReadFile(ctx, "_manifest.json")
	if err != nil || string(got) != "{\"rows\": 3}\n" {
		t.Fatalf("ReadFile = %q, %v; want what was written", got, err)
	}
	if size, err := f.Size(ctx, "_manifest.json"); err != nil || size != int64(len(got)) {
		t.Errorf("Size = %d, %v; want %d", size, err, len(got))
	}
	if e, err := f.Stat(ctx, "_manifest.json"); err != nil || !e.Regular() || e.Name != "_manifest.json" {
		t.Errorf("Stat = %+v, %v; want a plain file named _manifest.json", e, err)
	}
	r, err := f.Open(ctx, "_manifest.json")
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer r.Close()
	if all, err := io.ReadAll(r); err != nil || !bytes.Equal(all, got) {
		t.Errorf("Open reads %q, %v; want %q", all, err, got)
	}
}

func checkReplace(t *testing.T, ctx context.Context, f output.Folder) {
	write(t, ctx, f, "_manifest.json", strings.Repeat("old ", 100))
	write(t, ctx, f, "_manifest.json", "new")
	if got, err := f.ReadFile(ctx, "_manifest.json"); err != nil || string(got) != "new" {
		t.Errorf("after a shorter write: %q, %v; want exactly \"new\"", got, err)
	}
}

func checkParents(t *testing.T, ctx context.Context, f output.Folder) {
	write(t, ctx, f, "_pipe_shards/deep/shard-00000-of-00001.json", "{}")
	if got, err := f.ReadFile(ctx, "_pipe_shards/deep/shard-00000-of-00001.json"); err != nil || string(got) != "{}" {
		t.Errorf("ReadFile under new folders = %q, %v", got, err)
	}
	e, err := f.Stat(ctx, "_pipe_shards")
	if err == nil && !e.Type.IsDir() {
		t.Errorf("Stat(_pipe_shards) = %+v: present but not a folder", e)
	}
}

func checkNoTemp(t *testing.T, ctx context.Context, f output.Folder) {
	write(t, ctx, f, "_pipe_units/unit-00000.json", "{}")
	write(t, ctx, f, "_pipe_units/unit-00000.json", "{\"unit\": 0}")
	if got := names(t, ctx, f, "_pipe_units"); !slices.Equal(got, []string{"unit-00000.json"}) {
		t.Errorf("after two writes the folder holds %q, want only unit-00000.json", got)
	}
}

func checkList(t *testing.T, ctx context.Context, f output.Folder) {
	for _, n := range []string{"part-00001-00000.parquet", "_SUCCESS", "part-00000-00000.parquet", "_pipe_units/unit-00000.json"} {
		write(t, ctx, f, n, "x")
	}
	ents, err := f.List(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"_SUCCESS": true, "_pipe_units": false, "part-00000-00000.parquet": true, "part-00001-00000.parquet": true}
	var got []string
	for _, e := range ents {
		got = append(got, e.Name)
		if reg, ok := want[e.Name]; ok && e.Regular() != reg {
			t.Errorf("entry %+v: Regular() = %v, want %v", e, e.Regular(), reg)
		}
		if e.Name == "_pipe_units" && !e.Type.IsDir() {
			t.Errorf("entry %+v: want a folder", e)
		}
	}
	if !slices.Equal(got, []string{"_SUCCESS", "_pipe_units", "part-00000-00000.parquet", "part-00001-00000.parquet"}) {
		t.Errorf("List = %q, want every entry once, sorted", got)
	}
}

func checkListMissing(t *testing.T, ctx context.Context, f output.Folder) {
	ents, err := f.List(ctx, "_pipe_shards")
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("List of a missing folder: %v, want empty or fs.ErrNotExist", err)
	}
	if len(ents) != 0 {
		t.Errorf("List of a missing folder = %+v", ents)
	}
}

func checkMissing(t *testing.T, ctx context.Context, f output.Folder) {
	const name = "_manifest.json"
	_, err1 := f.ReadFile(ctx, name)
	_, err2 := f.Size(ctx, name)
	_, err3 := f.Stat(ctx, name)
	_, err4 := f.Open(ctx, name)
	for i, err := range []error{err1, err2, err3, err4} {
		if !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("call %d (ReadFile, Size, Stat, Open) on a missing file: %v, want fs.ErrNotExist", i, err)
		}
	}
}

func checkRemove(t *testing.T, ctx context.Context, f output.Folder) {
	write(t, ctx, f, "part-00000-00000.parquet", "x")
	write(t, ctx, f, "keep.txt", "x")
	if err := f.Remove(ctx, "part-00000-00000.parquet"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, ctx, f, ""); !slices.Equal(got, []string{"keep.txt"}) {
		t.Errorf("after Remove the folder holds %q, want keep.txt only", got)
	}
	if err := f.Remove(ctx, "part-00000-00000.parquet"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Remove of a missing file: %v, want fs.ErrNotExist", err)
	}
}

func checkRemoveAll(t *testing.T, ctx context.Context, f output.Folder) {
	write(t, ctx, f, "_pipe_staging/part-00000/a.inprogress", "x")
	write(t, ctx, f, "_pipe_staging/b", "x")
	write(t, ctx, f, "_pipe_stagingx", "x") // a sibling sharing the prefix stays
	if err := f.RemoveAll(ctx, "_pipe_staging"); err != nil {
		t.Fatal(err)
	}
	if got := names(t, ctx, f, ""); !slices.Equal(got, []string{"_pipe_stagingx"}) {
		t.Errorf("after RemoveAll the folder holds %q, want _pipe_stagingx only", got)
	}
	if err := f.RemoveAll(ctx, "_pipe_staging"); err != nil {
		t.Errorf("RemoveAll of a missing folder: %v, want nil", err)
	}
}

func checkMarker(t *testing.T, ctx context.Context, f output.Folder) {
	if err := f.WriteMarker(ctx, "_SUCCESS"); err != nil {
		t.Fatal(err)
	}
	if got, err := f.ReadFile(ctx, "_SUCCESS"); err != nil || len(got) != 0 {
		t.Errorf("marker holds %q, %v; want an empty file", got, err)
	}
	if e, err := f.Stat(ctx, "_SUCCESS"); err != nil || !e.Regular() {
		t.Errorf("Stat(_SUCCESS) = %+v, %v; want a plain file", e, err)
	}
}

func checkPath(t *testing.T, ctx context.Context, f output.Folder) {
	root, p := f.Path(""), f.Path("_pipe_units/unit-00001.json")
	if root == "" || p == root || !strings.HasPrefix(p, root) || !strings.Contains(p, "unit-00001.json") {
		t.Errorf("Path(\"\") = %q, Path(name) = %q: want the folder, and the name under it", root, p)
	}
}

func checkMkdirSync(t *testing.T, ctx context.Context, f output.Folder) {
	for range 2 {
		if err := f.MkdirAll(ctx, "_pipe_units"); err != nil {
			t.Fatalf("MkdirAll (twice is fine): %v", err)
		}
	}
	write(t, ctx, f, "_pipe_units/unit-00000.json", "{}")
	for _, dir := range []string{"", "_pipe_units"} {
		if err := f.Sync(ctx, dir); err != nil {
			t.Errorf("Sync(%q): %v", dir, err)
		}
	}
}
