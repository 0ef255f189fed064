package s3test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"golang.org/x/sys/unix"
)

// Version is the versitygw release the tests run.
const Version = "v1.8.0"

// Test-only credentials of the server's root user, and its region. Start
// puts them in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// AWS_REGION) for the SDK's standard credential chain.
const (
	AccessKey = "pipe-test-access"
	SecretKey = "pipe-test-secret-not-a-real-key"
	Region    = "us-east-1"
	// Bucket is the bucket Start creates.
	Bucket = "pipe-test"
)

// Start starts versitygw over a fresh temporary folder, creates [Bucket] in
// it and returns the server's endpoint URL (http://127.0.0.1:PORT) and the
// bucket. The server is killed and waited for when the test ends. Start
// sets environment variables (t.Setenv), so the test may not be parallel.
func Start(t *testing.T) (endpoint, bucket string) {
	t.Helper()
	s := StartServer(t)
	return s.Endpoint, s.Bucket
}

// Server is a running versitygw that a test can kill ([Server.Stop]) and
// start again on the same port over the same folder ([Server.Restart]), as
// a store that crashes and comes back.
type Server struct {
	// Endpoint is the server's URL, http://127.0.0.1:PORT; Bucket the
	// bucket StartServer created.
	Endpoint, Bucket string

	bin     string
	args    []string
	logPath string

	mu   sync.Mutex
	proc *process // nil while stopped
}

// process is one run of the server: its command and the result of its
// Wait, which a goroutine of the process delivers.
type process struct {
	cmd    *exec.Cmd
	exited chan error
}

// kill kills the process and waits for it.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.exited
}

// StartServer is [Start], returning the server's handle. The server is
// killed and waited for when the test ends, whether running or stopped.
func StartServer(t *testing.T) *Server {
	t.Helper()
	if os.Getenv("PIPE_TEST_NO_S3") == "1" {
		t.Skip("PIPE_TEST_NO_S3=1: not starting the S3 server (versitygw), so this S3 test does not run")
	}
	bin, err := Binary(t.Context())
	if err != nil {
		t.Fatalf("s3test: cannot build versitygw %s (set PIPE_TEST_NO_S3=1 to skip S3 tests): %v", Version, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", SecretKey)
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_REGION", Region)
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "no-aws-credentials"))
	s := &Server{Bucket: Bucket, bin: bin, logPath: filepath.Join(t.TempDir(), "versitygw.log")}
	t.Cleanup(s.Stop)
	// A port found free may be taken before the server binds it: try again.
	for try := 1; ; try++ {
		err = s.startOnFreePort(t)
		if err == nil || try == 3 {
			break
		}
		t.Logf("s3test: try %d: %v", try, err)
	}
	if err != nil {
		t.Fatalf("s3test: cannot start versitygw (set PIPE_TEST_NO_S3=1 to skip S3 tests): %v", err)
	}
	if err := createBucket(t.Context(), s.Endpoint, Bucket); err != nil {
		t.Fatalf("s3test: create bucket %s at %s: %v", Bucket, s.Endpoint, err)
	}
	return s
}

// startOnFreePort picks a free loopback port and a new folder, and starts
// the server over them.
func (s *Server) startOnFreePort(t *testing.T) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	began := time.Now()
	root, meta, metaMode := t.TempDir(), t.TempDir(), "xattrs"
	s.args = []string{"--access", AccessKey, "--secret", SecretKey, "--region", Region,
		"--port", "127.0.0.1:" + strconv.Itoa(port), "--keep-alive", "--quiet", "posix"}
	if os.Getenv("PIPE_TEST_S3_SIDECAR") == "1" || !xattrsWork(root) {
		// The metadata folder must lie outside the gateway's root.
		s.args = append(s.args, "--sidecar", meta)
		metaMode = "sidecar folder"
	}
	s.args = append(s.args, root)
	s.Endpoint = "http://127.0.0.1:" + strconv.Itoa(port)
	if err := s.run(t.Context()); err != nil {
		return err
	}
	t.Logf("s3test: versitygw %s answers on %s after %v (metadata in %s)", Version, s.Endpoint, time.Since(began).Round(time.Millisecond), metaMode)
	return nil
}

// run starts the server with s.args and waits until it answers HTTP.
func (s *Server) run(ctx context.Context) error {
	log, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	p := &process{cmd: cmd, exited: make(chan error, 1)}
	go func() { p.exited <- cmd.Wait() }()
	if err := waitReady(ctx, s.Endpoint, p.exited); err != nil {
		p.kill()
		out, _ := os.ReadFile(s.logPath)
		return fmt.Errorf("%s %q: %w; its output:\n%s", s.bin, s.args, err, out)
	}
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
	return nil
}

// Stop kills the server (SIGKILL, as a crash) and waits for it; a stopped
// server stays stopped. It is safe to call from any goroutine.
func (s *Server) Stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.kill()
	}
}

// Restart starts a stopped server again on the same port over the same
// folder, so that it serves what it held when it stopped, and waits until
// it answers. It returns an error if the server is running or does not
// answer.
func (s *Server) Restart(ctx context.Context) error {
	s.mu.Lock()
	running := s.proc != nil
	s.mu.Unlock()
	if running {
		return fmt.Errorf("s3test: restart of %s, which is running", s.Endpoint)
	}
	return s.run(ctx)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// xattrsWork reports whether files under dir take user.* extended
// attributes, which versitygw's posix backend keeps its metadata in.
func xattrsWork(dir string) bool {
	p := filepath.Join(dir, ".xattr-probe")
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		return false
	}
	defer os.Remove(p)
	return unix.Setxattr(p, "user.pipe-probe", []byte("1"), 0) == nil
}

// waitReady polls endpoint until it answers any HTTP response (an anonymous
// request is refused, which is an answer), the server exits, or 30 s pass.
func waitReady(ctx context.Context, endpoint string, exited <-chan error) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, endpoint+"/", nil)
		if err != nil {
			return err
		}
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited before answering: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("no answer on %s: %w", endpoint, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Client returns an S3 client for the server at endpoint with the test
// credentials, path-style.
func Client(endpoint string) *s3.Client {
	return s3.New(s3.Options{
		Region:       Region,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(AccessKey, SecretKey, ""),
	})
}

// createBucket creates bucket on the server at endpoint.
func createBucket(ctx context.Context, endpoint, bucket string) error {
	_, err := Client(endpoint).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)})
	return err
}

// Binary returns the path of the versitygw executable, building it first
// (go install from the module proxy: 3 to 6 minutes on two busy cores,
// about 80 s on idle ones) when the cache does not hold it. A file lock keeps concurrent test
// processes from building it twice.
func Binary(ctx context.Context) (string, error) {
	dir, err := cacheDir()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	unlock, err := lockFile(filepath.Join(dir, ".build.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	if _, err := os.Stat(bin); err == nil {
		return bin, nil // another process built it while we waited
	}
	return bin, build(ctx, dir)
}

// cacheDir returns the folder the pinned versitygw is installed in.
func cacheDir() (string, error) {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "pipe", "versitygw", Version), nil
}

// build installs versitygw into dir with go install.
func build(ctx context.Context, dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("no go command to build versitygw with: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "install", "github.com/versity/versitygw/cmd/versitygw@"+Version)
	cmd.Dir = os.TempDir() // outside any module: pkg@version ignores go.mod anyway
	cmd.Env = append(os.Environ(), "GOBIN="+dir, "GOWORK=off", "GOFLAGS=-mod=mod")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go install versitygw@%s: %w\n%s", Version, err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "versitygw")); err != nil {
		return fmt.Errorf("go install versitygw@%s left no binary: %w", Version, err)
	}
	return nil
}

// lockFile takes an exclusive flock on path, waiting for it.
func lockFile(path string) (func(), error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	for {
		err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
