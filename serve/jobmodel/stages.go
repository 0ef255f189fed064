package jobmodel

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// The stage types an endpoint's registry adds to the default ones: the
// source that emits requests in place of the job's input, and the sink that
// hands the rows back.
const (
	requestType  = "serve_request"
	responseType = "serve_response"
)

// noConfig is the config of the serving stages: they take none.
type noConfig struct{}

// registry returns the default stage types plus an endpoint's request
// source and response sink, which share the endpoint's queue and flight.
func (e *Endpoint) registry() (*stages.Registry, error) {
	reg := stages.NewRegistry()
	for _, entry := range stages.Default().Entries() {
		if err := stages.RegisterEntry(reg, entry); err != nil {
			return nil, err
		}
	}
	err := stages.Register(reg, stages.Type[noConfig]{
		Name: requestType, Kind: stages.KindSource,
		Spec: stages.Spec{Summary: "The requests of `pipe serve`, in place of the job's input."},
		New: func(_ noConfig, env *stages.Env) (stages.Stage, error) {
			return &requestSource{e: e, mem: env.Mem}, nil
		},
	})
	if err != nil {
		return nil, err
	}
	err = stages.Register(reg, stages.Type[noConfig]{
		Name: responseType, Kind: stages.KindSink,
		Spec: stages.Spec{Summary: "The responses of `pipe serve`."},
		New: func(_ noConfig, env *stages.Env) (stages.Stage, error) {
			return &responseSink{e: e}, nil
		},
	})
	return reg, err
}

// cutOptions cut an endpoint's job between its input and output stages.
func cutOptions(from, to string) pipeline.CutOptions {
	return pipeline.CutOptions{From: from, To: to, Request: requestType, Response: responseType}
}

// maxCoalesceRows bounds the rows of requests the source joins into one
// batch when several are waiting; the model stages batch further.
const maxCoalesceRows = 1024

// requestSource emits the endpoint's queued requests: each waiting call,
// or several joined when more are queued, as one batch. It never ends on
// its own: it returns io.EOF once the endpoint is closed and its queue
// drained.
type requestSource struct {
	e   *Endpoint
	mem memory.Allocator
}

func (s *requestSource) Schema() *arrow.Schema { return s.e.reqSchema }
func (s *requestSource) Close() error          { return nil }

// Next waits for the next live call, then takes any others already queued.
func (s *requestSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	var batch []*call
	rows := int64(0)
	for len(batch) == 0 {
		select {
		case c, ok := <-s.e.queue:
			if !ok {
				return nil, io.EOF
			}
			if s.take(c) {
				batch, rows = append(batch, c), c.rows
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	for rows < maxCoalesceRows {
		select {
		case c, ok := <-s.e.queue:
			if !ok {
				return s.join(batch)
			}
			if s.take(c) {
				batch, rows = append(batch, c), rows+c.rows
			}
			continue
		default:
		}
		break
	}
	return s.join(batch)
}

// take reports whether a call still wants an answer; one whose client left
// or whose deadline passed is answered with that and dropped before it runs.
func (s *requestSource) take(c *call) bool {
	if err := c.ctx.Err(); err != nil {
		s.e.dropped.Add(1)
		c.finish(nil, err)
		return false
	}
	return true
}

// join puts the calls in flight, in order, and returns their rows as one
// batch owned by the caller.
func (s *requestSource) join(calls []*call) (arrow.RecordBatch, error) {
	now := time.Now()
	recs := make([]arrow.RecordBatch, len(calls))
	for i, c := range calls {
		c.started, c.first = now, s.e.pos
		s.e.pos += c.rows
		recs[i] = c.rec
		s.e.flight.push(c)
	}
	if len(calls) == 1 {
		rec := calls[0].rec
		calls[0].rec = nil
		return rec, nil
	}
	out, err := concatRecords(s.mem, s.e.reqSchema, recs)
	for _, c := range calls {
		c.rec.Release()
		c.rec = nil
	}
	return out, err
}

// concatRecords joins batches of one schema into one.
func concatRecords(mem memory.Allocator, schema *arrow.Schema, recs []arrow.RecordBatch) (arrow.RecordBatch, error) {
	cols := make([]arrow.Array, schema.NumFields())
	rows := int64(0)
	for _, r := range recs {
		rows += r.NumRows()
	}
	for i := range cols {
		parts := make([]arrow.Array, len(recs))
		for j, r := range recs {
			parts[j] = r.Column(i)
		}
		col, err := array.Concatenate(parts, mem)
		if err != nil {
			for _, c := range cols[:i] {
				c.Release()
			}
			return nil, fmt.Errorf("join requests: column %q: %w", schema.Field(i).Name, err)
		}
		cols[i] = col
	}
	out := array.NewRecordBatch(schema, cols, rows)
	for _, c := range cols {
		c.Release()
	}
	return out, nil
}

// responseSink hands each call in flight its rows: the graph keeps every
// row once and in order (see [pipeline.Job.Cut]), so the rows arriving are
// the oldest call's, then the next one's.
type responseSink struct {
	e *Endpoint
}

func (s *responseSink) Schema() *arrow.Schema            { return nil }
func (s *responseSink) Close() error                     { return nil }
func (s *responseSink) Commit(ctx context.Context) error { return nil }

// Write splits rec, which is borrowed, among the calls in flight.
func (s *responseSink) Write(ctx context.Context, rec arrow.RecordBatch) error {
	n := rec.NumRows()
	for off := int64(0); off < n; {
		c := s.e.flight.front()
		if c == nil {
			return fmt.Errorf("%d response rows arrived that no request is waiting for: a stage of the served graph emitted rows it did not receive", n-off)
		}
		take := min(c.rows-c.got, n-off)
		c.parts = append(c.parts, rec.NewSlice(off, off+take))
		c.got += take
		off += take
		if c.got == c.rows {
			s.e.flight.pop()
			parts := c.parts
			c.parts = nil
			c.finish(parts, nil)
		}
	}
	return nil
}
