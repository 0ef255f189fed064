package model

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/stages"
)

// getCounter counts the GET requests of a client.
type getCounter struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c getCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet {
		c.n.Add(1)
	}
	return c.base.RoundTrip(r)
}

func TestFetchModel(t *testing.T) {
	endpoint, bucket := s3test.Start(t)
	plain := s3test.Client(endpoint)
	var gets atomic.Int64
	client := s3.New(plain.Options(), func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: getCounter{base: http.DefaultTransport, n: &gets}}
	})
	body := []byte("not really onnx, but bytes to hash")
	h := sha256.Sum256(body)
	sum := hex.EncodeToString(h[:])
	if _, err := plain.PutObject(t.Context(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("m/model.onnx"), Body: bytes.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	url := "s3://" + bucket + "/m/model.onnx"
	dir := t.TempDir()

	local, got, err := fetchModel(t.Context(), client, url, "", dir)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(local); got != sum || local != filepath.Join(dir, sum+".onnx") || !bytes.Equal(b, body) {
		t.Fatalf("got %s with sha256 %s, want %s/%s.onnx holding the object", local, got, dir, sum)
	}
	t.Run("cached by ETag", func(t *testing.T) {
		gets.Store(0)
		again, _, err := fetchModel(t.Context(), client, url, "", dir)
		if err != nil || again != local || gets.Load() != 0 {
			t.Errorf("second fetch: %s, %v after %d GETs; want %s from the cache, no GET", again, err, gets.Load(), local)
		}
	})
	t.Run("cached by pin", func(t *testing.T) {
		gets.Store(0)
		again, _, err := fetchModel(t.Context(), client, "s3://"+bucket+"/gone.onnx", strings.ToUpper(sum), dir)
		if err != nil || again != local || gets.Load() != 0 {
			t.Errorf("pinned fetch: %s, %v; want %s without a request", again, err, local)
		}
	})
	t.Run("wrong pin", func(t *testing.T) {
		other := t.TempDir()
		_, _, err := fetchModel(t.Context(), client, url, strings.Repeat("0", 64), other)
		if err == nil || !strings.Contains(err.Error(), url) || !strings.Contains(err.Error(), sum) {
			t.Fatalf("err %v, want one naming %s and its sha256 %s", err, url, sum)
		}
		if left, _ := os.ReadDir(other); len(left) != 0 {
			t.Errorf("left %d entries in the cache, want none", len(left))
		}
	})
	t.Run("pins the URL", func(t *testing.T) {
		t.Setenv("AWS_ENDPOINT_URL", endpoint)
		t.Setenv("PIPE_S3_PATH_STYLE", "1")
		t.Setenv("XDG_CACHE_HOME", t.TempDir())
		pins := stages.NewFilePins()
		conf := Config{Model: stages.Path(url)}
		if err := fetchModelOf(&conf, pins); err != nil {
			t.Fatal(err)
		}
		p, err := pins.Pin(url)
		if err != nil || p.SHA256 != sum || !strings.HasSuffix(string(conf.Model), sum+".onnx") {
			t.Errorf("pin %+v (%v), model %s; want the URL pinned to %s and the model its cached copy", p, err, conf.Model, sum)
		}
	})
}
