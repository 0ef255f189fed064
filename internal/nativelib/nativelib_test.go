package nativelib

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

func TestCandidates(t *testing.T) {
	t.Setenv("PIPE_X_LIB", "/opt/x/libx.so")
	t.Setenv("XDG_CACHE_HOME", "/cache")
	got := Candidates("PIPE_X_LIB", "x", "1.2", []string{"libx.so.1.2"}, []string{"libx.so.1"})
	want := []Candidate{
		{Path: "/opt/x/libx.so", Label: "PIPE_X_LIB=/opt/x/libx.so", File: true},
		{Path: "/cache/pipe/x/1.2/libx.so.1.2", Label: "/cache/pipe/x/1.2/libx.so.1.2", File: true},
		{Path: "libx.so.1", Label: "libx.so.1 (system library path)"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("candidates %+v, want %+v", got, want)
	}
	t.Setenv("PIPE_X_LIB", "")
	if got := Candidates("PIPE_X_LIB", "x", "1.2", nil, nil); len(got) != 0 {
		t.Fatalf("without the variable and names: %+v", got)
	}
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "libx.so")
	if err := os.WriteFile(present, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	cands := []Candidate{
		{Path: filepath.Join(dir, "missing.so"), Label: "missing", File: true},
		{Path: present, Label: "present", File: true},
		{Path: "libx.so.1", Label: "system"},
	}
	var loaded []string
	path, tried := Find(cands, func(p string) error {
		loaded = append(loaded, p)
		return errors.New("cannot open")
	})
	want := []string{"missing: no such file", "present: cannot open", "system: cannot open"}
	if path != "" || !slices.Equal(tried, want) {
		t.Fatalf("Find = %q, %q; want none, %q", path, tried, want)
	}
	if !slices.Equal(loaded, []string{present, "libx.so.1"}) {
		t.Fatalf("load called for %q: a missing file must not reach it", loaded)
	}
	if path, _ := Find(cands, func(p string) error { return nil }); path != present {
		t.Fatalf("Find = %q, want the first that loads", path)
	}
}
