package main

import (
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/internal/faultproxy"
	"github.com/pipe-ml/pipe/internal/s3test"
)

// multipartJob is integrityJob with files larger than a part, so that each
// is a multipart upload of three 5 MiB parts (the last shorter).
var multipartJob = strings.Replace(strings.Replace(integrityJob, "dims: 8", "dims: 160", 1),
	"row_group_rows: 5000}", "row_group_rows: 5000, part_size: 5MiB}", 1)

// startS3Server is startS3Store with the server's handle, to kill and
// restart it.
func startS3Server(t *testing.T) (*s3Store, *s3test.Server) {
	srv := s3test.StartServer(t)
	t.Setenv("AWS_ENDPOINT_URL", srv.Endpoint)
	t.Setenv("PIPE_S3_PATH_STYLE", "1")
	return &s3Store{endpoint: srv.Endpoint, bucket: srv.Bucket}, srv
}

// TestS3StoreKilled: the store is killed (SIGKILL) while a run writes to
// it, the run stopped between two files at a failpoint so that the kill
// lands mid-run. Continued, the run fails within the SDK's retry bound,
// naming the output's URL; the store restarted, a rerun gives the clean
// run's files, byte for byte, committed.
func TestS3StoreKilled(t *testing.T) {
	s, srv := startS3Server(t)
	h := newHarnessFor(t, multipartJob)
	url := s.url()
	cmd, stderr := h.command(url, []string{failpoint.EnvVar + "=sink/afterRename=stop@3"})
	startStopped(t, cmd)
	srv.Stop()
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		took := time.Since(start)
		if err == nil {
			t.Fatalf("the run succeeded with its store killed:\n%s", stderr)
		}
		if !strings.Contains(stderr.String(), url) {
			t.Errorf("the run's error does not name %s:\n%s", url, stderr)
		}
		t.Logf("with the store killed the run failed after %v: %s", took.Round(time.Millisecond), stderrTail(stderr.String()))
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the run with its store killed had not ended after 3 minutes:\n%s", stderr)
	}
	if err := srv.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkS3Invariants(t, url, "store killed")
	if code, stderr := h.run(url, nil); code != 0 {
		t.Fatalf("rerun after the store restarted: exit %d\n%s", code, stderr)
	}
	checkS3Complete(t, h, url, "store killed, restarted, rerun")
	if n := s.pendingUploads(t); n != 0 {
		t.Errorf("%d multipart uploads left open after the rerun", n)
	}
}

// requestKinds counts the S3 calls a proxy saw, by name.
type requestKinds struct {
	mu sync.Mutex
	n  map[string]int
}

// note counts r and reports whether it is a write (a put, a part, or a
// multipart call): the only requests faults hit when writesOnly.
func (k *requestKinds) note(r *http.Request) string {
	q := r.URL.Query()
	op := r.Method
	switch {
	case r.Method == http.MethodPut && q.Has("partNumber"):
		op = "UploadPart"
	case r.Method == http.MethodPut:
		op = "PutObject"
	case r.Method == http.MethodPost && q.Has("uploads"):
		op = "CreateMultipartUpload"
	case r.Method == http.MethodPost && q.Has("uploadId"):
		op = "CompleteMultipartUpload"
	case r.Method == http.MethodPost && q.Has("delete"):
		op = "DeleteObjects"
	}
	k.mu.Lock()
	k.n[op]++
	k.mu.Unlock()
	return op
}

// TestS3OutputThroughFaults: a run writing multipart files to the store
// through a proxy that answers 503 SlowDown, resets connections, cuts
// answers off half-way and answers slowly, first on every request, then on
// the writes alone at higher rates, gives the clean run's files, byte for
// byte; a run that a fault fails after the SDK's retries is rerun until it
// completes.
func TestS3OutputThroughFaults(t *testing.T) {
	s := startS3Store(t)
	h := newHarnessFor(t, multipartJob)
	kinds := &requestKinds{n: map[string]int{}}
	writesOnly := false
	proxy := faultproxy.Start(t, s.endpoint, faultproxy.Faults{})
	env := []string{"AWS_ENDPOINT_URL=" + proxy.URL}
	for _, tc := range []struct {
		name   string
		writes bool
		f      faultproxy.Faults
	}{
		{"all requests", false, faultproxy.Faults{Seed: 3, Refuse: 0.05, Reset: 0.05, Truncate: 0.05, Slow: 0.05, Delay: 50 * time.Millisecond}},
		{"writes", true, faultproxy.Faults{Seed: 4, Refuse: 0.06, Reset: 0.06, Truncate: 0.06, Slow: 0.06, Delay: 50 * time.Millisecond}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			writesOnly = tc.writes
			f := tc.f
			f.Only = func(r *http.Request) bool {
				op := kinds.note(r)
				return !writesOnly || op != http.MethodGet && op != http.MethodHead && op != http.MethodDelete
			}
			proxy.SetFaults(f)
			url := s.url()
			for try := 1; ; try++ {
				code, stderr := h.run(url, env)
				if code == 0 {
					break
				}
				t.Logf("try %d: exit %d: %s", try, code, stderrTail(stderr))
				if try == 4 {
					t.Fatalf("%d runs through faults failed; the last:\n%s", try, stderr)
				}
			}
			proxy.SetFaults(faultproxy.Faults{})
			checkS3Complete(t, h, url, tc.name)
			if n := s.pendingUploads(t); n != 0 {
				t.Errorf("%d multipart uploads left open", n)
			}
		})
	}
	for k := range faultproxy.Slowed + 1 {
		if proxy.Count(k) == 0 {
			t.Errorf("no request was %s (of %d): the test did not exercise that fault", k, proxy.Requests())
		}
	}
	for _, op := range []string{"UploadPart", "PutObject", "CreateMultipartUpload", "CompleteMultipartUpload"} {
		if kinds.n[op] == 0 {
			t.Errorf("the proxy saw no %s: the test did not exercise it", op)
		}
	}
	t.Logf("%d requests %v: %d refused, %d reset, %d truncated, %d slowed", proxy.Requests(), kinds.n, proxy.Count(faultproxy.Refused),
		proxy.Count(faultproxy.ResetConn), proxy.Count(faultproxy.Truncated), proxy.Count(faultproxy.Slowed))
}
