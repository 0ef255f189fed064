package pipeline

import (
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/s3conf"
)

func TestJobS3Block(t *testing.T) {
	const head = "version: 1\nstages:\n  - {id: g, type: generate, with: {count: 1, columns: [{name: id, type: int64}]}}\n"
	for _, tc := range []struct {
		name, block, err string
		want             s3conf.Options
	}{
		{"all keys", "s3: {endpoint: 'http://minio:9000', region: eu-west-3, path_style: true, profile: scoring}\n", "",
			s3conf.Options{Endpoint: "http://minio:9000", Region: "eu-west-3", PathStyle: true, Profile: "scoring"}},
		{"credentials refused", "s3: {secret_access_key: x}\n", `unknown key "secret_access_key"`, s3conf.Options{}},
		{"not a URL", "s3: {endpoint: 'ftp://x'}\n", "not an http:// or https:// URL", s3conf.Options{}},
		{"path_style not a bool", "s3: {path_style: 'yes'}\n", "expected true or false", s3conf.Options{}},
		{"not a mapping", "s3: [a]\n", "expected a mapping", s3conf.Options{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			job, err := Load([]byte(head+tc.block), "job.yaml", t.TempDir(), LoadOptions{Env: func(string) (string, bool) { return "", false }})
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if job.S3 != tc.want {
				t.Fatalf("s3 settings %+v, want %+v", job.S3, tc.want)
			}
		})
	}
}

// TestJobS3Precedence: the environment overrides the job's s3: settings,
// which fill what the environment leaves unset.
func TestJobS3Precedence(t *testing.T) {
	t.Cleanup(func() { s3conf.SetDefaults(s3conf.Options{}) })
	t.Setenv("AWS_ENDPOINT_URL", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_REGION", "us-east-2")
	t.Setenv("PIPE_S3_PATH_STYLE", "0")
	applyS3(&Job{S3: s3conf.Options{Endpoint: "http://store:9000", Region: "eu-west-3", PathStyle: true, Profile: "p"}})
	got := s3conf.FromEnv()
	if want := (s3conf.Options{Endpoint: "http://store:9000", Region: "us-east-2", PathStyle: false, Profile: "p"}); got != want {
		t.Fatalf("options %+v, want %+v", got, want)
	}
}
