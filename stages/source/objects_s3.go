package source

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/pipe-ml/pipe/internal/s3conf"
	"github.com/pipe-ml/pipe/stages"
)

// This file holds the listing of `s3://bucket/key` entries in a source's
// paths: an object, a glob over keys, or a "folder" (a key prefix).

// objectScheme starts the paths that name objects rather than files.
const objectScheme = "s3://"

// isObjectURL reports whether a path names an object (s3://bucket/key).
func isObjectURL(s string) bool { return strings.HasPrefix(s, objectScheme) }

// objectInfo is what a listing learns about one object.
type objectInfo struct {
	bucket, key string
	size        int64
	etag        string
}

// url returns the object's s3:// URL.
func (o objectInfo) url() string { return objectScheme + o.bucket + "/" + o.key }

// objectClients caches one client per [s3conf.Options], so that the
// listings and readers of a job share connections.
var objectClients = struct {
	mu sync.Mutex
	m  map[s3conf.Options]*s3.Client
}{m: map[s3conf.Options]*s3.Client{}}

// objectClient returns the S3 client of the environment's settings (see
// [s3conf.FromEnv]); credentials come from the AWS SDK's standard chain.
// Tests replace it.
var objectClient = func(ctx context.Context) (*s3.Client, error) {
	o := s3conf.FromEnv()
	objectClients.mu.Lock()
	defer objectClients.mu.Unlock()
	if c := objectClients.m[o]; c != nil {
		return c, nil
	}
	c, err := s3conf.NewClient(ctx, o)
	if err != nil {
		return nil, err
	}
	objectClients.m[o] = c
	return c, nil
}

// splitObjectURL splits s3://bucket/key into bucket and key ("" for the
// whole bucket).
func splitObjectURL(raw string) (bucket, key string, err error) {
	bucket, key, _ = strings.Cut(strings.TrimPrefix(raw, objectScheme), "/")
	if bucket == "" || strings.ContainsAny(bucket, "*?[") {
		return "", "", fmt.Errorf("paths: %q: want s3://bucket/key, s3://bucket/prefix/ or s3://bucket/prefix/*.ext", raw)
	}
	return bucket, key, nil
}

// addObjects adds the objects the entry raw (an s3:// URL) names to l, and
// returns how many it matched. A key with glob characters matches the
// objects whose key path.Match accepts ("*" stays within one "/" level and
// does not match a leading "." in a name); a key ending in "/" (or a key
// no object has, but which other keys extend with "/") is a folder: every
// object under it with one of the extensions, skipping names starting with
// "." or "_", as for local folders.
func (l *pathList) addObjects(ctx context.Context, raw string, exts []string) (int, error) {
	bucket, key, err := splitObjectURL(raw)
	if err != nil {
		return 0, err
	}
	client, err := objectClient(ctx)
	if err != nil {
		return 0, fmt.Errorf("paths: %s: %w", raw, err)
	}
	if strings.ContainsAny(key, "*?[") {
		return l.addGlob(ctx, client, raw, bucket, key)
	}
	if key != "" && !strings.HasSuffix(key, "/") {
		o, found, err := headObject(ctx, client, bucket, key)
		if err != nil {
			return 0, fmt.Errorf("paths: %s: %w", raw, err)
		}
		if found {
			l.addObject(o)
			return 1, nil
		}
		key += "/"
	}
	return l.addFolder(ctx, client, raw, bucket, key, exts)
}

// addObject adds o to l, once.
func (l *pathList) addObject(o objectInfo) {
	if l.objects == nil {
		l.objects = map[string]objectInfo{}
	}
	l.objects[o.url()] = o
	l.add(o.url())
}

// addGlob adds the objects of bucket whose keys match pattern.
func (l *pathList) addGlob(ctx context.Context, client *s3.Client, raw, bucket, pattern string) (int, error) {
	if _, err := path.Match(pattern, ""); err != nil {
		return 0, fmt.Errorf("paths: pattern %q: %w", raw, err)
	}
	prefix := pattern[:strings.IndexAny(pattern, "*?[")]
	dot := strings.HasPrefix(path.Base(pattern), ".")
	n := 0
	err := listKeys(ctx, client, bucket, prefix, func(o objectInfo) {
		if ok, _ := path.Match(pattern, o.key); !ok {
			return
		}
		if !dot && strings.HasPrefix(path.Base(o.key), ".") {
			return
		}
		l.addObject(o)
		n++
	})
	if err != nil {
		return 0, fmt.Errorf("paths: %s: %w", raw, err)
	}
	return n, nil
}

// addFolder adds the data objects under the key prefix of bucket (""
// or ending in "/") and notes the others in l.skipped.
func (l *pathList) addFolder(ctx context.Context, client *s3.Client, raw, bucket, prefix string, exts []string) (int, error) {
	n := 0
	err := listKeys(ctx, client, bucket, prefix, func(o objectInfo) {
		if strings.HasSuffix(o.key, "/") { // a folder marker
			return
		}
		for _, seg := range strings.Split(strings.TrimPrefix(o.key, prefix), "/") {
			if strings.HasPrefix(seg, ".") || strings.HasPrefix(seg, "_") {
				l.skipped = append(l.skipped, stages.FileNote{Path: o.url(), Reason: "name starts with " + seg[:1]})
				return
			}
		}
		if !hasExtension(o.key, exts) {
			l.skipped = append(l.skipped, stages.FileNote{Path: o.url(), Reason: "extension"})
			return
		}
		l.addObject(o)
		n++
	})
	if err != nil {
		return 0, fmt.Errorf("paths: %s: %w", raw, err)
	}
	return n, nil
}

// listKeys calls f with every object of bucket whose key starts with
// prefix, in key order, paging through ListObjectsV2.
func listKeys(ctx context.Context, client *s3.Client, bucket, prefix string, f func(objectInfo)) error {
	pages := s3.NewListObjectsV2Paginator(client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("list objects under %q: %w", prefix, err)
		}
		for _, o := range page.Contents {
			f(objectInfo{bucket: bucket, key: aws.ToString(o.Key), size: aws.ToInt64(o.Size), etag: aws.ToString(o.ETag)})
		}
	}
	return nil
}

// headObject returns the size and ETag of one object; found is false when
// the bucket holds no object of that key.
func headObject(ctx context.Context, client *s3.Client, bucket, key string) (o objectInfo, found bool, err error) {
	out, err := client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nf *types.NotFound
		var api smithy.APIError
		if errors.As(err, &nf) || (errors.As(err, &api) && (api.ErrorCode() == "NotFound" || api.ErrorCode() == "NoSuchKey")) {
			return o, false, nil
		}
		return o, false, err
	}
	return objectInfo{bucket: bucket, key: key, size: aws.ToInt64(out.ContentLength), etag: aws.ToString(out.ETag)}, true, nil
}

// versions returns the versions of the objects l matched, in order.
func (l *pathList) versions() []stages.ObjectVersion {
	var out []stages.ObjectVersion
	for _, p := range l.matched {
		if o, ok := l.objects[p]; ok {
			out = append(out, stages.ObjectVersion{URL: p, Size: o.size, ETag: o.etag})
		}
	}
	return out
}

// The sources that read objects list their versions for the fingerprint.
var (
	_ stages.ObjectVersioner = (*Parquet)(nil)
	_ stages.ObjectVersioner = (*CSV)(nil)
	_ stages.ObjectVersioner = (*JSONL)(nil)
)

// ObjectVersions implements [stages.ObjectVersioner].
func (s *CSV) ObjectVersions() []stages.ObjectVersion { return s.versions }

// ObjectVersions implements [stages.ObjectVersioner].
func (s *JSONL) ObjectVersions() []stages.ObjectVersion { return s.versions }

// ObjectVersions implements [stages.ObjectVersioner].
func (p *Parquet) ObjectVersions() []stages.ObjectVersion {
	var out []stages.ObjectVersion
	for _, f := range p.files {
		if f.obj != nil {
			out = append(out, stages.ObjectVersion{URL: f.path, Size: f.obj.size, ETag: f.obj.etag})
		}
	}
	return out
}

// ErrObjectChanged: an object was replaced after the listing saw it (a
// request conditional on its ETag was refused): reading it would mix
// versions, or read one the job's fingerprint does not hold.
var ErrObjectChanged = errors.New("object changed since it was listed")

// objectChanged wraps err in [ErrObjectChanged] when it is the refusal of
// a request conditional on the ETag etag (412 PreconditionFailed).
func objectChanged(err error, etag string) error {
	var api smithy.APIError
	if etag == "" || !errors.As(err, &api) || api.ErrorCode() != "PreconditionFailed" {
		return err
	}
	return fmt.Errorf("%w (ETag then %s); rerun to read the new version: %w", ErrObjectChanged, etag, err)
}
