package model

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

// Runner is what the stage needs from whatever runs the model: the
// executor (shared pools, admission, retries, fallback) when the job
// provides one, or a plain session.
type Runner interface {
	Info() bridge.ModelInfo
	Placement() (backend, reason string)
	// Submit starts one model call; in is borrowed until the call is done.
	Submit(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) (Call, error)
	Close() error
}

// Call is one model call in flight.
type Call interface {
	Done() <-chan struct{}
	// Result is valid after Done; outputs are owned by the caller.
	Result() ([]bridge.Tensor, error)
	// Ran is valid after Done: how long a backend worked on the call,
	// from the start of its first attempt to its end (retries included,
	// the wait in the queue not).
	Ran() time.Duration
}

// autoOrder is the backend preference of `backends: [auto]`.
var autoOrder = []string{"ane", "mps", "metal", "cpu"}

// sessionRunner runs a model on one plain session of the first backend
// that can take it. Each call runs on its own goroutine, which the stage
// waits for before it returns; at most `instances` of them run at once.
// Which waiting call starts first does not matter: the stage takes results
// in submission order.
type sessionRunner struct {
	sess            bridge.Session
	backend, reason string
	slots           chan struct{} // one token per running call
}

func openSession(ctx context.Context, path string, prefs []string, strict bool, instances int, opts bridge.Options) (*sessionRunner, error) {
	cands := prefs
	auto := len(prefs) == 1 && prefs[0] == "auto"
	if auto {
		cands = autoOrder
	}
	ext := strings.ToLower(filepath.Ext(path))
	var skipped []string
	for i, name := range cands {
		b, err := bridge.Lookup(name)
		if err != nil {
			if auto {
				continue
			}
			return nil, err
		}
		if err := b.Available(); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		if f := b.Capabilities().Formats; len(f) > 0 && !slices.Contains(f, ext) {
			skipped = append(skipped, fmt.Sprintf("%s: does not open %s models", name, ext))
			continue
		}
		if strict && i > 0 && !auto {
			return nil, fmt.Errorf("strict: backend %s is not usable (%s) and fallback is disabled", cands[0], strings.Join(skipped, "; "))
		}
		sess, err := b.Open(ctx, path, opts)
		if err != nil {
			if bridge.ClassOf(err) == bridge.ClassModelCorrupt || bridge.ClassOf(err) == bridge.ClassInvalidInput {
				return nil, err
			}
			skipped = append(skipped, fmt.Sprintf("%s: %v", name, err))
			continue
		}
		reason := "first in the list"
		if auto {
			reason = "auto"
		}
		if len(skipped) > 0 {
			reason += "; skipped " + strings.Join(skipped, "; ")
		}
		return &sessionRunner{sess: sess, backend: name, reason: reason, slots: make(chan struct{}, max(instances, 1))}, nil
	}
	return nil, fmt.Errorf("no backend can run %s: %s", filepath.Base(path), strings.Join(skipped, "; "))
}

func (r *sessionRunner) Info() bridge.ModelInfo      { return r.sess.Info() }
func (r *sessionRunner) Placement() (string, string) { return r.backend, r.reason }
func (r *sessionRunner) Close() error                { return r.sess.Close() }

func (r *sessionRunner) Submit(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) (Call, error) {
	c := &directCall{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		select {
		case r.slots <- struct{}{}:
		case <-ctx.Done():
			c.err = ctx.Err()
			return
		}
		defer func() { <-r.slots }()
		defer func() {
			// A backend's panic fails the call (and so the stage), not the
			// process.
			if p := recover(); p != nil {
				c.out, c.err = nil, fmt.Errorf("panic running the model on %s: %v\n%s", r.backend, p, debug.Stack())
			}
		}()
		t := time.Now()
		c.out, c.err = r.sess.Run(ctx, in, mem)
		c.ran = time.Since(t)
	}()
	return c, nil
}

type directCall struct {
	done chan struct{}
	out  []bridge.Tensor
	err  error
	ran  time.Duration
}

func (c *directCall) Done() <-chan struct{}            { return c.done }
func (c *directCall) Result() ([]bridge.Tensor, error) { return c.out, c.err }
func (c *directCall) Ran() time.Duration               { return c.ran }
