package source

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// addObject is [Files.add] for an s3:// path: one GetObject, whose body is
// read into b as it arrives; the row's size and modification time are the
// object's Content-Length and Last-Modified.
func (s *Files) addObject(ctx context.Context, b *filesBatch, path string) (full bool, err error) {
	bucket, key, err := splitObjectURL(path)
	if err != nil {
		return false, s.setAside(ctx, path, err)
	}
	client, err := objectClient(ctx)
	if err != nil {
		return false, fileErr(path, err)
	}
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return false, s.setAside(ctx, path, fmt.Errorf("get object: %w", err))
	}
	defer out.Body.Close()
	size, limit := aws.ToInt64(out.ContentLength), int64(s.conf.MaxFileBytes)
	if size > limit {
		return false, s.setAside(ctx, path, &LimitError{What: "file", Size: size, Limit: limit, Setting: "max_file_bytes"})
	}
	unitKey := unitPath(s.keyBase, path)
	cost := size + fileRowBytes + int64(len(unitKey))
	if b.rows > 0 && b.bytes+cost > int64(s.conf.BatchBytes) {
		return true, nil // read again at the start of the next batch
	}
	if err := b.read(out.Body, size, int64(s.conf.BatchBytes)); err != nil {
		return false, s.setAside(ctx, path, err)
	}
	b.appendMeta(unitKey, size, arrow.Timestamp(aws.ToTime(out.LastModified).UnixMicro()), cost)
	return false, nil
}
