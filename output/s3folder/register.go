package s3folder

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3conf"
	"github.com/pipe-ml/pipe/output"
)

// init makes [output.Open] open `s3://bucket/prefix` locations with
// [OpenEnv]: importing this package is what gives a binary S3 outputs.
func init() {
	output.RegisterScheme("s3", func(ctx context.Context, location string) (output.Folder, error) {
		return OpenEnv(ctx, location)
	})
}

// clients caches one client per [s3conf.Options], so that the many
// folders a run opens share connections and the SDK's config is read once.
var clients = struct {
	sync.Mutex
	m map[s3conf.Options]*s3.Client
}{m: map[s3conf.Options]*s3.Client{}}

// OpenEnv returns the Folder of rawURL with the settings of the environment
// ([s3conf.FromEnv]: AWS_ENDPOINT_URL, AWS_REGION, PIPE_S3_PATH_STYLE=1) and
// the SDK's standard credential chain. It makes no request.
func OpenEnv(ctx context.Context, rawURL string) (*Folder, error) {
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	o := s3conf.FromEnv()
	clients.Lock()
	defer clients.Unlock()
	c := clients.m[o]
	if c == nil {
		if c, err = s3conf.NewClient(ctx, o); err != nil {
			return nil, err
		}
		clients.m[o] = c
	}
	return New(c, bucket, prefix, nil), nil
}
