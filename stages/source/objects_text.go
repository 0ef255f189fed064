package source

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// openTextInput opens the file at path, or streams the object an s3:// path
// names: one GetObject whose body is read as it arrives, never downloaded
// whole first.
func openTextInput(path string) (io.ReadCloser, error) {
	if !isObjectURL(path) {
		return os.Open(path)
	}
	bucket, key, err := splitObjectURL(path)
	if err != nil {
		return nil, err
	}
	client, err := objectClient(context.Background())
	if err != nil {
		return nil, err
	}
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get object: %w", err)
	}
	return out.Body, nil
}
