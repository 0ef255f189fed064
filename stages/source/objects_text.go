package source

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/pipe-ml/pipe/internal/s3conf"
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
	body, _, err := s3conf.GetBody(context.Background(), client, bucket, key, "", 0)
	if err != nil {
		return nil, fmt.Errorf("get object: %w", err)
	}
	return body, nil
}
