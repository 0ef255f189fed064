package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// endless is a job that would run for a very long time.
const endless = `version: 1
stages:
  - id: gen
    type: generate
    with: {count: 1000000000, batch_rows: 4096, columns: [{name: id, type: int64}, {name: s, type: string}]}
  - id: write
    type: parquet_sink
    inputs: [gen]
    with: {path: out}
`

// startPipe runs this test binary as `pipe run job` and waits until the
// run has started writing.
func startPipe(t *testing.T) (*exec.Cmd, *bytes.Buffer, string) {
	t.Helper()
	job := writeJob(t, endless)
	cmd := exec.Command(os.Args[0], "run", job)
	cmd.Env = append(os.Environ(), "PIPE_TEST_AS_PIPE=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(filepath.Dir(job), "out")
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(out, "_pipe_staging")); err == nil {
			return cmd, &stderr, out
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("the run never started writing: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func exitCode(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal("pipe did not exit after the signal")
	}
	return cmd.ProcessState.ExitCode()
}

// TestSignalDrains sends one SIGINT: the sources stop, what is in flight
// drains, nothing is committed, and pipe exits 1 saying so.
func TestSignalDrains(t *testing.T) {
	cmd, stderr, out := startPipe(t)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if code := exitCode(t, cmd); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "run interrupted: the unit in progress was not committed") || !strings.Contains(stderr.String(), "draining") {
		t.Fatalf("stderr: %s", stderr)
	}
	parts, _ := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	if len(parts) > 0 {
		t.Fatalf("an interrupted run committed %v", parts)
	}
	if _, err := os.Stat(filepath.Join(out, "_pipe_staging")); !os.IsNotExist(err) {
		t.Fatalf("staging folder left behind: %v", err)
	}
}

// TestSecondSignalAborts sends SIGTERM twice: the second cancels at once.
func TestSecondSignalAborts(t *testing.T) {
	cmd, stderr, _ := startPipe(t)
	cmd.Process.Signal(syscall.SIGTERM)
	time.Sleep(5 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGTERM)
	if code := exitCode(t, cmd); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr)
	}
	if !strings.Contains(stderr.String(), "interrupted") && !strings.Contains(stderr.String(), "cancel") {
		t.Fatalf("stderr: %s", stderr)
	}
}
