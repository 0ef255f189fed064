package pipeline

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// Columns a dead-letter file adds to the failed rows.
const (
	DeadLetterStageColumn = "_pipe_stage"
	DeadLetterErrorColumn = "_pipe_error"
	DeadLetterUnitColumn  = "_pipe_unit"
)

// firstErrorsKept is how many error messages a stage keeps for the report
// and the budget error.
const firstErrorsKept = 5

// errorPolicy is a stage's on_error state across the run's passes.
type errorPolicy struct {
	n      *node
	schema *arrow.Schema // dead-letter rows: the stage's input plus the error columns
	dir    string        // dead-letter folder; "" for skip

	mu    sync.Mutex
	first []string // the first error messages
}

// checkErrorPolicies checks every stage's on_error, max_errors and
// dead_letter keys once the stage types are known.
func checkErrorPolicies(nodes []*node, ps *problems) {
	for _, n := range nodes {
		s := n.def
		if n.entry == nil {
			continue
		}
		isolating := s.OnError == stages.OnErrorSkip || s.OnError == stages.OnErrorDeadLetter
		if isolating && !n.entry.RejectsRows {
			ps.add(s.onErrorNode.Line, s.onErrorNode.Column, s.ID, "on_error: %s stages cannot set failed rows aside (transforms, model, csv_source and jsonl_source stages can)", n.entry.Name)
		}
		if (s.MaxErrors >= 0 || s.MaxErrorsPct > 0) && !isolating {
			ps.add(s.maxErrorsNode.Line, s.maxErrorsNode.Column, s.ID, "max_errors needs on_error: skip or dead_letter")
		}
		switch {
		case s.OnError == stages.OnErrorDeadLetter && s.DeadLetter == "":
			ps.add(s.onErrorNode.Line, s.onErrorNode.Column, s.ID, "on_error: dead_letter needs dead_letter: FOLDER, where the failed rows are written")
		case s.DeadLetter != "" && s.OnError != stages.OnErrorDeadLetter:
			ps.add(s.deadLetterNode.Line, s.deadLetterNode.Column, s.ID, "dead_letter is only used with on_error: dead_letter")
		}
	}
}

// newErrorPolicy prepares n's on_error handling after n was built: for
// dead_letter it builds the dead-letter sink once, which checks the folder
// as every sink's constructor does.
func (p *Pipeline) newErrorPolicy(n *node) error {
	s := n.def
	if s.OnError != stages.OnErrorSkip && s.OnError != stages.OnErrorDeadLetter {
		return nil
	}
	ep := &errorPolicy{n: n}
	n.policy = ep
	if s.OnError != stages.OnErrorDeadLetter {
		return nil
	}
	// A source sets aside rows it could not decode, as text; other stages
	// the rows of their input.
	in := stages.RawRowSchema
	if n.entry.Kind != stages.KindSource {
		in = n.inputs[0].schema
	}
	fields := append(slices.Clone(in.Fields()),
		arrow.Field{Name: DeadLetterStageColumn, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: DeadLetterErrorColumn, Type: arrow.BinaryTypes.String},
		arrow.Field{Name: DeadLetterUnitColumn, Type: arrow.BinaryTypes.String})
	for _, f := range in.Fields() {
		if in != stages.RawRowSchema && strings.HasPrefix(f.Name, "_pipe_") {
			return fmt.Errorf("dead_letter: input column %q uses the prefix _pipe_ of the dead-letter columns", f.Name)
		}
	}
	ep.schema = arrow.NewSchema(fields, nil)
	// The folder as the job wrote it counts in the fingerprint; relative
	// to the job folder, like every path of a stage.
	ep.dir = filepath.Clean(s.DeadLetter)
	switch {
	case output.Scheme(s.DeadLetter) != "":
		ep.dir = strings.TrimSuffix(s.DeadLetter, "/") // a URL (s3://bucket/prefix) is not a path
	case !filepath.IsAbs(ep.dir):
		ep.dir = filepath.Join(p.job.Dir, ep.dir)
	}
	dlq, err := p.buildDeadLetter(n, "")
	if err != nil {
		return err
	}
	n.dlq = dlq
	return nil
}

// buildDeadLetter builds the parquet_sink writing n's failed rows, naming
// its files with prefix (one work unit's).
func (p *Pipeline) buildDeadLetter(n *node, prefix string) (stages.Sink, error) {
	e, err := p.reg.Lookup("parquet_sink")
	if err != nil {
		return nil, fmt.Errorf("dead_letter: %w", err)
	}
	with := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "path"},
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: n.policy.dir},
	}}
	conf, errs := e.Decode(with, p.job.Dir)
	if len(errs) > 0 {
		return nil, fmt.Errorf("dead_letter: %w", errors.Join(errs...))
	}
	env := &stages.Env{ID: n.def.ID + ".dead_letter", Inputs: []*arrow.Schema{n.policy.schema}, Mem: p.mem,
		Log: p.log.With("stage", n.def.ID, "output", "dead_letter"), JobDir: p.job.Dir, Files: p.pins, Overwrite: p.overwrite, PartPrefix: prefix}
	st, err := buildSafely(e, conf, env)
	if err != nil {
		return nil, fmt.Errorf("dead_letter: %w", err)
	}
	sink, ok := st.(stages.Sink)
	if !ok {
		_ = st.Close()
		return nil, fmt.Errorf("dead_letter: parquet_sink is not a sink")
	}
	return sink, nil
}

// passRejecter is a stage's [stages.Rejecter] for one pass (work unit).
type passRejecter struct {
	ep   *errorPolicy
	unit string
	dlq  stages.Sink // nil for skip
	p    *Pipeline

	mu   sync.Mutex // serialises writes to dlq
	rows int64      // rows written to dlq in this pass
}

// Reject counts rec's rows against the stage's budget and writes them to
// the dead-letter sink.
func (r *passRejecter) Reject(ctx context.Context, rec arrow.RecordBatch, rowErr error) error {
	ep, n := r.ep, r.ep.n
	rows := rec.NumRows()
	if rows == 0 {
		return nil
	}
	total := n.stats.Rejected.Add(rows)
	ep.mu.Lock()
	if len(ep.first) < firstErrorsKept {
		ep.first = append(ep.first, rowErr.Error())
	}
	ep.mu.Unlock()
	if max := n.def.MaxErrors; max >= 0 && total > max {
		return fmt.Errorf("%w: %d rows failed, max_errors is %d; first errors: %s", stages.ErrTooManyErrors, total, max, ep.firstErrors())
	}
	if r.dlq == nil {
		return nil
	}
	out, err := r.deadLetterRecord(rec, rowErr)
	if err != nil {
		return err
	}
	defer out.Release()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.dlq.Write(ctx, out); err != nil {
		return fmt.Errorf("dead_letter: %w", err)
	}
	r.rows += rows
	return nil
}

// deadLetterRecord appends the stage, error and unit columns to rec.
func (r *passRejecter) deadLetterRecord(rec arrow.RecordBatch, rowErr error) (arrow.RecordBatch, error) {
	in := r.ep.schema.NumFields() - 3
	if int(rec.NumCols()) != in {
		return nil, fmt.Errorf("dead_letter: rejected rows have %d columns, the stage's input %d", rec.NumCols(), in)
	}
	rows := int(rec.NumRows())
	cols := make([]arrow.Array, 0, in+3)
	for i := range in {
		if !arrow.TypeEqual(rec.Column(i).DataType(), r.ep.schema.Field(i).Type) {
			return nil, fmt.Errorf("dead_letter: rejected column %d is %s, the stage's input %s", i, rec.Column(i).DataType(), r.ep.schema.Field(i).Type)
		}
		cols = append(cols, rec.Column(i))
	}
	var made []arrow.Array
	defer func() {
		for _, a := range made {
			a.Release()
		}
	}()
	for _, v := range []string{r.ep.n.def.ID, rowErr.Error(), r.unit} {
		b := array.NewStringBuilder(r.p.mem)
		for range rows {
			b.Append(v)
		}
		a := b.NewArray()
		b.Release()
		made = append(made, a)
		cols = append(cols, a)
	}
	return array.NewRecordBatch(r.ep.schema, cols, int64(rows)), nil
}

// firstErrors joins the first error messages kept.
func (ep *errorPolicy) firstErrors() string {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return strings.Join(ep.first, "; ")
}

// checkBudget fails the run when the stage rejected more than its
// percentage budget of the rows it received so far.
func (ep *errorPolicy) checkBudget() error {
	pct := ep.n.def.MaxErrorsPct
	if pct <= 0 {
		return nil
	}
	bad, in := ep.n.stats.Rejected.Load(), ep.n.stats.RowsIn.Load()
	if in > 0 && float64(bad) > pct/100*float64(in) {
		return &StageError{Stage: ep.n.def.ID, Err: fmt.Errorf("%w: %d of %d rows failed (%.3g%%), max_errors is %g%%; first errors: %s",
			stages.ErrTooManyErrors, bad, in, 100*float64(bad)/float64(in), pct, ep.firstErrors())}
	}
	return nil
}

// isolateRows finds the rows of rec (borrowed) that make the transform
// fail, by processing halves until single rows remain: good rows are
// emitted in order, failing rows go to the stage's rejecter.
func (p *Pipeline) isolateRows(ctx context.Context, reject *passRejecter, t stages.Transform, rec arrow.RecordBatch, cause error, emit stages.Emit) error {
	rows := rec.NumRows()
	if rows == 1 {
		return reject.Reject(ctx, rec, cause)
	}
	mid := rows / 2
	for _, r := range [][2]int64{{0, mid}, {mid, rows}} {
		part := rec.NewSlice(r[0], r[1])
		out, err := t.Process(ctx, part)
		switch {
		case err == nil:
			if out != nil {
				err = emit(ctx, out)
			}
		case ctx.Err() != nil:
		default:
			err = p.isolateRows(ctx, reject, t, part, err, emit)
		}
		part.Release()
		if err != nil {
			return err
		}
	}
	return nil
}
