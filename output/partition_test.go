package output

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree creates the slash-separated files names under dir, empty.
func writeTree(t *testing.T, dir string, names ...string) {
	t.Helper()
	for _, n := range names {
		p := filepath.Join(dir, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// treeFiles lists the files under dir as slash-separated paths, sorted.
func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func TestPartitionFolder(t *testing.T) {
	tests := []struct {
		name string
		want bool
	}{
		{"dt=2026-12-07", true},
		{"region=a%2Fb", true},
		{"k=", true},
		{"=v", false},
		{"_pipe_staging", false},
		{"_x=y", false},
		{".x=y", false},
		{"plain", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := PartitionFolder(tt.name); got != tt.want {
				t.Errorf("PartitionFolder(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
}

// TestPartitionedFolders checks that the protocol finds part files in
// partition folders: RemoveStale and Unlisted look into them,
// ForeignEntries takes them for pipe's, and a unit record may list them.
func TestPartitionedFolders(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeTree(t, dir,
		"dt=1/r=a/part-00000-g2-00000.parquet", // listed
		"dt=1/r=a/part-00000-00000.parquet",    // stale, older generation
		"dt=2/part-00001-00003.parquet",        // stale
		"dt=2/part-00001-g3-00000.parquet",     // a later generation's
		"dt=2/notes.txt",                       // not pipe's
		"sub/part-00002-00000.parquet",         // not in a partition folder
	)
	f := Local(dir)
	m := &Manifest{Generation: 2, Files: []ManifestFile{{Name: "dt=1/r=a/part-00000-g2-00000.parquet"}}}
	un, err := Unlisted(ctx, f, m)
	want := []string{"dt=1/r=a/part-00000-00000.parquet", "dt=2/part-00001-00003.parquet", "dt=2/part-00001-g3-00000.parquet"}
	if err != nil || !slices.Equal(un, want) {
		t.Errorf("Unlisted = %v, %v; want %v", un, err, want)
	}
	if err := RemoveStale(ctx, f, m); err != nil {
		t.Fatal(err)
	}
	left := treeFiles(t, dir)
	want = []string{"dt=1/r=a/part-00000-g2-00000.parquet", "dt=2/notes.txt", "dt=2/part-00001-g3-00000.parquet", "sub/part-00002-00000.parquet"}
	if !slices.Equal(left, want) {
		t.Errorf("after RemoveStale: %v, want %v", left, want)
	}
	names, n, err := ForeignEntries(ctx, f, nil)
	if err != nil || n != 1 || strings.Join(names, " ") != "sub" {
		t.Errorf("ForeignEntries = %v, %d, %v; want only sub", names, n, err)
	}
	r := &UnitRecord{Version: ManifestVersion, Unit: 3, Files: []ManifestFile{{Name: "dt=1/part-00003-00000.parquet"}}}
	if err := WriteUnitRecord(ctx, f, r); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadUnitRecord(ctx, f, 3); err != nil {
		t.Errorf("a unit record listing a partition folder's file: %v", err)
	}
	r.Files = []ManifestFile{{Name: "dt=1/part-00004-00000.parquet"}}
	if err := WriteUnitRecord(ctx, f, r); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadUnitRecord(ctx, f, 3); err == nil {
		t.Error("a unit record listing another unit's file was accepted")
	}
}
