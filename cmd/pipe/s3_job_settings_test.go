package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3test"
	"github.com/pipe-ml/pipe/stages"
)

// TestS3JobSettings: a job whose s3: block names the store (endpoint and
// path-style addressing) writes there with no AWS_ENDPOINT_URL in the
// environment; credentials still come from the environment.
func TestS3JobSettings(t *testing.T) {
	endpoint, bucket := s3test.Start(t)
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("PIPE_S3_PATH_STYLE", "")
	dir := t.TempDir()
	job := fmt.Sprintf(`version: 1
s3: {endpoint: %q, path_style: true}
stages:
  - {id: gen, type: generate, with: {count: 100, columns: [{name: id, type: int64}]}}
  - {id: write, type: parquet_sink, inputs: [gen], with: {path: "s3://%s/settings"}}
`, endpoint, bucket)
	if err := os.WriteFile(filepath.Join(dir, "job.yaml"), []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := runChild(t, childOptions{Dir: dir}, "run", "job.yaml"); c.Code != 0 {
		t.Fatalf("exit %d\n%s", c.Code, stderrTail(c.Stderr))
	}
	key := "settings/" + stages.SuccessFile
	if _, err := s3test.Client(endpoint).HeadObject(t.Context(), &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		t.Fatalf("no %s in the bucket: %v", key, err)
	}
	// Without the block the same job goes to AWS S3's endpoint, which this
	// machine cannot reach: it must fail, not find the test store.
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	noBlock := filepath.Join(dir, "noblock.yaml")
	if err := os.WriteFile(noBlock, []byte(fmt.Sprintf(`version: 1
stages:
  - {id: gen, type: generate, with: {count: 100, columns: [{name: id, type: int64}]}}
  - {id: write, type: parquet_sink, inputs: [gen], with: {path: "s3://%s/other"}}
`, bucket)), 0o644); err != nil {
		t.Fatal(err)
	}
	if c := runChild(t, childOptions{Dir: dir}, "run", "noblock.yaml"); c.Code == 0 {
		t.Fatal("the job without an s3: block reached the test store")
	}
}
