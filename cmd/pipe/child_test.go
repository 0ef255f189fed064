package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// builtPipe is the pipe binary the tests that run pipe as a child process
// share: built once per test binary, with the failpoints tag and without the
// race detector, so that its memory figures are the ones a user sees.
var builtPipe struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// buildPipe returns the path of the shared pipe binary, building it on first
// use.
func buildPipe(t *testing.T) string {
	t.Helper()
	b := &builtPipe
	b.once.Do(func() {
		gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(gobin); err != nil {
			if gobin, b.err = exec.LookPath("go"); b.err != nil {
				return
			}
		}
		if b.dir, b.err = os.MkdirTemp("", "pipe-bin-"); b.err != nil {
			return
		}
		b.path = filepath.Join(b.dir, "pipe")
		cmd := exec.Command(gobin, "build", "-tags", "failpoints", "-o", b.path, "github.com/pipe-ml/pipe/cmd/pipe")
		b.out, b.err = cmd.CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build -tags failpoints: %v\n%s", b.err, b.out)
	}
	return b.path
}

// removeBuiltPipe removes the shared binary's folder; TestMain calls it.
func removeBuiltPipe() {
	if builtPipe.dir != "" {
		_ = os.RemoveAll(builtPipe.dir)
	}
}

// child is how a pipe child process ended.
type child struct {
	// Code is the exit status; -1 when a signal ended the process.
	Code           int
	Stdout, Stderr string
	// MaxRSS is the child's peak resident set in bytes (ru_maxrss).
	MaxRSS int64
	// TimedOut is set when the child ran past its limit and was killed.
	TimedOut bool
}

// childOptions configure [runChild].
type childOptions struct {
	Dir     string        // working folder; the test's temporary folder when empty
	Env     []string      // added to the environment
	Timeout time.Duration // killed after this; 2 minutes when zero
}

// runChild runs the shared pipe binary with args and reports how it ended,
// with its peak memory. It fails the test only when the process cannot be
// started.
func runChild(t *testing.T, o childOptions, args ...string) child {
	t.Helper()
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.Dir == "" {
		o.Dir = t.TempDir()
	}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, buildPipe(t), args...)
	cmd.Dir = o.Dir
	cmd.Env = append(os.Environ(), o.Env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Start()
	peak := func() int64 { return 0 }
	if err == nil {
		peak = watchRSS(cmd.Process.Pid)
		err = cmd.Wait()
	}
	hwm := peak()
	c := child{Stdout: stdout.String(), Stderr: stderr.String(), TimedOut: ctx.Err() != nil}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		c.Code = ee.ExitCode()
	default:
		t.Fatalf("run pipe %v: %v", args, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		c.MaxRSS = maxRSSBytes(ru)
	}
	if hwm > 0 {
		c.MaxRSS = hwm // see watchRSS
	}
	return c
}

// hostileCeiling is the peak resident memory a pipe child may reach on a
// hostile input with default settings.
const hostileCeiling = 1 << 30

// checkNoCrash fails the test unless a child ended by itself, without a
// panic or runtime crash on stderr (nor any of bad), and peaked under
// hostileCeiling; it logs the exit status and the peak.
func checkNoCrash(t *testing.T, c child, bad ...string) {
	t.Helper()
	if c.TimedOut {
		t.Fatalf("timed out; stderr:\n%s", stderrTail(c.Stderr))
	}
	for _, b := range append([]string{"panic", "fatal error", "goroutine "}, bad...) {
		if strings.Contains(c.Stderr, b) {
			t.Errorf("stderr holds %q:\n%s", b, stderrTail(c.Stderr))
		}
	}
	if c.MaxRSS <= 0 || c.MaxRSS > hostileCeiling {
		t.Errorf("peak RSS %d MiB, want under %d MiB", c.MaxRSS>>20, hostileCeiling>>20)
	}
	t.Logf("exit %d, peak RSS %d MiB", c.Code, c.MaxRSS>>20)
}

// stderrTail is the end of a child's stderr, for messages.
func stderrTail(s string) string {
	if len(s) > 4000 {
		return "..." + s[len(s)-4000:]
	}
	return s
}
