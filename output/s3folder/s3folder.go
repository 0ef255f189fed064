package s3folder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"slices"
	"strings"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/pipe-ml/pipe/internal/s3conf"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// MaxAttempts is the number of attempts the SDK's standard retryer makes
// for one call (see [s3conf.MaxAttempts]).
const MaxAttempts = s3conf.MaxAttempts

// Options configure [Open]. The zero value talks to AWS S3 in the region the
// environment or shared config names.
type Options struct {
	// Endpoint is the S3 endpoint URL ("http://127.0.0.1:7070"); empty
	// for AWS S3 or AWS_ENDPOINT_URL.
	Endpoint string
	// Region overrides the region of the environment or shared config.
	Region string
	// PathStyle addresses buckets as ENDPOINT/BUCKET rather than
	// BUCKET.ENDPOINT (most servers other than AWS need it).
	PathStyle bool
	// Profile is the shared config profile; empty for the default.
	Profile string
	// Conditional lists the names whose writes are conditional puts; nil
	// means just `_manifest.json`.
	Conditional []string
}

// Folder is an [output.Folder] over the keys of a bucket under a prefix,
// with locks ([output.Locker]) that are lease objects and streamed writes
// ([output.Creator]): see the package comment. It is safe for concurrent
// use.
type Folder struct {
	client *s3.Client
	bucket string
	prefix string // "" or ending in "/"
	cond   map[string]bool

	mu    sync.Mutex
	etags map[string]string // name → ETag last seen, "" for seen missing
}

var _ output.Folder = (*Folder)(nil)

// ErrConditionFailed is wrapped by the error of a conditional write whose
// object changed since this Folder saw it (or appeared, for a first write).
var ErrConditionFailed = errors.New("object changed since it was read")

// ParseURL splits `s3://bucket/prefix` into bucket and key prefix ("" or
// ending in "/").
func ParseURL(raw string) (bucket, prefix string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	if u.Scheme != "s3" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", "", fmt.Errorf("%q: want s3://bucket/prefix", raw)
	}
	prefix = strings.Trim(u.Path, "/")
	if prefix != "" {
		if !fs.ValidPath(prefix) {
			return "", "", fmt.Errorf("%q: prefix %q is not a clean path", raw, prefix)
		}
		prefix += "/"
	}
	return u.Host, prefix, nil
}

// Open returns the Folder of rawURL (`s3://bucket/prefix`), with a client
// built from the SDK's default config: the standard credential chain, and
// o's endpoint, region and addressing. It makes no request.
func Open(ctx context.Context, rawURL string, o Options) (*Folder, error) {
	bucket, prefix, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	client, err := s3conf.NewClient(ctx, s3conf.Options{Endpoint: o.Endpoint, Region: o.Region, PathStyle: o.PathStyle, Profile: o.Profile})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", rawURL, err)
	}
	return New(client, bucket, prefix, o.Conditional), nil
}

// New returns the Folder of the keys under prefix ("" or ending in "/") in
// bucket, through client (whose retryer it extends to retry answers cut
// off mid-body, [retryCutAnswers]); conditional is as
// [Options.Conditional].
func New(client *s3.Client, bucket, prefix string, conditional []string) *Folder {
	if conditional == nil {
		conditional = []string{stages.ManifestFile}
	}
	f := &Folder{client: withCutRetries(client), bucket: bucket, prefix: prefix, cond: map[string]bool{}, etags: map[string]string{}}
	for _, n := range conditional {
		f.cond[n] = true
	}
	return f
}

// key returns the object key of name.
func (f *Folder) key(name string) string { return f.prefix + name }

// Path returns the s3:// URL of name; Path("") is the folder's, without a
// trailing slash.
func (f *Folder) Path(name string) string {
	if name == "" {
		return "s3://" + f.bucket + "/" + strings.TrimSuffix(f.prefix, "/")
	}
	return "s3://" + f.bucket + "/" + f.key(name)
}

// check refuses names that are not clean relative paths ("a/../b", "/a").
func (f *Folder) check(op, name string) error {
	if name != "" && !fs.ValidPath(name) {
		return &fs.PathError{Op: op, Path: f.Path(name), Err: fs.ErrInvalid}
	}
	return nil
}

// List returns the entries of folder dir: its objects as plain files and
// its common prefixes as folders, sorted by name. A missing folder is
// empty.
func (f *Folder) List(ctx context.Context, dir string) ([]output.Entry, error) {
	if err := f.check("list", dir); err != nil {
		return nil, err
	}
	prefix := f.prefix
	if dir != "" {
		prefix = f.key(dir) + "/"
	}
	var out []output.Entry
	p := s3.NewListObjectsV2Paginator(f.client, &s3.ListObjectsV2Input{
		Bucket: &f.bucket, Prefix: &prefix, Delimiter: aws.String("/"),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, f.wrap("list", dir, err)
		}
		for _, o := range page.Contents {
			// A key equal to the prefix is a folder marker, not an entry.
			if n := strings.TrimPrefix(aws.ToString(o.Key), prefix); n != "" {
				out = append(out, output.Entry{Name: n})
			}
		}
		for _, cp := range page.CommonPrefixes {
			n := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), prefix), "/")
			out = append(out, output.Entry{Name: n, Type: fs.ModeDir})
		}
	}
	// S3 sorts keys, not names: "a-b" comes before the prefix "a/".
	slices.SortStableFunc(out, func(a, b output.Entry) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Stat describes name: a plain file if it is an object, a folder if keys
// lie under NAME/; else an error wrapping [fs.ErrNotExist].
func (f *Folder) Stat(ctx context.Context, name string) (output.Entry, error) {
	if err := f.check("stat", name); err != nil {
		return output.Entry{}, err
	}
	base := name[strings.LastIndex(name, "/")+1:]
	if name == "" {
		return output.Entry{Name: ".", Type: fs.ModeDir}, nil
	}
	_, err := f.head(ctx, name)
	if err == nil {
		return output.Entry{Name: base}, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return output.Entry{}, err
	}
	if isDir, derr := f.hasKeysUnder(ctx, name); derr != nil || !isDir {
		return output.Entry{}, errors.Join(err, derr)
	}
	return output.Entry{Name: base, Type: fs.ModeDir}, nil
}

// hasKeysUnder reports whether any key lies under NAME/.
func (f *Folder) hasKeysUnder(ctx context.Context, name string) (bool, error) {
	out, err := f.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: &f.bucket, Prefix: aws.String(f.key(name) + "/"), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return false, f.wrap("list", name, err)
	}
	return len(out.Contents) > 0, nil
}

// head returns name's HeadObject, noting its ETag for conditional names.
func (f *Folder) head(ctx context.Context, name string) (*s3.HeadObjectOutput, error) {
	out, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: &f.bucket, Key: aws.String(f.key(name))})
	if err != nil {
		err = f.wrap("head", name, err)
		if errors.Is(err, fs.ErrNotExist) {
			f.saw(name, "")
		}
		return nil, err
	}
	f.saw(name, aws.ToString(out.ETag))
	return out, nil
}

// Size returns the size of the object name.
func (f *Folder) Size(ctx context.Context, name string) (int64, error) {
	if err := f.check("size", name); err != nil {
		return 0, err
	}
	out, err := f.head(ctx, name)
	if err != nil {
		return 0, err
	}
	return aws.ToInt64(out.ContentLength), nil
}

// ReadFile returns the contents of the object name.
func (f *Folder) ReadFile(ctx context.Context, name string) ([]byte, error) {
	r, err := f.Open(ctx, name)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, f.wrap("read", name, err)
	}
	return data, nil
}

// Open returns the body of the object name. A body cut off mid-way is
// resumed from the first byte not read, on the same version of the object
// ([s3conf.GetBody]).
func (f *Folder) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if err := f.check("get", name); err != nil {
		return nil, err
	}
	body, out, err := s3conf.GetBody(ctx, f.client, f.bucket, f.key(name), "", 0)
	if err != nil {
		err = f.wrap("get", name, err)
		if errors.Is(err, fs.ErrNotExist) {
			f.saw(name, "")
		}
		return nil, err
	}
	f.saw(name, aws.ToString(out.ETag))
	return body, nil
}

// saw notes the ETag of name ("" for missing) when its writes are
// conditional.
func (f *Folder) saw(name, etag string) {
	if !f.cond[name] {
		return
	}
	f.mu.Lock()
	f.etags[name] = etag
	f.mu.Unlock()
}

// WriteFileAtomic puts data as the object name in one PutObject, which a
// reader sees whole or not at all. For a conditional name the put is
// If-Match on the ETag last seen (by any call of this Folder), or
// If-None-Match: * if it was seen missing; never seen, it is looked up
// first.
func (f *Folder) WriteFileAtomic(ctx context.Context, name string, data []byte) error {
	if err := f.check("put", name); err != nil {
		return err
	}
	in := &s3.PutObjectInput{
		Bucket: &f.bucket, Key: aws.String(f.key(name)),
		Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
	}
	if f.cond[name] {
		etag, err := f.lastETag(ctx, name)
		if err != nil {
			return err
		}
		if etag == "" {
			in.IfNoneMatch = aws.String("*")
		} else {
			in.IfMatch = aws.String(etag)
		}
	}
	out, err := f.client.PutObject(ctx, in)
	if err != nil {
		err = f.wrap("put", name, err)
		if errors.Is(err, ErrConditionFailed) {
			f.forget(name)
			if f.holds(ctx, name, data) {
				return nil // a retry of our own put, which had succeeded
			}
		}
		return err
	}
	f.saw(name, aws.ToString(out.ETag))
	return nil
}

// holds reports whether the object name holds exactly data. A conditional
// put whose answer was lost after it succeeded is retried by the SDK, and
// the retry fails its condition against the object the first attempt
// wrote: that object holding our bytes means the write is done. (Another
// writer that put the very same bytes did the same write.)
func (f *Folder) holds(ctx context.Context, name string, data []byte) bool {
	got, err := f.ReadFile(ctx, name)
	return err == nil && bytes.Equal(got, data)
}

// lastETag returns the ETag last seen for name, looking it up if none was.
func (f *Folder) lastETag(ctx context.Context, name string) (string, error) {
	f.mu.Lock()
	etag, ok := f.etags[name]
	f.mu.Unlock()
	if ok {
		return etag, nil
	}
	out, err := f.head(ctx, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", nil
	case err != nil:
		return "", err
	}
	return aws.ToString(out.ETag), nil
}

// forget drops the ETag seen for name, so that the next write looks again.
func (f *Folder) forget(name string) {
	f.mu.Lock()
	delete(f.etags, name)
	f.mu.Unlock()
}

// WriteMarker puts the empty object name.
func (f *Folder) WriteMarker(ctx context.Context, name string) error {
	if err := f.check("put", name); err != nil {
		return err
	}
	_, err := f.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket: &f.bucket, Key: aws.String(f.key(name)),
		Body: bytes.NewReader(nil), ContentLength: aws.Int64(0),
	})
	return f.wrap("put", name, err)
}

// Remove deletes the object name. A missing one (S3's DeleteObject
// succeeds on missing keys, so it is looked up first) is an error wrapping
// [fs.ErrNotExist]; a folder (keys under NAME/) is not empty and is refused.
func (f *Folder) Remove(ctx context.Context, name string) error {
	if err := f.check("delete", name); err != nil {
		return err
	}
	if name == "" {
		return &fs.PathError{Op: "delete", Path: f.Path(name), Err: fs.ErrInvalid}
	}
	if _, err := f.head(ctx, name); err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		if isDir, derr := f.hasKeysUnder(ctx, name); derr != nil || !isDir {
			return errors.Join(err, derr)
		}
		return &fs.PathError{Op: "delete", Path: f.Path(name), Err: errFolderNotEmpty}
	}
	_, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &f.bucket, Key: aws.String(f.key(name))})
	if err == nil {
		f.forget(name)
	}
	return f.wrap("delete", name, err)
}

var errFolderNotEmpty = errors.New("folder not empty")

// RemoveAll deletes the object name and every key under NAME/, listing
// them and deleting them 1,000 at a time; nothing there is not an error.
func (f *Folder) RemoveAll(ctx context.Context, name string) error {
	if err := f.check("delete", name); err != nil {
		return err
	}
	prefix := f.prefix
	if name != "" {
		prefix = f.key(name) + "/"
		if err := f.deleteKeys(ctx, name, []string{f.key(name)}); err != nil {
			return err
		}
	}
	p := s3.NewListObjectsV2Paginator(f.client, &s3.ListObjectsV2Input{Bucket: &f.bucket, Prefix: &prefix})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return f.wrap("list", name, err)
		}
		keys := make([]string, 0, len(page.Contents))
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
		if err := f.deleteKeys(ctx, name, keys); err != nil {
			return err
		}
	}
	f.mu.Lock()
	for n := range f.etags { // what lay at or under name is gone
		if name == "" || n == name || strings.HasPrefix(n, name+"/") {
			delete(f.etags, n)
		}
	}
	f.mu.Unlock()
	return nil
}

// deleteKeys deletes up to 1,000 keys in one DeleteObjects call.
func (f *Folder) deleteKeys(ctx context.Context, name string, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	ids := make([]types.ObjectIdentifier, len(keys))
	for i, k := range keys {
		ids[i] = types.ObjectIdentifier{Key: aws.String(k)}
	}
	out, err := f.client.DeleteObjects(ctx, &s3.DeleteObjectsInput{
		Bucket: &f.bucket, Delete: &types.Delete{Objects: ids, Quiet: aws.Bool(true)},
	})
	if err != nil {
		return f.wrap("delete", name, err)
	}
	if len(out.Errors) > 0 {
		e := out.Errors[0]
		return &fs.PathError{Op: "delete", Path: "s3://" + f.bucket + "/" + aws.ToString(e.Key),
			Err: fmt.Errorf("%s: %s (and %d more failed)", aws.ToString(e.Code), aws.ToString(e.Message), len(out.Errors)-1)}
	}
	return nil
}

// MkdirAll does nothing: a bucket has no folders, only key prefixes.
func (f *Folder) MkdirAll(ctx context.Context, name string) error { return f.check("mkdir", name) }

// Sync does nothing: a put or delete is durable when it returns.
func (f *Folder) Sync(ctx context.Context, dir string) error { return f.check("sync", dir) }
