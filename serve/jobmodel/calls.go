package jobmodel

import (
	"context"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
)

// call is one request on its way through the graph.
type call struct {
	ctx  context.Context
	rec  arrow.RecordBatch // the request's rows; owned by the call until the source emits it
	rows int64
	// first is the place of the call's first row in its pass's request
	// stream (set by the source).
	first int64
	// enqueued is when Infer queued the call; started when the source
	// emitted it (queue time is the difference).
	enqueued, started time.Time
	// parts are the response rows received so far, retained slices of the
	// sink's batches; got counts their rows.
	parts []arrow.RecordBatch
	got   int64
	done  chan result // buffered: the graph never waits for the caller
}

// result is what the response sink, or a failed pass, hands a call.
type result struct {
	parts []arrow.RecordBatch // owned by the receiver
	err   error
	// finished is when the last row arrived.
	finished time.Time
}

// finish hands the call its result, once. It takes ownership of parts.
func (c *call) finish(parts []arrow.RecordBatch, err error) {
	if c.rec != nil {
		c.rec.Release()
		c.rec = nil
	}
	c.done <- result{parts: parts, err: err, finished: time.Now()}
}

// flight is the calls a pass has emitted and not yet answered, in the order
// the source emitted them: the order their rows reach the response sink.
type flight struct {
	mu    sync.Mutex
	calls []*call
}

func (f *flight) push(c *call) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	f.mu.Unlock()
}

// front returns the oldest unanswered call, or nil.
func (f *flight) front() *call {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) == 0 {
		return nil
	}
	return f.calls[0]
}

// pop removes the oldest call.
func (f *flight) pop() {
	f.mu.Lock()
	f.calls[0] = nil
	f.calls = f.calls[1:]
	f.mu.Unlock()
}

// failAll answers every call in flight with err (a pass that failed or
// ended with rows unanswered), releasing the rows they had received.
func (f *flight) failAll(err error) int {
	f.mu.Lock()
	calls := f.calls
	f.calls = nil
	f.mu.Unlock()
	for _, c := range calls {
		for _, p := range c.parts {
			p.Release()
		}
		c.parts = nil
		c.finish(nil, err)
	}
	return len(calls)
}
