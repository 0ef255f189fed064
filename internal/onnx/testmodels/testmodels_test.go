package testmodels

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestCommittedFilesMatch rebuilds every model (without the reference run,
// which TestFiles covers) and compares it byte for byte with
// testdata/models.
func TestCommittedFilesMatch(t *testing.T) {
	files, err := build(false)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(specs)+1 {
		t.Fatalf("got %d files, want %d", len(files), len(specs)+1)
	}
	for _, f := range files {
		t.Run(f.Name, func(t *testing.T) {
			path := filepath.Join("..", "..", "..", "testdata", "models", f.Name)
			committed, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(committed, f.Data) {
				t.Fatalf("%s differs from the generated model (%d vs %d bytes); run go run ./testdata/gen/models", path, len(committed), len(f.Data))
			}
		})
	}
}

// TestFiles runs the full build, reference check included, and writes the
// result.
func TestFiles(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "sub")
	if err := writeFiles(dir, files); err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(b, f.Data) {
			t.Fatalf("%s: written bytes differ", f.Name)
		}
	}
}
