// Command s3serve runs the test S3 server (versitygw, built as
// internal/s3test builds it) on a loopback port over a folder, for the
// benchmarks: it creates a bucket, uploads files into it, prints
// "ready ENDPOINT" on stdout, and serves until SIGINT or SIGTERM, then
// stops the server.
//
//	go run ./internal/cmd/s3serve -root DIR -port 7070 -bucket bench [-put KEY=FILE ...]
//
// The server's credentials are s3test.AccessKey and s3test.SecretKey in
// region s3test.Region; clients reach it with AWS_ENDPOINT_URL=ENDPOINT
// and PIPE_S3_PATH_STYLE=1.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3test"
)

// puts collects the -put KEY=FILE flags.
type puts []string

func (p *puts) String() string     { return strings.Join(*p, ",") }
func (p *puts) Set(v string) error { *p = append(*p, v); return nil }

func main() {
	root := flag.String("root", "", "folder the server keeps the buckets in (required)")
	port := flag.Int("port", 7070, "loopback port")
	bucket := flag.String("bucket", "bench", "bucket to create")
	var files puts
	flag.Var(&files, "put", "KEY=FILE: upload FILE as KEY (repeatable)")
	flag.Parse()
	if err := run(*root, *port, *bucket, files); err != nil {
		fmt.Fprintln(os.Stderr, "s3serve:", err)
		os.Exit(1)
	}
}

// run starts the server, prepares the bucket and serves until a signal.
func run(root string, port int, bucket string, files []string) error {
	if root == "" {
		return errors.New("-root is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	bin, err := s3test.Binary(ctx)
	if err != nil {
		return err
	}
	endpoint := "http://127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--access", s3test.AccessKey, "--secret", s3test.SecretKey, "--region", s3test.Region,
		"--port", "127.0.0.1:"+strconv.Itoa(port), "--keep-alive", "--quiet", "posix", root)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		<-exited
	}()
	if err := waitReady(ctx, endpoint, exited); err != nil {
		return err
	}
	if err := prepare(ctx, s3test.Client(endpoint), bucket, files); err != nil {
		return err
	}
	fmt.Println("ready", endpoint)
	select {
	case <-ctx.Done():
		return nil
	case err := <-exited:
		exited <- err
		return fmt.Errorf("versitygw exited: %v", err)
	}
}

// waitReady polls endpoint until it answers, the server exits or 30 s pass.
func waitReady(ctx context.Context, endpoint string, exited chan error) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(endpoint + "/"); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case err := <-exited:
			exited <- err
			return fmt.Errorf("versitygw exited before answering: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("no answer on %s after 30 s", endpoint)
}

// prepare creates bucket (it may exist already) and uploads files.
func prepare(ctx context.Context, client *s3.Client, bucket string, files []string) error {
	if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: &bucket}); err != nil && !strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") {
		return fmt.Errorf("create bucket %s: %w", bucket, err)
	}
	for _, kv := range files {
		key, file, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("-put %q: want KEY=FILE", kv)
		}
		f, err := os.Open(file)
		if err != nil {
			return err
		}
		st, err := f.Stat()
		if err == nil {
			_, err = client.PutObject(ctx, &s3.PutObjectInput{Bucket: &bucket, Key: aws.String(key), Body: f, ContentLength: aws.Int64(st.Size())})
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("put %s as s3://%s/%s: %w", file, bucket, key, err)
		}
	}
	return nil
}
