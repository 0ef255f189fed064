package s3test_test

import (
	"net"
	"net/url"
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
