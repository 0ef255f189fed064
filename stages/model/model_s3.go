package model

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/internal/s3conf"
	"github.com/pipe-ml/pipe/stages"
)

// This file holds the download of a model named by an s3:// URL: it is
// fetched once into the model cache, named by its SHA-256, and loaded from
// there.

// fetchModelOf replaces an s3:// model in conf by its cached copy,
// downloading it when the cache lacks it, and pins the URL to the copy's
// content in pins, so that the job's fingerprint counts the model's bytes
// and every work unit runs the same ones.
func fetchModelOf(conf *Config, pins *stages.FilePins) error {
	url := string(conf.Model)
	if !stages.IsObjectURL(url) {
		return nil
	}
	ctx := context.Background()
	client, err := s3conf.NewClient(ctx, s3conf.FromEnv())
	if err != nil {
		return fmt.Errorf("model %s: %w", url, err)
	}
	dir, err := modelCacheDir()
	if err != nil {
		return fmt.Errorf("model %s: %w", url, err)
	}
	local, sum, err := fetchModel(ctx, client, url, conf.SHA256, dir)
	if err != nil {
		return err
	}
	pin, err := pins.PinAs(url, local)
	if err != nil {
		return fmt.Errorf("model %s: %w", url, err)
	}
	if pin.SHA256 != sum {
		return fmt.Errorf("model %s: the object changed during the run: sha256 is %s, was %s when the job was built", url, sum, pin.SHA256)
	}
	conf.Model = stages.Path(local)
	return nil
}

// modelCacheDir returns ${XDG_CACHE_HOME:-~/.cache}/pipe/models.
func modelCacheDir() (string, error) {
	base, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(base, "pipe", "models"), nil
}

// fetchModel returns the path in dir of the copy of the object at url and
// its SHA-256. The copy is dir/SHA256.onnx (the extension of the key). With
// a pin, a copy of that name is used without a request; without one, the
// object's ETag is looked up in dir/etags first. A download is hashed as it
// is written, checked against pin, and renamed into place only when whole.
func fetchModel(ctx context.Context, client *s3.Client, url, pin, dir string) (local, sum string, err error) {
	bucket, key, _ := strings.Cut(strings.TrimPrefix(url, "s3://"), "/")
	if bucket == "" || key == "" {
		return "", "", fmt.Errorf("model %s: want s3://bucket/key", url)
	}
	ext := filepath.Ext(key)
	pin = strings.ToLower(pin)
	if pin != "" {
		if p := filepath.Join(dir, pin+ext); fileExists(p) {
			return p, pin, nil
		}
	}
	head, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", "", fmt.Errorf("model %s: %w", url, err)
	}
	etag := aws.ToString(head.ETag)
	index := filepath.Join(dir, "etags", etagName(url, etag, aws.ToInt64(head.ContentLength), aws.ToTime(head.LastModified).UnixNano()))
	if b, err := os.ReadFile(index); etag != "" && err == nil && (pin == "" || string(b) == pin) {
		if p := filepath.Join(dir, string(b)+ext); fileExists(p) {
			return p, string(b), nil
		}
	}
	sum, err = download(ctx, client, bucket, key, etag, dir, ext, pin)
	if err != nil {
		return "", "", fmt.Errorf("model %s: %w", url, err)
	}
	if err := os.MkdirAll(filepath.Dir(index), 0o755); err == nil {
		_ = os.WriteFile(index, []byte(sum), 0o644) // a lost index costs one download
	}
	return filepath.Join(dir, sum+ext), sum, nil
}

// ifMatch returns the If-Match value of etag; nil when the server gave
// none.
func ifMatch(etag string) *string {
	if etag == "" {
		return nil
	}
	return aws.String(etag)
}

// etagName names the index file of one version of the object at url: its
// ETag, size and modification time. An object without an ETag is not
// looked up: it is downloaded every time.
func etagName(url, etag string, size, modified int64) string {
	h := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%s\x00%d\x00%d", url, etag, size, modified)))
	return hex.EncodeToString(h[:])
}

// fileExists reports whether p is a regular file.
func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// download streams the object (of the ETag etag) into a temporary file in
// dir while hashing it, and renames it dir/SHA256+ext when its hash matches
// pin (any, without one). It returns the hash.
func download(ctx context.Context, client *s3.Client, bucket, key, etag, dir, ext, pin string) (string, error) {
	out, err := client.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), IfMatch: ifMatch(etag)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".download-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name()) // a no-op once renamed
	h := sha256.New()
	_, err = io.Copy(io.MultiWriter(tmp, h), out.Body)
	err = errors.Join(err, tmp.Close())
	if err != nil {
		return "", fmt.Errorf("download: %w", err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if pin != "" && sum != pin {
		return "", fmt.Errorf("sha256 is %s, the job pins %s", sum, pin)
	}
	if err := os.Rename(tmp.Name(), filepath.Join(dir, sum+ext)); err != nil {
		return "", err
	}
	return sum, nil
}
