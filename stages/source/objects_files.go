package source

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pipe-ml/pipe/internal/s3conf"
	"github.com/pipe-ml/pipe/stages"
)

// addObject is [Files.add] for an s3:// path: one GetObject, conditional on
// the ETag the listing saw (the version the fingerprint holds), whose body
// is read into b as it arrives; the row's size and modification time are
// the object's Content-Length and Last-Modified.
func (s *Files) addObject(ctx context.Context, b *filesBatch, path string) (full bool, err error) {
	bucket, key, err := splitObjectURL(path)
	if err != nil {
		return false, s.setAside(ctx, path, err)
	}
	client, err := objectClient(ctx)
	if err != nil {
		return false, fileErr(path, err)
	}
	body, out, err := s3conf.GetBody(ctx, client, bucket, key, s.objects[path].etag, 0)
	if err != nil {
		return false, s.setAside(ctx, path, fmt.Errorf("get object: %w", objectChanged(err, s.objects[path].etag)))
	}
	defer body.Close()
	size, limit := aws.ToInt64(out.ContentLength), int64(s.conf.MaxFileBytes)
	if size > limit {
		return false, s.setAside(ctx, path, &LimitError{What: "file", Size: size, Limit: limit, Setting: "max_file_bytes"})
	}
	unitKey := unitPath(s.keyBase, path)
	cost := size + fileRowBytes + int64(len(unitKey))
	if b.rows > 0 && b.bytes+cost > int64(s.conf.BatchBytes) {
		return true, nil // read again at the start of the next batch
	}
	if err := b.read(body, size, int64(s.conf.BatchBytes)); err != nil {
		return false, s.setAside(ctx, path, err)
	}
	b.appendMeta(unitKey, size, arrow.Timestamp(aws.ToTime(out.LastModified).UnixMicro()), cost)
	return false, nil
}

var _ stages.ObjectVersioner = (*Files)(nil)

// ObjectVersions implements [stages.ObjectVersioner]: the URL, size and
// ETag the listing saw of each s3:// object the source reads, in order.
func (s *Files) ObjectVersions() []stages.ObjectVersion {
	var out []stages.ObjectVersion
	for _, p := range s.paths {
		if o, ok := s.objects[p]; ok {
			out = append(out, stages.ObjectVersion{URL: p, Size: o.size, ETag: o.etag})
		}
	}
	return out
}
