package s3folder_test

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/output/s3folder"
)

// deadPID returns the id of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestLeaseTakeOver: a lock object whose holder is stale (lease expired,
// or a process of this host that is gone) is taken over; a live one on
// another host refuses the lock.
func TestLeaseTakeOver(t *testing.T) {
	s := startServer(t)
	me, _ := os.Hostname()
	future, past := time.Now().Add(time.Hour), time.Now().Add(-time.Minute)
	tests := []struct {
		name   string
		holder output.LockHolder
		takes  bool
	}{
		{"live lease on another host", output.LockHolder{Host: "elsewhere", PID: 42, Expires: future}, false},
		{"expired lease on another host", output.LockHolder{Host: "elsewhere", PID: 42, Expires: past}, true},
		{"gone process on this host", output.LockHolder{Host: me, PID: deadPID(t), Expires: future}, true},
		{"live process on this host", output.LockHolder{Host: me, PID: os.Getppid(), Expires: future}, false},
	}
	for _, tc := range tests {
		for _, exclusive := range []bool{true, false} {
			t.Run(tc.name+map[bool]string{true: " exclusive", false: " shared"}[exclusive], func(t *testing.T) {
				ctx := t.Context()
				f := s.open(t, s.url())
				name := output.LockDir + "/folder"
				data, _ := json.Marshal(tc.holder)
				if err := f.WriteFileAtomic(ctx, name, data); err != nil {
					t.Fatal(err)
				}
				k, err := f.Lock(ctx, name, exclusive, false)
				if !tc.takes {
					if !errors.Is(err, output.ErrLockHeld) {
						t.Fatalf("Lock = %v, want ErrLockHeld", err)
					}
					if !f.Held(ctx, name, false) {
						t.Error("a live holder's lock does not show as held")
					}
					return
				}
				if err != nil {
					t.Fatalf("Lock over a stale holder: %v", err)
				}
				defer k.Unlock()
				if f.Held(ctx, name, false) != exclusive {
					t.Errorf("after taking it over (exclusive=%v), Held = %v", exclusive, !exclusive)
				}
				if exclusive {
					var h output.LockHolder
					got, _ := f.ReadFile(ctx, name)
					if json.Unmarshal(got, &h) != nil || h.PID != os.Getpid() || !h.Expires.After(time.Now()) {
						t.Errorf("lock object after take-over = %s; want this process with a lease ahead", got)
					}
				}
			})
		}
	}
}

// TestLockFolders: the protocol's locks on a bucket folder: a second
// unsharded run is refused naming the holder and how to break a stale
// lock, shards of one run share the folder, and a run split otherwise is
// refused; released locks leave no lock object.
func TestLockFolders(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	f := s.open(t, s.url())
	one, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 0, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 0, Count: 1})
	var le *output.LockedError
	if !errors.As(err, &le) || len(le.Holders) != 1 || le.Holders[0].PID != os.Getpid() || le.Holders[0].Shard != "0/1" {
		t.Fatalf("second run: %v, want a LockedError naming this process as shard 0/1", err)
	}
	if msg := err.Error(); !strings.Contains(msg, f.Path("")+"/_pipe_lock/") || !strings.Contains(msg, "expires") {
		t.Errorf("message %q does not say how to break a stale lock", msg)
	}
	if _, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 1, Count: 2}); !errors.Is(err, output.ErrLocked) {
		t.Errorf("a shard beside an unsharded run: %v, want ErrLocked", err)
	}
	one.Release()
	a, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 0, Count: 2})
	if err != nil {
		t.Fatal(err)
	}
	b, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 1, Count: 2})
	if err != nil {
		t.Fatalf("second shard of the same run: %v", err)
	}
	if _, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 1, Count: 2}); !errors.Is(err, output.ErrLocked) {
		t.Errorf("the same shard twice: %v, want ErrLocked", err)
	}
	if _, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 0, Count: 3}); !errors.Is(err, output.ErrLocked) {
		t.Errorf("a run split into 3 beside one split into 2: %v, want ErrLocked", err)
	}
	if _, err := output.LockFolders(ctx, []output.Folder{f}, output.Shard{Index: 0, Count: 1}); !errors.Is(err, output.ErrLocked) {
		t.Errorf("an unsharded run beside shards: %v, want ErrLocked", err)
	}
	a.Release()
	b.Release()
	if ents, err := f.List(ctx, output.LockDir); err != nil || len(ents) != 0 {
		t.Errorf("after release %s holds %v (%v), want nothing", output.LockDir, ents, err)
	}
}

// TestLeaseRenewed: a holder renews its lease, keeping what Replace set,
// so that its lock outlives the time to live (TestLeaseTakeOver: an
// expired one is taken over).
func TestLeaseRenewed(t *testing.T) {
	defer s3folder.SetLeaseTiming(2*time.Second, 300*time.Millisecond)()
	s := startServer(t)
	ctx := t.Context()
	f := s.open(t, s.url())
	name := output.LockDir + "/folder"
	k, err := f.Lock(ctx, name, true, false)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Unlock()
	holder := output.LockHolder{Host: "elsewhere", PID: 42, Started: time.Now()}
	data, _ := json.Marshal(holder)
	if err := k.Replace(data); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	if k2, err := f.Lock(ctx, name, true, false); !errors.Is(err, output.ErrLockHeld) {
		if k2 != nil {
			k2.Unlock()
		}
		t.Fatalf("Lock after the time to live, beside a renewing holder: %v, want ErrLockHeld", err)
	}
	var h output.LockHolder
	got, _ := f.ReadFile(ctx, name)
	if json.Unmarshal(got, &h) != nil || h.Host != "elsewhere" || time.Until(h.Expires) < time.Second {
		t.Errorf("lock object %s: want the holder Replace set with a renewed expiry", got)
	}
}
