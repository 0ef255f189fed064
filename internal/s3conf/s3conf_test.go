package s3conf

import (
	"testing"
)

func TestFromEnv(t *testing.T) {
	tests := []struct {
		name                   string
		endpoint, region, path string
		want                   Options
	}{
		{"unset", "", "", "", Options{}},
		{"all set", "http://127.0.0.1:9000", "eu-west-3", "1", Options{Endpoint: "http://127.0.0.1:9000", Region: "eu-west-3", PathStyle: true}},
		{"path style only for 1", "", "", "true", Options{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_ENDPOINT_URL", tc.endpoint)
			t.Setenv("AWS_REGION", tc.region)
			t.Setenv("PIPE_S3_PATH_STYLE", tc.path)
			if got := FromEnv(); got != tc.want {
				t.Errorf("FromEnv() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestNewClient(t *testing.T) {
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
	c, err := NewClient(t.Context(), Options{Endpoint: "http://127.0.0.1:9", Region: "eu-west-3", PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Options()
	if o.Region != "eu-west-3" || !o.UsePathStyle || o.BaseEndpoint == nil || *o.BaseEndpoint != "http://127.0.0.1:9" {
		t.Errorf("client options: region %q, path style %v, endpoint %v", o.Region, o.UsePathStyle, o.BaseEndpoint)
	}
	if got := o.Retryer.MaxAttempts(); got != MaxAttempts {
		t.Errorf("retryer makes %d attempts, want %d", got, MaxAttempts)
	}
}
