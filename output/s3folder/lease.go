package s3folder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/output"
)

// Lease timing of the lock objects ([Folder.Lock]).
const (
	// LeaseTTL is how long a lock object stays valid after its holder last
	// renewed it: a holder that died on another host is taken over once
	// this has passed.
	LeaseTTL = 60 * time.Second
	// lockRequestTimeout bounds each request of a renewal or release,
	// which have no context of their own.
	lockRequestTimeout = 30 * time.Second
)

// The lease timing in use: LeaseTTL, and how often a holder renews its
// lock objects. Tests shorten them (export_test.go).
var (
	leaseTTL   = LeaseTTL
	renewEvery = LeaseTTL / 4
)

// sharedSuffix ends the folder of a lock's shared holders: shared holder X
// of lock NAME is the object NAME.shared/X.
const sharedSuffix = ".shared"

var _ output.Locker = (*Folder)(nil)

// Lock takes the lock object name, exclusively or shared, with a
// conditional put (If-None-Match: *): see the package comment. With wait
// it retries, every second or so, until it holds the lock or ctx ends.
func (f *Folder) Lock(ctx context.Context, name string, exclusive, wait bool) (output.LockFile, error) {
	if err := f.check("lock", name); err != nil {
		return nil, err
	}
	for {
		var l *lease
		var err error
		if exclusive {
			l, err = f.lockExclusive(ctx, name)
		} else {
			l, err = f.lockShared(ctx, name)
		}
		if err == nil {
			l.start()
			return l, nil
		}
		if !wait || !errors.Is(err, output.ErrLockHeld) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(500+rand.IntN(1000)) * time.Millisecond):
		}
	}
}

// lockExclusive creates name, or takes it over from a stale holder, then
// makes sure no live shared holder exists.
func (f *Folder) lockExclusive(ctx context.Context, name string) (*lease, error) {
	l := f.newLease(name)
	err := l.create(ctx)
	if errors.Is(err, ErrConditionFailed) {
		err = l.takeOver(ctx)
	}
	if err != nil {
		return nil, err
	}
	if f.liveShared(ctx, name) {
		_ = l.release(ctx)
		return nil, f.held(name, "shared holders")
	}
	return l, nil
}

// lockShared creates this holder's object in name's shared folder, then
// makes sure no live exclusive holder exists (a stale one is removed).
func (f *Folder) lockShared(ctx context.Context, name string) (*lease, error) {
	me := fmt.Sprintf("%s-%d-%08x", hostname(), os.Getpid(), rand.Uint32())
	l := f.newLease(name + sharedSuffix + "/" + me)
	if err := l.create(ctx); err != nil {
		return nil, err
	}
	h, etag, err := f.readLease(ctx, name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return l, nil
	case err == nil && h.stale(time.Now()):
		_ = f.deleteIfMatch(ctx, name, etag)
		return l, nil
	}
	_ = l.release(ctx)
	if err != nil {
		return nil, err
	}
	return nil, f.held(name, "an exclusive holder")
}

// held is the error of a lock another holder keeps.
func (f *Folder) held(name, who string) error {
	return &fs.PathError{Op: "lock", Path: f.Path(name), Err: fmt.Errorf("%w (%s)", output.ErrLockHeld, who)}
}

// Held reports whether a live holder keeps name: exclusively, or with
// anyMode in either mode. A stale lock object is not held.
func (f *Folder) Held(ctx context.Context, name string, anyMode bool) bool {
	if h, _, err := f.readLease(ctx, name); err == nil && !h.stale(time.Now()) {
		return true
	}
	return anyMode && f.liveShared(ctx, name)
}

// liveShared reports whether a live shared holder of name exists; stale
// ones are removed on the way.
func (f *Folder) liveShared(ctx context.Context, name string) bool {
	ents, _ := f.List(ctx, name+sharedSuffix)
	for _, e := range ents {
		n := name + sharedSuffix + "/" + e.Name
		h, etag, err := f.readLease(ctx, n)
		if err == nil && h.stale(time.Now()) {
			_ = f.deleteIfMatch(ctx, n, etag)
			continue
		}
		if err == nil {
			return true
		}
	}
	return false
}

// leaseHolder is a lock object's content: who holds it, and until when.
// A content that is not a holder (written by Replace) is never stale.
type leaseHolder struct {
	output.LockHolder
	parsed bool
}

// stale reports whether the holder's lease expired, or the holder was a
// process on this host that is gone.
func (h leaseHolder) stale(now time.Time) bool {
	if !h.parsed {
		return false
	}
	if !h.Expires.IsZero() && now.After(h.Expires) {
		return true
	}
	return h.Host == hostname() && h.PID > 0 && h.PID != os.Getpid() && !processAlive(h.PID)
}

// readLease reads the lock object name and its ETag.
func (f *Folder) readLease(ctx context.Context, name string) (leaseHolder, string, error) {
	out, err := f.client.GetObject(ctx, &s3.GetObjectInput{Bucket: &f.bucket, Key: aws.String(f.key(name))})
	if err != nil {
		return leaseHolder{}, "", f.wrap("get", name, err)
	}
	defer out.Body.Close()
	var h leaseHolder
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(out.Body); err != nil {
		return leaseHolder{}, "", f.wrap("get", name, err)
	}
	h.parsed = json.Unmarshal(buf.Bytes(), &h.LockHolder) == nil && h.PID != 0
	return h, aws.ToString(out.ETag), nil
}

// deleteIfMatch deletes name if it still has etag (re-read first: an
// unconditional delete is what S3-compatible servers all support).
func (f *Folder) deleteIfMatch(ctx context.Context, name, etag string) error {
	if _, now, err := f.readLease(ctx, name); err != nil || now != etag {
		return err
	}
	_, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: &f.bucket, Key: aws.String(f.key(name))})
	return f.wrap("delete", name, err)
}

var host = sync.OnceValue(func() string { h, _ := os.Hostname(); return h })

// hostname is this host's name, read once.
func hostname() string { return host() }
