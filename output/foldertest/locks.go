package foldertest

import (
	"context"
	"errors"
	"testing"

	"github.com/pipe-ml/pipe/output"
)

// checkLocks: an exclusive lock refuses every other taker, shared locks
// share, a released lock is free, a held lock shows as held, and its
// content reads back through the folder.
func checkLocks(t *testing.T, ctx context.Context, f output.Folder, lk output.Locker) {
	if err := f.MkdirAll(ctx, output.LockDir); err != nil {
		t.Fatal(err)
	}
	const name = output.LockDir + "/folder"
	take := func(exclusive bool) output.LockFile {
		t.Helper()
		k, err := lk.Lock(ctx, name, exclusive, false)
		if err != nil {
			t.Fatalf("Lock(exclusive=%v): %v", exclusive, err)
		}
		return k
	}
	refused := func(exclusive bool) {
		t.Helper()
		if k, err := lk.Lock(ctx, name, exclusive, false); !errors.Is(err, output.ErrLockHeld) {
			if k != nil {
				k.Unlock()
			}
			t.Fatalf("Lock(exclusive=%v) beside a conflicting holder: %v, want ErrLockHeld", exclusive, err)
		}
	}
	if lk.Held(ctx, name, true) {
		t.Fatal("Held before anyone took the lock")
	}
	ex := take(true)
	if err := ex.Replace([]byte("holder\n")); err != nil {
		t.Fatal(err)
	}
	if got, err := f.ReadFile(ctx, name); err != nil || string(got) != "holder\n" {
		t.Errorf("lock content = %q, %v; want what Replace wrote", got, err)
	}
	refused(true)
	refused(false)
	if !lk.Held(ctx, name, false) || !lk.Held(ctx, name, true) {
		t.Error("an exclusive lock does not show as held")
	}
	if err := ex.Unlock(); err != nil {
		t.Fatal(err)
	}
	a, b := take(false), take(false)
	refused(true)
	if lk.Held(ctx, name, false) || !lk.Held(ctx, name, true) {
		t.Error("shared locks: want held in any mode, not exclusively")
	}
	a.Unlock()
	b.Unlock()
	take(true).Unlock()
}
