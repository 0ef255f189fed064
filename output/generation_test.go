package output

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

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
		name := PartPrefix(unit, gen) + "-00001.parquet"
		if g, ok := partGeneration(name); !ok || g != max(gen, 1) {
			t.Errorf("PartPrefix(%d, %d) names %s, generation %d %v", unit, gen, name, g, ok)
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
	if err := RemoveStale(context.Background(), Local(dir), m); err != nil {
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
	names, n, err := ForeignEntries(context.Background(), Local(dir), map[string]bool{filepath.Join(dir, "bad"): true})
	if err != nil || n != 4 || strings.Join(names, " ") != ".hidden a.csv part-x.parquet sub" {
		t.Errorf("ForeignEntries = %v, %d, %v", names, n, err)
	}
	if names, n, err := ForeignEntries(context.Background(), Local(filepath.Join(dir, "missing")), nil); err != nil || n != 0 || names != nil {
		t.Errorf("a missing folder: %v, %d, %v", names, n, err)
	}
}
