package s3conf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// The SDK retries a request until its response headers arrive; a body cut
// off after them (a reset connection, a proxy timing out, a truncated
// response) surfaces as an error of the body's Read. The readers here
// resume such a body with a ranged GET from the first byte not yet read,
// conditional on the object's ETag, so that what they return is the one
// version of the object, whole, or an error.

// ErrBodyCut is wrapped by the error of a body that was cut off more often
// than [MaxAttempts] allows.
var ErrBodyCut = errors.New("object body cut off")

// Getter is the one call of an S3 client the readers make.
type Getter interface {
	GetObject(ctx context.Context, in *s3.GetObjectInput, opts ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// backoff is the wait before resume attempt n (1-based): 50 ms doubling,
// capped at 2 s.
func backoff(n int) time.Duration { return min(50*time.Millisecond<<(n-1), 2*time.Second) }

// GetBody returns a reader of the object's bytes from off to its end that
// resumes a body cut off mid-way, and the first response (for its
// headers). etag, when not empty, makes every request conditional on it;
// without it the first response's ETag is used for the resumed ones.
func GetBody(ctx context.Context, c Getter, bucket, key, etag string, off int64) (io.ReadCloser, *s3.GetObjectOutput, error) {
	r := &resumingBody{ctx: ctx, c: c, bucket: bucket, key: key, etag: etag, off: off}
	out, err := r.get()
	if err != nil {
		return nil, nil, err
	}
	if r.etag == "" {
		r.etag = aws.ToString(out.ETag)
	}
	return r, out, nil
}

// resumingBody is the reader of [GetBody].
type resumingBody struct {
	ctx         context.Context
	c           Getter
	bucket, key string
	etag        string
	off         int64 // the next byte's offset in the object
	body        io.ReadCloser
	cuts        int
}

// get issues the GET of the bytes from r.off on.
func (r *resumingBody) get() (*s3.GetObjectOutput, error) {
	in := &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key)}
	if r.off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.off))
	}
	if r.etag != "" {
		in.IfMatch = aws.String(r.etag)
	}
	out, err := r.c.GetObject(r.ctx, in)
	if err != nil {
		return nil, err
	}
	r.body = out.Body
	return out, nil
}

func (r *resumingBody) Read(p []byte) (int, error) {
	for {
		n, err := r.body.Read(p)
		r.off += int64(n)
		switch {
		case err == nil || errors.Is(err, io.EOF):
			return n, err
		case n > 0:
			return n, nil // the next Read meets the error again, and resumes
		}
		if err := r.resume(err); err != nil {
			return 0, err
		}
	}
}

// resume replaces a body that failed with cause by a new ranged GET, after
// a backoff, unless the attempts are spent or the context is done.
func (r *resumingBody) resume(cause error) error {
	r.body.Close()
	r.cuts++
	if r.cuts >= MaxAttempts {
		return fmt.Errorf("s3://%s/%s: %w at byte %d %d times: %w", r.bucket, r.key, ErrBodyCut, r.off, r.cuts, cause)
	}
	select {
	case <-time.After(backoff(r.cuts)):
	case <-r.ctx.Done():
		return r.ctx.Err()
	}
	if _, err := r.get(); err != nil {
		r.body = io.NopCloser(eofReader{})
		return fmt.Errorf("s3://%s/%s: resume at byte %d after %v: %w", r.bucket, r.key, r.off, cause, err)
	}
	return nil
}

func (r *resumingBody) Close() error { return r.body.Close() }

// eofReader reads nothing, forever.
type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// ReadRange fills p with the object's bytes at off by ranged GETs
// conditional on etag (when not empty), resuming a body cut off mid-way.
func ReadRange(ctx context.Context, c Getter, bucket, key, etag string, p []byte, off int64) error {
	end := off + int64(len(p)) - 1
	in := &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Range: aws.String(fmt.Sprintf("bytes=%d-%d", off, end))}
	if etag != "" {
		in.IfMatch = aws.String(etag)
	}
	var done int
	for cut := 0; ; cut++ {
		out, err := c.GetObject(ctx, in)
		if err != nil {
			return err
		}
		n, err := io.ReadFull(out.Body, p[done:])
		out.Body.Close()
		done += n
		if err == nil {
			return nil
		}
		if cut+1 >= MaxAttempts {
			return fmt.Errorf("%w at byte %d of %d-%d %d times: %w", ErrBodyCut, off+int64(done), off, end, cut+1, err)
		}
		select {
		case <-time.After(backoff(cut + 1)):
		case <-ctx.Done():
			return ctx.Err()
		}
		in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off+int64(done), end))
	}
}
