package executor

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

// memFake is a fake backend that loads from memory and remembers the bytes
// of every load.
type memFake struct {
	*backendtest.Backend
	mu    sync.Mutex
	loads [][]byte
}

func (f *memFake) OpenMemory(ctx context.Context, path string, data []byte, opts bridge.Options) (bridge.Session, error) {
	f.mu.Lock()
	f.loads = append(f.loads, bytes.Clone(data))
	f.mu.Unlock()
	return f.Open(ctx, path, opts)
}

// TestModelReplacedWhileOpen replaces a model file after its first Open.
// A later Open of the path shares the session loaded from the first
// content. Once that session is gone, a backend that loads from memory
// must read the file again, and fails with a *HashMismatchError naming it;
// a backend that loads from a path loads the private copy of the first
// content again.
func TestModelReplacedWhileOpen(t *testing.T) {
	for _, fromMemory := range []bool{true, false} {
		t.Run(map[bool]string{true: "memory", false: "path"}[fromMemory], func(t *testing.T) {
			v := newEnv(t, Options{ModelMemory: -1}) // unreferenced sessions close at once
			fb := backendtest.New(backendtest.Config{Name: "fa"})
			var mf *memFake
			var b bridge.Backend = fb
			if fromMemory {
				mf = &memFake{Backend: fb}
				b = mf
			}
			bridge.Register(b)
			t.Cleanup(func() { bridge.Unregister("fa") })
			path := v.model("m.fake", "first model")
			spec := ModelSpec{Path: path, Backends: []string{"fa"}}

			m1 := v.open(spec)
			if err := v.run(context.Background(), m1, 2); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte("second model!"), 0o644); err != nil {
				t.Fatal(err)
			}
			m2 := v.open(spec) // shares m1's session: nothing is read
			if m2.sha != m1.sha || fb.Opens() != 1 {
				t.Fatalf("second Open: sha %s (first %s), %d backend opens; want the first content, 1 open", m2.sha, m1.sha, fb.Opens())
			}
			if fromMemory && (len(mf.loads) != 1 || string(mf.loads[0]) != "first model") {
				t.Fatalf("loads from memory %q, want one of the first content", mf.loads)
			}
			_ = m1.Close()
			_ = m2.Close() // the session closes (ModelMemory < 0)
			m3, err := v.e.Open(context.Background(), spec)
			if !fromMemory {
				if err != nil {
					t.Fatalf("reopen from the private copy: %v", err)
				}
				defer m3.Close()
				if fb.Opens() != 2 || m3.sha != m1.sha {
					t.Fatalf("reopen: %d backend opens, sha %s; want 2 and %s", fb.Opens(), m3.sha, m1.sha)
				}
				return
			}
			var hm *HashMismatchError
			if !errors.As(err, &hm) || bridge.ClassOf(err) != bridge.ClassModelCorrupt || !strings.Contains(err.Error(), path) {
				t.Fatalf("Open after the file changed = %v, want a model-corrupt *HashMismatchError naming %s", err, path)
			}
			if hm.Want != m1.sha {
				t.Fatalf("mismatch wants %s, the pinned content is %s", hm.Want, m1.sha)
			}
		})
	}
}

// TestPrivateCopy checks that a backend without OpenMemory loads a private
// copy of the model with the same base name and content, that the copy is
// made once per content, and that Close removes it.
func TestPrivateCopy(t *testing.T) {
	v := newEnv(t, Options{})
	v.fake("fa", backendtest.Config{})
	path := v.model("m.fake", "content")
	sum, _, err := hashModel(path)
	if err != nil {
		t.Fatal(err)
	}
	other := v.model("other.fake", "other")
	if _, err := v.e.privateCopy(other, sum); err == nil || !strings.Contains(err.Error(), other) {
		t.Fatalf("copy of content that differs from the pin = %v, want an error naming %s", err, other)
	}
	p1, err := v.e.privateCopy(path, sum)
	if err != nil {
		t.Fatal(err)
	}
	p2, err := v.e.privateCopy(path, sum)
	if err != nil || p2 != p1 {
		t.Fatalf("second copy %s, %v; want %s again", p2, err, p1)
	}
	if got, err := os.ReadFile(p1); err != nil || string(got) != "content" || !strings.HasSuffix(p1, "/m.fake") {
		t.Fatalf("copy %s holds %q (%v)", p1, got, err)
	}
	if err := v.e.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p1); !os.IsNotExist(err) {
		t.Fatalf("Close left the private copy %s (%v)", p1, err)
	}
}
