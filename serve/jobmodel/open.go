package jobmodel

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/pipeline"
)

// Ends name the stages a served job's requests replace and its responses
// come from. Empty fields take the job's only source, and the stage its
// only sink reads.
type Ends struct {
	Input, Output string
}

// resolve fills the defaults of ends from the job.
func (ends Ends) resolve(job *pipeline.Job) (Ends, error) {
	if ends.Input == "" {
		srcs := job.Sources(nil)
		if len(srcs) != 1 {
			return ends, fmt.Errorf("%w: the job has %d sources; say which one requests replace (--input)", pipeline.ErrNotServable, len(srcs))
		}
		ends.Input = srcs[0]
	}
	if ends.Output == "" {
		sinks := job.Sinks(nil)
		if len(sinks) != 1 || len(job.Stage(sinks[0]).Inputs) != 1 {
			return ends, fmt.Errorf("%w: the job has %d sinks; say which stage answers requests (--output)", pipeline.ErrNotServable, len(sinks))
		}
		ends.Output = job.Stage(sinks[0]).Inputs[0]
	}
	return ends, nil
}

// shape is what building the job once tells about the part to serve: the
// schemas of its ends and of every model stage's input and output.
type shape struct {
	req    *arrow.Schema
	models []modelShape
}

// modelShape is a model stage's: the columns its model reads (all its
// input's when it does not say).
type modelShape struct {
	id, input string
	req       *arrow.Schema
	reads     bool // req holds only the columns read
}

// learnShape builds the part of the job between ends, its input stage as
// written (a file source reads its files' schema), and closes it.
func learnShape(job *pipeline.Job, ends Ends, o Options) (*shape, error) {
	cut, err := job.Cut(pipeline.CutOptions{From: ends.Input, To: ends.Output})
	if err != nil {
		return nil, err
	}
	p, err := pipeline.Build(cut, pipeline.BuildOptions{Log: o.Log, Mem: o.Mem})
	if err != nil {
		return nil, fmt.Errorf("build the job to learn the request's columns (its input stage %q is built as written): %w", ends.Input, err)
	}
	defer p.Close()
	sh := &shape{}
	sh.req, _ = p.Schema(ends.Input)
	for _, id := range p.StagesOfType("model") {
		_, in := p.Schema(id)
		if len(in) != 1 {
			continue
		}
		m := modelShape{id: id, input: cut.Stage(id).Inputs[0], req: in[0]}
		if cols, ok := p.ReadColumns(id); ok {
			m.req, m.reads = project(in[0], cols), true
		}
		sh.models = append(sh.models, m)
	}
	return sh, nil
}

// project returns the fields of s named in cols, in s's order.
func project(s *arrow.Schema, cols []string) *arrow.Schema {
	var fs []arrow.Field
	for _, f := range s.Fields() {
		if slices.Contains(cols, f.Name) {
			fs = append(fs, f)
		}
	}
	return arrow.NewSchema(fs, nil)
}

// Open makes the endpoints of a job: one named after the job (its name,
// or "pipeline") answering with the whole graph between ends, and with
// o.Models one per model stage named after the stage. Each builds its
// graph, loads its models and warms up before Open returns; Close each
// when done.
func Open(ctx context.Context, job *pipeline.Job, ends Ends, o Options) ([]*Endpoint, error) {
	ends, err := ends.resolve(job)
	if err != nil {
		return nil, err
	}
	sh, err := learnShape(job, ends, o)
	if err != nil {
		return nil, err
	}
	name := job.Name
	if name == "" {
		name = "pipeline"
	}
	plans := []modelShape{{id: name, input: ends.Input, req: sh.req}}
	if o.Models {
		for _, m := range sh.models {
			if m.id != name {
				plans = append(plans, m)
			}
		}
	}
	var eps []*Endpoint
	for i, pl := range plans {
		to := pl.id
		if i == 0 {
			to = ends.Output
		}
		ep, err := openEndpoint(ctx, job, pl, to, o)
		if err != nil {
			for _, e := range eps {
				_ = e.Close(ctx)
			}
			return nil, err
		}
		eps = append(eps, ep)
	}
	return eps, nil
}

func openEndpoint(ctx context.Context, job *pipeline.Job, m modelShape, to string, o Options) (*Endpoint, error) {
	cut, err := job.Cut(cutOptions(m.input, to))
	if err != nil {
		return nil, fmt.Errorf("endpoint %s: %w", m.id, err)
	}
	if m.reads {
		// The model's own endpoint passes through only what it reads.
		st := cut.Stage(to)
		st.With = withoutKey(st.With, "keep")
	}
	ep := newEndpoint(m.id, to, cut, m.req, o)
	if err := ep.start(ctx); err != nil {
		return nil, errors.Join(err, ep.Close(ctx))
	}
	return ep, nil
}

// withoutKey returns a copy of a mapping node without key.
func withoutKey(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return n
	}
	c := *n
	c.Content = nil
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value != key {
			c.Content = append(c.Content, n.Content[i], n.Content[i+1])
		}
	}
	return &c
}

// warmUp runs one request of zeros through the graph when every request
// column is numeric, so that the first client does not pay for the
// backends' first call. Requests of text or bytes are not guessed at.
func (e *Endpoint) warmUp(ctx context.Context) error {
	b := array.NewRecordBuilder(e.opts.mem(), e.reqSchema)
	defer b.Release()
	for i, f := range e.reqSchema.Fields() {
		if !appendZero(b.Field(i), f.Type) {
			return nil
		}
	}
	rec := b.NewRecordBatch()
	r, _, err := e.call(ctx, rec)
	releaseAll(r.parts)
	return err
}

// appendZero appends one row of zeros to a numeric or fixed-size list
// builder; false for other types.
func appendZero(b array.Builder, t arrow.DataType) bool {
	switch lt := t.(type) {
	case *arrow.FixedSizeListType:
		fb := b.(*array.FixedSizeListBuilder)
		fb.Append(true)
		for range lt.Len() {
			if !appendZero(fb.ValueBuilder(), lt.Elem()) {
				return false
			}
		}
		return true
	}
	if dt, ok := datatypeOf(t); !ok || dt == "BYTES" {
		return false
	}
	b.AppendEmptyValue()
	return true
}

// CheckServable reports whether the job can be served between ends
// without building it: the ends resolve and the graph between them keeps
// every row in order.
func CheckServable(job *pipeline.Job, ends Ends) error {
	ends, err := ends.resolve(job)
	if err != nil {
		return err
	}
	_, err = job.Cut(cutOptions(ends.Input, ends.Output))
	return err
}
