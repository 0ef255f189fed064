package s3folder

import (
	"context"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pipe-ml/pipe/internal/s3conf"
)

// ModTime returns when the object name was last written.
func (f *Folder) ModTime(ctx context.Context, name string) (time.Time, error) {
	if err := f.check("head", name); err != nil {
		return time.Time{}, err
	}
	out, err := f.head(ctx, name)
	if err != nil {
		return time.Time{}, err
	}
	return aws.ToTime(out.LastModified), nil
}

// OpenAt returns a reader of the object name's bytes at any offset, by
// ranged GETs of its current version (a reader of an object replaced since
// fails), and its size: a Parquet footer and the column chunks it names
// are read without the rest of the object.
func (f *Folder) OpenAt(ctx context.Context, name string) (io.ReaderAt, int64, error) {
	if err := f.check("get", name); err != nil {
		return nil, 0, err
	}
	out, err := f.head(ctx, name)
	if err != nil {
		return nil, 0, err
	}
	return &objectAt{ctx: ctx, f: f, name: name, etag: aws.ToString(out.ETag)}, aws.ToInt64(out.ContentLength), nil
}

// objectAt is the reader of [Folder.OpenAt].
type objectAt struct {
	ctx  context.Context
	f    *Folder
	name string
	etag string
}

// ReadAt fills p from off, or fails naming the object.
func (o *objectAt) ReadAt(p []byte, off int64) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if err := s3conf.ReadRange(o.ctx, o.f.client, o.f.bucket, o.f.key(o.name), o.etag, p, off); err != nil {
		return 0, o.f.wrap("get", o.name, err)
	}
	return len(p), nil
}
