package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/output"
)

// TestOneWriterPerFolder races two runs of the job on one folder, the
// second started at seeded offsets: one writes, the other is refused at
// once with exit 2 naming the holder and touches nothing; the output is the
// clean run's, with no empty or truncated file under a final name.
func TestOneWriterPerFolder(t *testing.T) {
	h := newHarness(t)
	rng := rand.New(rand.NewPCG(5, 8))
	refused := 0
	for i := range 4 {
		when := fmt.Sprintf("trial %d", i)
		out := filepath.Join(t.TempDir(), "out")
		first, firstErr := h.command(out, nil)
		if err := first.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- first.Wait() }()
		time.Sleep(time.Duration(rng.Int64N(int64(h.clean)/2 + 1)))
		code, stderr := h.run(out, nil)
		firstDone := false
		select {
		case err := <-done:
			firstDone = true
			done <- err
		default:
		}
		firstCode := 0
		if err := <-done; err != nil {
			firstCode = first.ProcessState.ExitCode()
		}
		// Whichever run takes the lock first writes; the other is refused
		// with exit 2 naming it, or (started after the commit) has nothing
		// to do and exits 0 quietly (-q).
		switch {
		case code == exitUsage && firstCode == 0:
			refused++
			if !strings.Contains(stderr, "is in use") || !strings.Contains(stderr, fmt.Sprintf("pid %d", first.Process.Pid)) {
				t.Errorf("%s: the refusal does not name the holder:\n%s", when, stderr)
			}
			if firstDone {
				t.Errorf("%s: the second run was refused only after the first ended", when)
			}
		case firstCode == exitUsage && code == 0:
			refused++
			if !strings.Contains(firstErr.String(), "is in use") {
				t.Errorf("%s: the first run's refusal does not say why:\n%s", when, firstErr)
			}
		case code == 0 && firstCode == 0:
		default:
			t.Fatalf("%s: exits %d (first) and %d (second), want one run to write and the other to be refused or find nothing to do\nfirst:\n%s\nsecond:\n%s", when, firstCode, code, firstErr, stderr)
		}
		h.checkInvariants(out, when)
		if got := partHashes(t, out); !mapsEqual(got, h.golden) {
			t.Fatalf("%s: the output differs from the clean run's:\n%v\nwant\n%v", when, got, h.golden)
		}
	}
	t.Logf("%d of 4 second runs were refused; the others started after the first had committed", refused)

	// One run stopped mid-way (SIGSTOP at a failpoint) holds the folder
	// for certain: the second is refused, and the first then completes.
	out := filepath.Join(t.TempDir(), "out")
	first, firstErr := h.command(out, []string{failpoint.EnvVar + "=sink/afterRename=stop@2"})
	startStopped(t, first)
	code, stderr := h.run(out, nil)
	if code != exitUsage || !strings.Contains(stderr, fmt.Sprintf("pid %d", first.Process.Pid)) {
		t.Errorf("beside a stopped run: exit %d, want %d naming pid %d\n%s", code, exitUsage, first.Process.Pid, stderr)
	}
	if err := first.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the stopped run, continued: %v\n%s", err, firstErr)
	}
	if got := partHashes(t, out); !mapsEqual(got, h.golden) {
		t.Fatalf("the output differs from the clean run's:\n%v\nwant\n%v", got, h.golden)
	}
}

// startStopped starts cmd, which stops itself at a failpoint (action
// stop), and waits until it has.
func startStopped(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var ws syscall.WaitStatus
	if _, err := syscall.Wait4(cmd.Process.Pid, &ws, syscall.WUNTRACED, nil); err != nil {
		t.Fatalf("wait4: %v", err)
	}
	if !ws.Stopped() {
		_ = cmd.Wait()
		t.Fatalf("pipe ended before its failpoint (status %v)", ws)
	}
}

// TestShardLocks: shards of one run do not block each other, but the same
// shard twice, or shards of runs split differently, do.
func TestShardLocks(t *testing.T) {
	h := newHarness(t)
	out := filepath.Join(t.TempDir(), "out")
	first, firstErr := h.command(out, []string{failpoint.EnvVar + "=sink/afterRename=stop@1"}, "--shard", "0/2")
	startStopped(t, first)
	defer func() {
		_ = first.Process.Signal(syscall.SIGCONT)
		if err := first.Wait(); err != nil {
			t.Errorf("shard 0/2: %v\n%s", err, firstErr)
		}
	}()
	for _, tc := range []struct {
		shard string
		want  int
	}{
		{"0/2", exitUsage},
		{"0/3", exitUsage},
		{"1/2", 0},
	} {
		code, stderr := h.run(out, nil, "--shard", tc.shard)
		if code != tc.want || (tc.want == exitUsage && !strings.Contains(stderr, "is in use")) {
			t.Errorf("shard %s beside shard 0/2: exit %d, want %d\n%s", tc.shard, code, tc.want, stderr)
		}
	}
}

// TestForeignFiles: a folder holding files pipe did not write is refused
// (exit 2, untouched) unless --overwrite, which writes beside them and
// leaves them alone.
func TestForeignFiles(t *testing.T) {
	h := newHarness(t)
	out := filepath.Join(t.TempDir(), "out")
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "notes.txt"), []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	before := modTimes(t, out)
	code, stderr := h.run(out, nil)
	if code != exitUsage || !strings.Contains(stderr, "notes.txt") || !strings.Contains(stderr, "--overwrite") {
		t.Fatalf("exit %d, want %d naming notes.txt and --overwrite\n%s", code, exitUsage, stderr)
	}
	if after := modTimes(t, out); !mapsEqual(after, before) {
		t.Errorf("a refused run changed the folder:\n%v\nwant\n%v", after, before)
	}
	if code, stderr := h.run(out, nil, "--overwrite"); code != 0 {
		t.Fatalf("--overwrite: exit %d\n%s", code, stderr)
	}
	if b, err := os.ReadFile(filepath.Join(out, "notes.txt")); err != nil || string(b) != "mine" {
		t.Errorf("notes.txt after the run: %q, %v", b, err)
	}
	if _, err := output.VerifyOutput(t.Context(), output.Local(out)); err != nil {
		t.Error(err)
	}
}
