package pipeline

import (
	"net/url"
	"slices"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/internal/s3conf"
)

// s3Keys are the keys of a job's `s3:` block: where its s3:// inputs,
// models and outputs live when that is not AWS S3 as the environment
// says. The environment (AWS_ENDPOINT_URL, AWS_REGION, AWS_PROFILE,
// PIPE_S3_PATH_STYLE) overrides each. Credentials are never here: they
// come from the AWS SDK's standard chain.
var s3Keys = []string{"endpoint", "region", "path_style", "profile"}

// decodeS3 reads a job's `s3:` block into job.S3.
func decodeS3(v *yaml.Node, job *Job, ps *problems) {
	if v.Kind != yaml.MappingNode {
		ps.add(v.Line, v.Column, "", "s3: expected a mapping of %v, got %s", s3Keys, kindName(v))
		return
	}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k, val := v.Content[i], v.Content[i+1]
		if !slices.Contains(s3Keys, k.Value) {
			ps.add(k.Line, k.Column, "", "s3: unknown key %q; want one of %v (credentials come from the environment or the shared AWS files, never the job)", k.Value, s3Keys)
			continue
		}
		if val.Kind != yaml.ScalarNode || val.ShortTag() == "!!null" {
			ps.add(val.Line, val.Column, "", "s3.%s: expected a value, got %s", k.Value, kindName(val))
			continue
		}
		switch k.Value {
		case "endpoint":
			if u, err := url.Parse(val.Value); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				ps.add(val.Line, val.Column, "", "s3.endpoint: %q is not an http:// or https:// URL", val.Value)
			}
			job.S3.Endpoint = val.Value
		case "region":
			job.S3.Region = val.Value
		case "profile":
			job.S3.Profile = val.Value
		case "path_style":
			if val.ShortTag() != "!!bool" {
				ps.add(val.Line, val.Column, "", "s3.path_style: expected true or false, got %s", kindName(val))
			}
			job.S3.PathStyle = val.Value == "true"
		}
	}
}

// applyS3 makes the job's `s3:` settings those of the clients it opens.
func applyS3(job *Job) {
	if job.S3 != (s3conf.Options{}) {
		s3conf.SetDefaults(job.S3)
	}
}
