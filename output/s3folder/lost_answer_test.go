package s3folder_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/faultproxy"
	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/output/s3folder"
	"github.com/pipe-ml/pipe/stages"
)

// losingTransport sends every request to the server, but loses the answer
// (a connection reset after the server acted) of the first lose requests
// that match: the SDK then retries a call that had succeeded. The next
// noSuchUpload requests that match after a lost answer are answered 404
// NoSuchUpload without reaching the server, as stores that forget a
// completed upload at once answer a retried CompleteMultipartUpload.
type losingTransport struct {
	match        func(*http.Request) bool
	lose         atomic.Int64
	noSuchUpload atomic.Int64
	lost         atomic.Int64
}

const noSuchUploadXML = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>`

func (l *losingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if l.match(r) && l.noSuchUpload.Load() > 0 && (l.lost.Load() > 0 || l.lose.Load() <= 0) && l.noSuchUpload.Add(-1) >= 0 {
		if r.Body != nil {
			_, _ = io.Copy(io.Discard, r.Body)
			r.Body.Close()
		}
		return &http.Response{StatusCode: http.StatusNotFound, Status: "404 Not Found", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
			Header:        http.Header{"Content-Type": {"application/xml"}},
			Body:          io.NopCloser(strings.NewReader(noSuchUploadXML)),
			ContentLength: int64(len(noSuchUploadXML)), Request: r}, nil
	}
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err != nil || !l.match(r) || l.lose.Add(-1) < 0 {
		return resp, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	l.lost.Add(1)
	return nil, syscall.ECONNRESET
}

// losingFolder opens a fresh folder of s through a client whose transport
// is lt.
func losingFolder(s *server, prefix string, lt *losingTransport) *s3folder.Folder {
	client := s3.New(s3.Options{
		Region: s3test.Region, BaseEndpoint: aws.String(s.endpoint), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, ""),
		HTTPClient:  &http.Client{Transport: lt},
		Retryer:     retry.NewStandard(func(o *retry.StandardOptions) { o.MaxAttempts = s3folder.MaxAttempts }),
	})
	return s3folder.New(client, s.bucket, prefix, nil)
}

// TestLostAnswers: a write whose answer is lost after it succeeded is
// retried by the SDK, and the retry fails against what the first attempt
// did; the write still succeeds. A conditional put of the manifest whose
// retry gets 412 holds our bytes; a CompleteMultipartUpload whose retry
// gets NoSuchUpload left the object whole. A conditional put that loses
// to other bytes still fails.
func TestLostAnswers(t *testing.T) {
	s := startServer(t)
	ctx := t.Context()
	t.Run("conditional put", func(t *testing.T) {
		lt := &losingTransport{match: func(r *http.Request) bool { return r.Method == http.MethodPut }}
		f := losingFolder(s, "lost/put/", lt)
		for i, data := range []string{"gen 1", "gen 2"} { // If-None-Match, then If-Match
			lt.lose.Store(1)
			if err := f.WriteFileAtomic(ctx, stages.ManifestFile, []byte(data)); err != nil {
				t.Fatalf("write %d with its answer lost: %v", i+1, err)
			}
			if got, err := f.ReadFile(ctx, stages.ManifestFile); err != nil || string(got) != data {
				t.Fatalf("manifest = %q, %v; want %q", got, err, data)
			}
		}
		if lt.lost.Load() != 2 {
			t.Fatalf("%d answers lost, want 2", lt.lost.Load())
		}
		other := s.open(t, "s3://"+s.bucket+"/lost/put")
		if _, err := other.ReadFile(ctx, stages.ManifestFile); err != nil {
			t.Fatal(err)
		}
		if err := f.WriteFileAtomic(ctx, stages.ManifestFile, []byte("gen 3")); err != nil {
			t.Fatal(err)
		}
		if err := other.WriteFileAtomic(ctx, stages.ManifestFile, []byte("gen 3 by other")); !errors.Is(err, s3folder.ErrConditionFailed) {
			t.Errorf("a stale write of other bytes: %v, want ErrConditionFailed", err)
		}
	})
	for _, tc := range []struct {
		name       string
		lose       int64 // answers of CompleteMultipartUpload lost
		commitFail bool
	}{
		{"complete multipart upload, answer lost", 1, false},
		{"complete multipart upload never done", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) { completeLost(t, s, tc.lose, tc.commitFail) })
	}
}

// completeLost uploads a file of two parts through a transport that loses
// lose answers of CompleteMultipartUpload and answers the next call
// NoSuchUpload: Commit must succeed when the upload was completed, and
// fail when it never was.
func completeLost(t *testing.T, s *server, lose int64, commitFail bool) {
	lt := &losingTransport{match: func(r *http.Request) bool {
		return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
	}}
	lt.lose.Store(lose)
	lt.noSuchUpload.Store(1)
	f := losingFolder(s, fmt.Sprintf("lost/mpu-%d/", lose), lt)
	data := make([]byte, s3folder.MinPartSize+777)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	up, err := f.Create(t.Context(), "part-00000.parquet", output.CreateOptions{PartSize: s3folder.MinPartSize})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up.Write(data); err != nil {
		t.Fatal(err)
	}
	err = up.Commit()
	if lt.lost.Load() != lose || lt.noSuchUpload.Load() != 0 {
		t.Fatalf("%d answers lost, %d NoSuchUpload left to give: the transport did not act", lt.lost.Load(), lt.noSuchUpload.Load())
	}
	if commitFail {
		if err == nil || !strings.Contains(err.Error(), "NoSuchUpload") {
			t.Fatalf("Commit of an upload the store does not know: %v, want NoSuchUpload", err)
		}
		_ = up.Abort()
		if _, err := f.Stat(t.Context(), "part-00000.parquet"); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("an object appeared: %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("Commit with the answer of CompleteMultipartUpload lost: %v", err)
	}
	got, err := f.ReadFile(t.Context(), "part-00000.parquet")
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("the object holds %d bytes (%v), want the %d written", len(got), err, len(data))
	}
	if n := pendingUploads(t, s); n != 0 {
		t.Errorf("%d uploads left open", n)
	}
}

// TestCutAnswers: the answers of CreateMultipartUpload,
// CompleteMultipartUpload and ListObjectsV2 cut off half-way (after the
// server acted) are retried: every upload commits whole, lists are right,
// and no upload a retried create opened is left open.
func TestCutAnswers(t *testing.T) {
	s := startServer(t)
	proxy := faultproxy.Start(t, s.endpoint, faultproxy.Faults{Seed: 9, Truncate: 0.3, Only: func(r *http.Request) bool {
		return r.Method == http.MethodPost || r.Method == http.MethodGet && r.URL.Query().Has("list-type")
	}})
	f, err := s3folder.Open(t.Context(), "s3://"+s.bucket+"/cut", s3folder.Options{Endpoint: proxy.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, s3folder.MinPartSize+4321)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	const files = 6
	for i := range files {
		name := fmt.Sprintf("part-%05d.parquet", i)
		up, err := f.Create(t.Context(), name, output.CreateOptions{PartSize: s3folder.MinPartSize})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := up.Write(data); err != nil {
			t.Fatal(err)
		}
		if err := up.Commit(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for range 3 {
		ents, err := f.List(t.Context(), "")
		if err != nil || len(ents) != files {
			t.Fatalf("List = %d entries, %v; want %d", len(ents), err, files)
		}
	}
	if proxy.Count(faultproxy.Truncated) < 3 {
		t.Fatalf("%d answers cut of %d requests: the test did not exercise the fault", proxy.Count(faultproxy.Truncated), proxy.Requests())
	}
	for i := range files {
		got, err := s.open(t, "s3://"+s.bucket+"/cut").ReadFile(t.Context(), fmt.Sprintf("part-%05d.parquet", i))
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("file %d holds %d bytes (%v), want %d", i, len(got), err, len(data))
		}
	}
	if n := pendingUploads(t, s); n != 0 {
		t.Errorf("%d uploads left open", n)
	}
	t.Logf("%d requests, %d answers cut", proxy.Requests(), proxy.Count(faultproxy.Truncated))
}
