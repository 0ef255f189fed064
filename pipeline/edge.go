package pipeline

import (
	"context"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
)

// DefaultMaxBytesInFlight is the default budget for batches queued between
// stages.
const DefaultMaxBytesInFlight = 256 << 20

// edgeBatches is the most batches one edge queues.
const edgeBatches = 4

// edge is a bounded queue of batches between one producer and one consumer,
// limited both in batches and in bytes. It always admits a batch when it is
// empty, so a batch larger than the byte limit still moves and the pipeline
// cannot deadlock on its budget: like a bounded channel, an edge only blocks
// a producer whose consumer is behind.
type edge struct {
	mu       sync.Mutex
	q        []queued
	bytes    int64
	maxBytes int64
	closed   bool
	notEmpty chan struct{}
	notFull  chan struct{}
}

type queued struct {
	rec  arrow.RecordBatch
	size int64
}

func newEdge(maxBytes int64) *edge {
	if maxBytes < 1 {
		maxBytes = 1
	}
	return &edge{maxBytes: maxBytes, notEmpty: make(chan struct{}, 1), notFull: make(chan struct{}, 1)}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// send queues rec, taking ownership of it on success. On error (the
// context ended) the caller still owns rec.
func (e *edge) send(ctx context.Context, rec arrow.RecordBatch, size int64) error {
	for {
		e.mu.Lock()
		if len(e.q) == 0 || (len(e.q) < edgeBatches && e.bytes+size <= e.maxBytes) {
			e.q = append(e.q, queued{rec, size})
			e.bytes += size
			e.mu.Unlock()
			signal(e.notEmpty)
			return nil
		}
		e.mu.Unlock()
		select {
		case <-e.notFull:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// recv returns the next batch (owned by the caller); ok is false once the
// edge is closed and empty.
func (e *edge) recv(ctx context.Context) (rec arrow.RecordBatch, ok bool, err error) {
	for {
		e.mu.Lock()
		if len(e.q) > 0 {
			it := e.q[0]
			e.q[0] = queued{}
			e.q = e.q[1:]
			e.bytes -= it.size
			e.mu.Unlock()
			signal(e.notFull)
			return it.rec, true, nil
		}
		if e.closed {
			e.mu.Unlock()
			return nil, false, nil
		}
		e.mu.Unlock()
		select {
		case <-e.notEmpty:
		case <-ctx.Done():
			return nil, false, ctx.Err()
		}
	}
}

// close marks the end of input; queued batches can still be received.
func (e *edge) close() {
	e.mu.Lock()
	e.closed = true
	e.mu.Unlock()
	signal(e.notEmpty)
}

// drain releases whatever is still queued, after the run's goroutines ended.
func (e *edge) drain() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, it := range e.q {
		it.rec.Release()
	}
	e.q, e.bytes = nil, 0
}

// recordBytes estimates the memory a batch holds: the sum of its buffers.
func recordBytes(rec arrow.RecordBatch) int64 {
	var n int64
	for _, c := range rec.Columns() {
		n += dataBytes(c.Data())
	}
	return n
}

func dataBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += dataBytes(c)
	}
	if d.DataType().ID() == arrow.DICTIONARY {
		if dict := d.Dictionary(); dict != nil {
			n += dataBytes(dict)
		}
	}
	return n
}
