package s3folder

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"

	"github.com/pipe-ml/pipe/output"
)

// Part sizes of an upload ([output.CreateOptions.PartSize]).
const (
	// DefaultPartSize is the part size when none is given.
	DefaultPartSize = 8 << 20
	// MinPartSize is the smallest part S3 takes (but the last).
	MinPartSize = 5 << 20
	// DefaultMaxInFlight is how many parts an upload sends at once when
	// not told: with the part being filled, an upload holds at most
	// (DefaultMaxInFlight+1) x the part size.
	DefaultMaxInFlight = 2
)

// abortTimeout bounds the clean-up of an upload whose context was
// cancelled.
const abortTimeout = 30 * time.Second

// ErrPartSize is wrapped by the error of [Folder.Create] with a part size
// below [MinPartSize].
var ErrPartSize = errors.New("part size below S3's minimum of 5 MiB")

var _ output.Creator = (*Folder)(nil)

// upload is a streaming multipart upload ([output.Upload]). Write fills a
// part buffer; a full one is sent by a goroutine of the upload while the
// next fills, at most maxInFlight at once. Commit sends the last part and
// completes the upload, so the object appears whole; a file smaller than a
// part is one PutObject. Commit and Abort wait for every part sent.
type upload struct {
	f        *Folder
	ctx      context.Context // the requests': Create's, less its cancellation
	cancel   context.CancelFunc
	name     string
	partSize int
	buf      []byte        // the part being filled
	free     chan []byte   // part buffers sent and done with
	slots    chan struct{} // one per part in flight
	id       string        // the multipart upload's id, once created
	next     int32         // number of the next part
	size     int64         // bytes written
	strays   bool          // CreateMultipartUpload was retried: it may have opened other uploads
	ended    bool          // Commit or Abort began
	wg       sync.WaitGroup

	mu    sync.Mutex
	parts []types.CompletedPart
	err   error // the first failure of a part
}

// Create starts a streaming upload of the object name: see
// [output.Creator]. It makes no request until the first part is full.
// The upload's requests carry ctx's values but not its cancellation: a
// sink writes one file under the contexts of several calls, and the one
// that created it may end first. Abort cancels the requests in flight.
func (f *Folder) Create(ctx context.Context, name string, o output.CreateOptions) (output.Upload, error) {
	if err := f.check("put", name); err != nil {
		return nil, err
	}
	size, inFlight := int(o.PartSize), o.MaxInFlight
	if size == 0 {
		size = DefaultPartSize
	}
	if size < MinPartSize {
		return nil, &fs.PathError{Op: "put", Path: f.Path(name), Err: fmt.Errorf("%w: %d bytes", ErrPartSize, size)}
	}
	if inFlight <= 0 {
		inFlight = DefaultMaxInFlight
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	return &upload{f: f, ctx: ctx, cancel: cancel, name: name, partSize: size,
		free: make(chan []byte, inFlight+1), slots: make(chan struct{}, inFlight)}, nil
}

// Write appends p to the object, sending each part as it fills.
func (u *upload) Write(p []byte) (int, error) {
	if u.ended {
		return 0, u.f.wrap("put", u.name, errors.New("write after commit or abort"))
	}
	n := 0
	u.size += int64(len(p))
	for len(p) > 0 {
		k := min(len(p), u.partSize-len(u.buf))
		u.buf = append(u.buf, p[:k]...)
		p, n = p[k:], n+k
		if len(u.buf) == u.partSize {
			if err := u.send(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// send starts sending the full part buffer and takes another: a free one,
// or a new one while fewer than maxInFlight+1 exist.
func (u *upload) send() error {
	if err := u.failed(); err != nil {
		return err
	}
	if u.id == "" {
		out, err := u.f.client.CreateMultipartUpload(u.ctx, &s3.CreateMultipartUploadInput{
			Bucket: &u.f.bucket, Key: aws.String(u.f.key(u.name)), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
		})
		if err != nil {
			return u.f.wrap("put", u.name, err)
		}
		u.id = aws.ToString(out.UploadId)
		u.strays = retried(out.ResultMetadata)
	}
	select {
	case u.slots <- struct{}{}:
	case <-u.ctx.Done():
		return u.f.wrap("put", u.name, u.ctx.Err())
	}
	u.next++
	buf, num := u.buf, u.next
	u.wg.Add(1)
	go u.sendPart(buf, num)
	select {
	case b := <-u.free:
		u.buf = b[:0]
	default:
		u.buf = nil
	}
	return nil
}

// sendPart uploads part num and frees its buffer and slot.
func (u *upload) sendPart(buf []byte, num int32) {
	defer u.wg.Done()
	out, err := u.f.client.UploadPart(u.ctx, &s3.UploadPartInput{
		Bucket: &u.f.bucket, Key: aws.String(u.f.key(u.name)), UploadId: &u.id, PartNumber: aws.Int32(num),
		Body: bytes.NewReader(buf), ContentLength: aws.Int64(int64(len(buf))), ChecksumAlgorithm: types.ChecksumAlgorithmCrc32,
	})
	u.mu.Lock()
	if err != nil && u.err == nil {
		u.err = u.f.wrap("put", u.name, fmt.Errorf("part %d: %w", num, err))
	}
	if err == nil {
		u.parts = append(u.parts, types.CompletedPart{PartNumber: aws.Int32(num), ETag: out.ETag, ChecksumCRC32: out.ChecksumCRC32})
	}
	u.mu.Unlock()
	u.free <- buf
	<-u.slots
}

// failed returns the first failure of a part sent.
func (u *upload) failed() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.err
}

// Commit sends the last part and completes the upload; a file that never
// filled a part is put in one request.
func (u *upload) Commit() error {
	if u.ended {
		return u.f.wrap("put", u.name, errors.New("commit after commit or abort"))
	}
	if u.id == "" {
		u.ended = true
		_, err := u.f.client.PutObject(u.ctx, &s3.PutObjectInput{
			Bucket: &u.f.bucket, Key: aws.String(u.f.key(u.name)),
			Body: bytes.NewReader(u.buf), ContentLength: aws.Int64(int64(len(u.buf))),
		})
		u.buf = nil
		u.cancel()
		return u.f.wrap("put", u.name, err)
	}
	if len(u.buf) > 0 {
		if err := u.send(); err != nil {
			return err
		}
	}
	u.wg.Wait()
	if err := u.failed(); err != nil {
		return err
	}
	u.ended = true
	u.buf = nil
	slices.SortFunc(u.parts, func(a, b types.CompletedPart) int { return int(aws.ToInt32(a.PartNumber) - aws.ToInt32(b.PartNumber)) })
	_, err := u.f.client.CompleteMultipartUpload(u.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: &u.f.bucket, Key: aws.String(u.f.key(u.name)), UploadId: &u.id,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: u.parts},
	})
	if err != nil && u.completedBefore(err) {
		err = nil
	}
	if err != nil {
		u.ended = false // Abort still has the upload to abort
		return u.f.wrap("put", u.name, err)
	}
	u.id = ""
	u.abortStrays()
	u.cancel()
	return nil
}

// abortStrays aborts the uploads of the name other than the one completed
// or aborted, which a retried CreateMultipartUpload may have opened: their
// answers were lost, so nothing else will. A failure is not the file's:
// a rerun, or the bucket's lifecycle rule, drops what is left.
func (u *upload) abortStrays() {
	if !u.strays {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(u.ctx), abortTimeout)
	defer cancel()
	_, _ = u.f.AbortUploads(ctx, func(name string) bool { return name == u.name })
}

// completedBefore reports whether a CompleteMultipartUpload that failed
// with err had in fact completed the upload: the SDK retries a call whose
// answer was lost (a reset connection, a body cut off), and the retry finds
// the upload gone (NoSuchUpload) because the first attempt completed it.
// It did if the object now under the name has the size of the parts sent
// and, where its ETag says how many parts it was made of (MD5-N), their
// number.
func (u *upload) completedBefore(err error) bool {
	var api smithy.APIError
	if !errors.As(err, &api) || api.ErrorCode() != "NoSuchUpload" {
		return false
	}
	out, herr := u.f.client.HeadObject(u.ctx, &s3.HeadObjectInput{Bucket: &u.f.bucket, Key: aws.String(u.f.key(u.name))})
	if herr != nil || aws.ToInt64(out.ContentLength) != u.size {
		return false
	}
	etag := strings.Trim(aws.ToString(out.ETag), `"`)
	if i := strings.LastIndexByte(etag, '-'); i >= 0 {
		return etag[i+1:] == strconv.Itoa(len(u.parts))
	}
	return true
}

// Abort cancels the parts in flight, waits for them and aborts the
// multipart upload, so that nothing appears and the server drops what was
// sent.
func (u *upload) Abort() error {
	u.ended = true
	u.buf = nil
	u.cancel()
	u.wg.Wait()
	if u.id == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(u.ctx), abortTimeout)
	defer cancel()
	_, err := u.f.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: &u.f.bucket, Key: aws.String(u.f.key(u.name)), UploadId: &u.id,
	})
	u.id = ""
	u.abortStrays()
	return u.f.wrap("abort upload of", u.name, err)
}

// AbortUploads aborts the multipart uploads open in the folder whose names
// (relative to the folder, as for [Folder.Create]) match: those a killed
// run left behind, which never become objects but take space until
// aborted. It returns how many it aborted.
func (f *Folder) AbortUploads(ctx context.Context, match func(name string) bool) (int, error) {
	in := &s3.ListMultipartUploadsInput{Bucket: &f.bucket, Prefix: aws.String(f.prefix)}
	n := 0
	for {
		out, err := f.client.ListMultipartUploads(ctx, in)
		if err != nil {
			return n, f.wrap("list uploads", "", err)
		}
		for _, up := range out.Uploads {
			name, ok := strings.CutPrefix(aws.ToString(up.Key), f.prefix)
			if !ok || !match(name) {
				continue
			}
			_, err := f.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &f.bucket, Key: up.Key, UploadId: up.UploadId})
			if err != nil && !errors.Is(f.wrap("", name, err), fs.ErrNotExist) {
				return n, f.wrap("abort upload of", name, err)
			}
			n++
		}
		if !aws.ToBool(out.IsTruncated) {
			return n, nil
		}
		in.KeyMarker, in.UploadIdMarker = out.NextKeyMarker, out.NextUploadIdMarker
	}
}
