package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// s3Store is a running test S3 server whose settings the environment (and
// so every pipe child) carries, with a source of fresh output URLs.
type s3Store struct {
	endpoint, bucket string
	n                int
}

func startS3Store(t *testing.T) *s3Store {
	endpoint, bucket := s3test.Start(t)
	t.Setenv("AWS_ENDPOINT_URL", endpoint)
	t.Setenv("PIPE_S3_PATH_STYLE", "1")
	return &s3Store{endpoint: endpoint, bucket: bucket}
}

// url returns a fresh output folder's URL.
func (s *s3Store) url() string {
	s.n++
	return fmt.Sprintf("s3://%s/out-%02d", s.bucket, s.n)
}

// folder opens url through the output protocol's seam.
func s3Folder(t *testing.T, url string) output.Folder {
	t.Helper()
	f, err := output.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// objectHashes is partHashes for a bucket folder: the SHA-256 of every
// part object, in partition folders too, by name less its generation.
func objectHashes(t *testing.T, f output.Folder) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, name := range objectParts(t, f, "") {
		r, err := f.Open(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		key := genTag.ReplaceAllString(name, "-")
		if _, dup := out[key]; dup {
			t.Fatalf("%s: two generations of %s", f.Path(""), key)
		}
		out[key] = hex.EncodeToString(h.Sum(nil))
	}
	return out
}

// objectParts returns the part objects under folder dir of f, not in
// pipe's own folders.
func objectParts(t *testing.T, f output.Folder, dir string) []string {
	t.Helper()
	ents, err := f.List(t.Context(), dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		name := path.Join(dir, e.Name)
		switch {
		case e.Type.IsDir() && !strings.HasPrefix(e.Name, "_"):
			out = append(out, objectParts(t, f, name)...)
		case !e.Type.IsDir() && strings.HasPrefix(e.Name, "part-") && strings.HasSuffix(e.Name, ".parquet"):
			out = append(out, name)
		}
	}
	return out
}

// checkS3Complete asserts that the bucket folder is committed and holds the
// clean local run's files, byte for byte, with no staging left.
func checkS3Complete(t *testing.T, h *harness, url, when string) {
	t.Helper()
	f := s3Folder(t, url)
	m, err := output.VerifyOutput(t.Context(), f)
	if err != nil {
		t.Fatalf("%s: %v", when, err)
	}
	if m.Rows != integrityRows {
		t.Errorf("%s: manifest has %d rows, want %d", when, m.Rows, integrityRows)
	}
	if got := objectHashes(t, f); !mapsEqual(got, h.golden) {
		t.Fatalf("%s: the bucket's part objects differ from the local clean run's:\n%v\nwant\n%v", when, got, h.golden)
	}
	if ents, _ := f.List(t.Context(), stages.StagingDir); len(ents) != 0 {
		t.Errorf("%s: staging objects left: %v", when, ents)
	}
}

// TestS3OutputSameAsLocal: the job written to a bucket gives the same
// files, byte for byte, as written to a local folder (in Hive partition
// folders too), committed (manifest, _SUCCESS, verified), and a second run
// finds nothing to do.
func TestS3OutputSameAsLocal(t *testing.T) {
	s := startS3Store(t)
	for _, tc := range []struct{ name, job string }{{"one folder", integrityJob}, {"partition_by", partitionedJob}} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarnessFor(t, tc.job)
			url := s.url()
			if code, stderr := h.run(url, nil); code != 0 {
				t.Fatalf("run to %s: exit %d\n%s", url, code, stderr)
			}
			checkS3Complete(t, h, url, "clean run")
			if code, stderr := h.run(url, nil); code != 0 {
				t.Fatalf("second run: exit %d\n%s", code, stderr)
			}
			checkS3Complete(t, h, url, "second run")
		})
	}
}

// checkS3Invariants is checkInvariants for a bucket folder: every part
// object under a final name reads fully, and _SUCCESS is there only over
// complete, verified output.
func checkS3Invariants(t *testing.T, url, when string) {
	t.Helper()
	f := s3Folder(t, url)
	tmp := t.TempDir()
	for i, name := range objectParts(t, f, "") {
		data, err := f.ReadFile(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(tmp, fmt.Sprintf("%d.parquet", i))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := readFully(p); err != nil {
			t.Errorf("%s: partial object under a final name %s: %v", when, f.Path(name), err)
		}
	}
	if output.Complete(t.Context(), f) {
		m, err := output.VerifyOutput(t.Context(), f)
		if err != nil {
			t.Errorf("%s: _SUCCESS present but the output is not complete: %v", when, err)
		} else if m.Rows != integrityRows {
			t.Errorf("%s: _SUCCESS present with %d rows, want %d", when, m.Rows, integrityRows)
		}
	}
}

// pendingUploads returns the multipart uploads the server holds open.
func (s *s3Store) pendingUploads(t *testing.T) int {
	t.Helper()
	out, err := s3test.Client(s.endpoint).ListMultipartUploads(t.Context(), &s3.ListMultipartUploadsInput{Bucket: aws.String(s.bucket)})
	if err != nil {
		t.Fatal(err)
	}
	return len(out.Uploads)
}

// TestS3OutputResume: a run that crashes (SIGKILL) or fails at each step
// of the commit protocol leaves no partial object under a final name and
// no _SUCCESS over incomplete output; the rerun resumes and gives the
// clean run's files. A run that fails (not killed) leaves no multipart
// upload open. Then runs killed at random moments (PIPE_CHAOS_SEED).
func TestS3OutputResume(t *testing.T) {
	s := startS3Store(t)
	h := newHarness(t)
	for _, fp := range []string{"sink/afterRename=kill@3", "sink/beforeRename=kill@4", "commit/afterUnitRecord=kill@2",
		"commit/beforeManifest=kill", "commit/afterManifest=kill", "commit/beforeSuccess=kill", "sink/beforeRename=error@3"} {
		url := s.url()
		code, stderr := h.run(url, []string{failpoint.EnvVar + "=" + fp})
		if code == 0 {
			t.Fatalf("%s: the run succeeded\n%s", fp, stderr)
		}
		checkS3Invariants(t, url, fp)
		if strings.Contains(fp, "error") && s.pendingUploads(t) != 0 {
			t.Errorf("%s: a failed run left %d multipart uploads open", fp, s.pendingUploads(t))
		}
		if code, stderr := h.run(url, nil); code != 0 {
			t.Fatalf("%s: rerun: exit %d\n%s", fp, code, stderr)
		}
		checkS3Complete(t, h, url, fp+", rerun")
		if n := s.pendingUploads(t); n != 0 {
			t.Errorf("%s: %d multipart uploads left open after the rerun", fp, n)
		}
	}
	seed := uint64(12)
	if v, err := strconv.ParseUint(os.Getenv("PIPE_CHAOS_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 18))
	url := s.url()
	for i := range 4 {
		when := fmt.Sprintf("seed %d kill %d", seed, i)
		h.runKilled(url, time.Duration(rng.Int64N(int64(h.clean)+1)))
		checkS3Invariants(t, url, when)
		if code, stderr := h.run(url, nil); code != 0 {
			t.Fatalf("%s: rerun: exit %d\n%s", when, code, stderr)
		}
		checkS3Complete(t, h, url, when)
		// The rerun aborted the uploads the killed run left open.
		if n := s.pendingUploads(t); n != 0 {
			t.Errorf("%s: %d multipart uploads left open after the rerun", when, n)
		}
	}
}

// TestS3OutputShards: 4 shards as 4 processes at once against one bucket
// folder write, together, the single run's objects, object for object, and
// the last one commits. Then shards whose committer crashes are finished by
// `pipe commit s3://...`, which also removes a stray part object.
func TestS3OutputShards(t *testing.T) {
	s := startS3Store(t)
	h := newHarness(t)
	url := s.url()
	cmds := make([]*exec.Cmd, 4)
	errs := make([]*bytes.Buffer, 4)
	for i := range cmds {
		cmds[i], errs[i] = h.command(url, nil, "--shard", fmt.Sprintf("%d/4", i))
		if err := cmds[i].Start(); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("shard %d/4: %v\n%s", i, err, errs[i])
		}
	}
	checkS3Complete(t, h, url, "4 shards")

	url = s.url()
	for i := range 4 {
		var env []string
		if i == 3 {
			env = []string{failpoint.EnvVar + "=commit/beforeManifest=kill"}
		}
		code, stderr := h.run(url, env, "--shard", fmt.Sprintf("%d/4", i))
		if want := map[bool]int{true: -1, false: 0}[i == 3]; code != want {
			t.Fatalf("shard %d/4: exit %d, want %d\n%s", i, code, want, stderr)
		}
	}
	f := s3Folder(t, url)
	if output.Complete(t.Context(), f) {
		t.Fatal("committed although the committing shard was killed")
	}
	if err := f.WriteFileAtomic(t.Context(), "part-00099-00000.parquet", []byte("stray")); err != nil {
		t.Fatal(err)
	}
	c := runChild(t, childOptions{}, "commit", url)
	if c.Code != 0 || !strings.Contains(c.Stdout, url+": committed") {
		t.Fatalf("pipe commit %s: exit %d\n%s%s", url, c.Code, c.Stdout, c.Stderr)
	}
	checkS3Complete(t, h, url, "pipe commit")
	if _, err := f.Stat(t.Context(), "part-00099-00000.parquet"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the stray part object survived the commit: %v", err)
	}
}

// TestS3OutputLocked: a run beside one that holds the bucket folder (stopped
// at a failpoint) is refused at once, naming the holder and how to break a
// stale lock; the first then completes, and its lock object is gone.
func TestS3OutputLocked(t *testing.T) {
	s := startS3Store(t)
	h := newHarness(t)
	url := s.url()
	first, firstErr := h.command(url, []string{failpoint.EnvVar + "=sink/afterRename=stop@2"})
	startStopped(t, first)
	code, stderr := h.run(url, nil)
	if code != exitUsage || !strings.Contains(stderr, fmt.Sprintf("pid %d", first.Process.Pid)) || !strings.Contains(stderr, url+"/_pipe_lock/") {
		t.Errorf("beside a stopped run: exit %d, want %d naming pid %d and the lock objects\n%s", code, exitUsage, first.Process.Pid, stderr)
	}
	if err := first.Process.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	if err := first.Wait(); err != nil {
		t.Fatalf("the stopped run, continued: %v\n%s", err, firstErr)
	}
	checkS3Complete(t, h, url, "after the lock")
	if ents, err := s3Folder(t, url).List(t.Context(), output.LockDir); err != nil || len(ents) != 0 {
		t.Errorf("lock objects left after the run: %v (%v)", ents, err)
	}
}

// TestS3OutputPermanentErrors: a missing bucket and refused credentials
// fail the run before any data moves, naming the URL and the reason.
func TestS3OutputPermanentErrors(t *testing.T) {
	s := startS3Store(t)
	h := newHarness(t)
	for _, tc := range []struct {
		name, url string
		env       []string
		reason    string
	}{
		{"missing bucket", "s3://no-such-bucket/out", nil, "NoSuchBucket"},
		{"wrong secret", s.url(), []string{"AWS_SECRET_ACCESS_KEY=wrong"}, "403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			code, stderr := h.run(tc.url, tc.env)
			if code == 0 || !strings.Contains(stderr, tc.url) || !strings.Contains(stderr, tc.reason) {
				t.Errorf("exit %d, want a failure naming %s and %s:\n%s", code, tc.url, tc.reason, stderr)
			}
			t.Logf("failed after %v: %s", time.Since(start).Round(time.Millisecond), stderrTail(stderr))
		})
	}
}

// TestS3OutputMultipartKilled: with files larger than a part (each a
// multipart upload of two 5 MiB parts), a run killed with an upload open
// (before completing its third file) leaves it open but no object under
// its name; the rerun aborts it and gives the clean run's files. Then runs
// killed at random moments of an S3 run leave no object under a final name
// that is not complete and no _SUCCESS, and their reruns leave no upload
// open.
func TestS3OutputMultipartKilled(t *testing.T) {
	s := startS3Store(t)
	job := strings.Replace(strings.Replace(integrityJob, "dims: 8", "dims: 160", 1),
		"row_group_rows: 5000}", "row_group_rows: 5000, part_size: 5MiB}", 1)
	h := newHarnessFor(t, job)
	url := s.url()
	if code, stderr := h.run(url, []string{failpoint.EnvVar + "=sink/beforeRename=kill@3"}); code != -1 {
		t.Fatalf("run with a kill before the third file completes: exit %d\n%s", code, stderr)
	}
	checkS3Invariants(t, url, "killed with an upload open")
	if n := s.pendingUploads(t); n == 0 {
		t.Fatal("the killed run left no multipart upload open: the files are not multipart uploads")
	}
	if code, stderr := h.run(url, nil); code != 0 {
		t.Fatalf("rerun: exit %d\n%s", code, stderr)
	}
	checkS3Complete(t, h, url, "rerun")
	if n := s.pendingUploads(t); n != 0 {
		t.Errorf("%d multipart uploads left open after the rerun", n)
	}
	// Kill times come from clean runs on the store, not on local disk: the
	// shorter of two, since a run under load from other tests may take
	// longer than the ones killed.
	clean := time.Duration(1<<63 - 1)
	for range 2 {
		start := time.Now()
		if code, stderr := h.run(s.url(), nil); code != 0 {
			t.Fatalf("clean run: exit %d\n%s", code, stderr)
		}
		clean = min(clean, time.Since(start))
	}
	seed := uint64(12)
	if v, err := strconv.ParseUint(os.Getenv("PIPE_CHAOS_SEED"), 10, 64); err == nil {
		seed = v
	}
	rng := rand.New(rand.NewPCG(seed, 5))
	killed, leftOpen := 0, 0
	for i := range 3 {
		when := fmt.Sprintf("seed %d kill %d", seed, i)
		url := s.url()
		if h.runKilled(url, clean/20+time.Duration(rng.Int64N(int64(clean)*6/10))) {
			killed++
		}
		checkS3Invariants(t, url, when)
		leftOpen += s.pendingUploads(t)
		if code, stderr := h.run(url, nil); code != 0 {
			t.Fatalf("%s: rerun: exit %d\n%s", when, code, stderr)
		}
		checkS3Complete(t, h, url, when)
		if n := s.pendingUploads(t); n != 0 {
			t.Errorf("%s: %d multipart uploads left open after the rerun", when, n)
		}
	}
	if killed < 2 {
		t.Errorf("only %d of 3 runs were killed before they finished (clean run on the store %v)", killed, clean)
	}
	t.Logf("%d of 3 runs killed; they left %d multipart uploads open; clean run on the store %v, on local disk %v", killed, leftOpen, clean, h.clean)
}
