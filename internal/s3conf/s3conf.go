// Package s3conf builds the S3 clients of pipe's object inputs and outputs:
// the AWS SDK's default config (the standard credential chain: environment,
// shared files, SSO, instance roles), with the endpoint, region and
// addressing that [Options] or the environment name, and a retryer of
// [MaxAttempts] attempts.
package s3conf

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// MaxAttempts is the number of attempts the SDK's standard retryer makes
// for one call (the SDK's default is 3): throttling, 5xx and connection
// failures before a response are retried with jittered exponential backoff
// capped at 20 s.
const MaxAttempts = 5

// Options say which S3 service to talk to. The zero value talks to AWS S3
// in the region the environment or shared config names.
type Options struct {
	// Endpoint is the S3 endpoint URL ("http://127.0.0.1:7070"); empty
	// for AWS S3 or AWS_ENDPOINT_URL, which the SDK reads itself.
	Endpoint string
	// Region overrides the region of the environment or shared config.
	Region string
	// PathStyle addresses buckets as ENDPOINT/BUCKET rather than
	// BUCKET.ENDPOINT (most servers other than AWS need it).
	PathStyle bool
	// Profile is the shared config profile to take credentials and
	// settings from; empty for AWS_PROFILE or the default one.
	Profile string
}

// jobDefaults holds the settings of the job being run (its `s3:` block),
// which the environment's override.
var jobDefaults atomic.Pointer[Options]

// SetDefaults sets the settings the job file gives; [FromEnv] returns them
// where the environment names none. A process runs one job: the last call
// wins.
func SetDefaults(o Options) { jobDefaults.Store(&o) }

// FromEnv returns the Options of the environment, AWS_ENDPOINT_URL,
// AWS_REGION, AWS_PROFILE and PIPE_S3_PATH_STYLE (1 or 0), each falling
// back to the job's setting ([SetDefaults]). The SDK reads the AWS_ ones
// itself; FromEnv names them so that a cache of clients can key on them.
func FromEnv() Options {
	var o Options
	if d := jobDefaults.Load(); d != nil {
		o = *d
	}
	for _, v := range []struct {
		env string
		to  *string
	}{{"AWS_ENDPOINT_URL", &o.Endpoint}, {"AWS_REGION", &o.Region}, {"AWS_PROFILE", &o.Profile}} {
		if e := os.Getenv(v.env); e != "" {
			*v.to = e
		}
	}
	switch os.Getenv("PIPE_S3_PATH_STYLE") {
	case "1":
		o.PathStyle = true
	case "0":
		o.PathStyle = false
	}
	return o
}

// NewClient returns a client built from the SDK's default config and o. It
// makes no request; it fails only when the shared config cannot be read.
func NewClient(ctx context.Context, o Options) (*s3.Client, error) {
	opts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) { so.MaxAttempts = MaxAttempts })
		}),
	}
	if o.Region != "" {
		opts = append(opts, config.WithRegion(o.Region))
	}
	if o.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("AWS config: %w", err)
	}
	return s3.NewFromConfig(cfg, func(so *s3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = o.PathStyle
		// A ranged GET carries no whole-object checksum to validate; the
		// SDK would log that on stderr for every read.
		so.DisableLogOutputChecksumValidationSkipped = true
	}), nil
}
