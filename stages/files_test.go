package stages_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/contentsum"
	"github.com/pipe-ml/pipe/stages"
)

// TestFilePins replaces a file after its first read: Pin keeps the first
// hash, ReadFile refuses the new content with an error naming the file, and
// a nil set of pins reads whatever is there.
func TestFilePins(t *testing.T) {
	path := filepath.Join(t.TempDir(), "w.bin")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("first")
	pins := stages.NewFilePins()
	if b, err := pins.ReadFile(path); err != nil || string(b) != "first" {
		t.Fatalf("first read %q, %v", b, err)
	}
	p1, err := pins.Pin(path)
	if err != nil || p1.Size != 5 || p1.Dir {
		t.Fatalf("pin %+v, %v", p1, err)
	}
	write("second")
	if p2, err := pins.Pin(path); err != nil || p2 != p1 {
		t.Fatalf("pin after the change %+v, %v; want the first %+v", p2, err, p1)
	}
	_, err = pins.ReadFile(path)
	if !errors.Is(err, contentsum.ErrChanged) || !strings.Contains(err.Error(), path) {
		t.Fatalf("read after the change = %v, want an error naming %s that wraps ErrChanged", err, path)
	}
	var none *stages.FilePins
	if b, err := none.ReadFile(path); err != nil || string(b) != "second" {
		t.Fatalf("nil pins read %q, %v", b, err)
	}
}
