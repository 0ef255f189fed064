package s3folder

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/pipe-ml/pipe/output"
)

// lease is a lock object this process holds ([output.LockFile]). A
// goroutine of the lease renews it every renewEvery, with a put
// conditional on the ETag it last wrote, until Unlock.
type lease struct {
	f    *Folder
	name string
	stop chan struct{}
	done chan struct{}

	mu     sync.Mutex
	etag   string
	holder []byte // the content last set; a LockHolder gets its Expires renewed
	lost   bool   // a renewal found the object changed: another took it over
}

// newLease returns the lease of name, holding this process as its holder
// until Replace says more.
func (f *Folder) newLease(name string) *lease {
	h := output.LockHolder{Host: hostname(), PID: os.Getpid(), Started: time.Now().UTC().Truncate(time.Second)}
	data, _ := json.Marshal(h)
	return &lease{f: f, name: name, holder: append(data, '\n')}
}

// body returns the content to write: the holder with a fresh expiry when
// it is a LockHolder, else as set.
func (l *lease) body() []byte {
	var h output.LockHolder
	if json.Unmarshal(l.holder, &h) != nil || h.PID == 0 {
		return l.holder
	}
	h.Expires = time.Now().UTC().Add(leaseTTL)
	data, _ := json.Marshal(h)
	return append(data, '\n')
}

// put writes the lease's body with the condition in: If-None-Match: *
// (create), or If-Match on an ETag (renew, take over).
func (l *lease) put(ctx context.Context, ifNoneMatch bool, ifMatch string) error {
	body := l.body()
	in := &s3.PutObjectInput{Bucket: &l.f.bucket, Key: aws.String(l.f.key(l.name)),
		Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body)))}
	if ifNoneMatch {
		in.IfNoneMatch = aws.String("*")
	} else {
		in.IfMatch = aws.String(ifMatch)
	}
	out, err := l.f.client.PutObject(ctx, in)
	if err != nil {
		return l.f.wrap("lock", l.name, err)
	}
	l.etag = aws.ToString(out.ETag)
	return nil
}

// create creates the lock object; one that exists fails with
// [ErrConditionFailed].
func (l *lease) create(ctx context.Context) error { return l.put(ctx, true, "") }

// takeOver replaces the lock object if its holder is stale, conditional on
// the ETag read, so that of two runs taking it over one wins; else the
// lock is held.
func (l *lease) takeOver(ctx context.Context) error {
	h, etag, err := l.f.readLease(ctx, l.name)
	if errors.Is(err, os.ErrNotExist) {
		return l.create(ctx) // released in between
	}
	if err != nil {
		return err
	}
	if !h.stale(time.Now()) {
		return l.f.held(l.name, "an exclusive holder")
	}
	if err := l.put(ctx, false, etag); err != nil {
		if errors.Is(err, ErrConditionFailed) {
			return l.f.held(l.name, "another run took over the stale lock")
		}
		return err
	}
	return nil
}

// start starts the renewals.
func (l *lease) start() {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go l.renew()
}

// renew renews the lease until stopped or lost.
func (l *lease) renew() {
	defer close(l.done)
	t := time.NewTicker(renewEvery)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		ctx, cancel := context.WithTimeout(context.Background(), lockRequestTimeout)
		err := l.put(ctx, false, l.etag)
		cancel()
		if errors.Is(err, ErrConditionFailed) {
			l.lost = true
		}
		lost := l.lost
		l.mu.Unlock()
		if lost {
			return
		}
	}
}

// Replace sets the lock object's content (who holds it) and writes it.
func (l *lease) Replace(data []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.holder = bytes.Clone(data)
	ctx, cancel := context.WithTimeout(context.Background(), lockRequestTimeout)
	defer cancel()
	return l.put(ctx, false, l.etag)
}

// Unlock stops the renewals and deletes the lock object, unless another
// holder took it over.
func (l *lease) Unlock() error {
	if l.stop != nil {
		close(l.stop)
		<-l.done
		l.stop = nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), lockRequestTimeout)
	defer cancel()
	return l.release(ctx)
}

// release deletes the lock object if it is still this lease's.
func (l *lease) release(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost {
		return nil
	}
	l.lost = true
	return l.f.deleteIfMatch(ctx, l.name, l.etag)
}
