package s3test_test

import (
	"io"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3test"
)

// TestStart: the server answers S3 with the test credentials, the bucket
// exists, and the server is gone once the test that started it ends.
func TestStart(t *testing.T) {
	var endpoint string
	ok := t.Run("server", func(t *testing.T) {
		var bucket string
		endpoint, bucket = s3test.Start(t)
		if _, err := s3test.Client(endpoint).HeadBucket(t.Context(), &s3.HeadBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatalf("HeadBucket(%s) at %s: %v", bucket, endpoint, err)
		}
	})
	switch {
	case !ok:
		return
	case endpoint == "":
		t.Skip("the server subtest was skipped (it says why)")
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after the test ended", endpoint)
	}
}

// TestServerRestart: a stopped server refuses connections; restarted, it
// answers on the same endpoint and still holds the objects put before.
func TestServerRestart(t *testing.T) {
	s := s3test.StartServer(t)
	client := s3test.Client(s.Endpoint)
	key := aws.String("kept")
	if _, err := client.PutObject(t.Context(), &s3.PutObjectInput{Bucket: &s.Bucket, Key: key, Body: strings.NewReader("data")}); err != nil {
		t.Fatal(err)
	}
	s.Stop()
	u, err := url.Parse(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
		c.Close()
		t.Fatalf("%s accepts connections after Stop", s.Endpoint)
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	out, err := client.GetObject(t.Context(), &s3.GetObjectInput{Bucket: &s.Bucket, Key: key})
	if err != nil {
		t.Fatalf("after Restart: %v", err)
	}
	defer out.Body.Close()
	if data, err := io.ReadAll(out.Body); err != nil || string(data) != "data" {
		t.Errorf("after Restart the object holds %q (%v), want %q", data, err, "data")
	}
	if err := s.Restart(t.Context()); err == nil {
		t.Error("Restart of a running server succeeded")
	}
}
