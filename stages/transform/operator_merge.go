package transform

import (
	"context"
	"fmt"
	"reflect"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/stages"
)

// MergeConfig is the `with:` block of a merge stage.
type MergeConfig struct {
	Order string `yaml:"order" doc:"interleave: one batch from each input in turn (deterministic); arrival: batches in the order they arrive."`
}

// The orders a merge stage can emit in.
const (
	orderInterleave = "interleave"
	orderArrival    = "arrival"
)

func init() {
	stages.MustRegister(stages.Type[MergeConfig]{
		Name: "merge",
		Kind: stages.KindOperator,
		Spec: stages.Spec{
			Summary: "Combine two or more inputs with the same schema into one stream.",
			Description: "`merge` forwards every batch of its inputs, whose schemas must have the same " +
				"column names and types in the same order (a column is nullable in the output when " +
				"it is in any input). Batches pass through unchanged, without copying.\n\n" +
				"With `order: interleave` (the default) the output is deterministic: one batch from " +
				"input 0, then one from input 1, and so on round robin, skipping inputs that have " +
				"ended. While it waits for the input whose turn it is, merge keeps reading the " +
				"others and holds their batches, so inputs fed by the same upstream stage (fan-out " +
				"then fan-in) cannot deadlock; an input that runs far ahead of a slow one makes " +
				"merge hold its batches in memory meanwhile. With `order: arrival`, batches are " +
				"forwarded as soon as they arrive, which holds nothing back but depends on timing.",
			Example: "- id: all\n  type: merge\n  inputs: [read_2023, read_2024]\n  with:\n    order: interleave\n",
		},
		Defaults:  func() MergeConfig { return MergeConfig{Order: orderInterleave} },
		New:       newMerge,
		MinInputs: 2,
		MaxInputs: -1,
	})
}

// mergeStage forwards the batches of several inputs with one schema.
type mergeStage struct {
	schema  *arrow.Schema
	arrival bool
	nInputs int
}

func newMerge(conf MergeConfig, env *stages.Env) (stages.Stage, error) {
	if conf.Order != orderInterleave && conf.Order != orderArrival {
		return nil, fmt.Errorf("merge: order %q: want interleave or arrival", conf.Order)
	}
	if len(env.Inputs) < 2 {
		return nil, fmt.Errorf("merge: needs at least 2 inputs, got %d", len(env.Inputs))
	}
	first := env.Inputs[0]
	fields := first.Fields()
	for i, s := range env.Inputs[1:] {
		if err := sameColumns(first, s); err != nil {
			return nil, fmt.Errorf("merge: input %d: schema differs from input 0: %w", i+1, err)
		}
		for j, f := range s.Fields() {
			fields[j].Nullable = fields[j].Nullable || f.Nullable
		}
	}
	md := first.Metadata()
	return &mergeStage{schema: arrow.NewSchema(fields, &md), arrival: conf.Order == orderArrival, nInputs: len(env.Inputs)}, nil
}

// sameColumns reports the first field of s that differs from want in name
// or type, or a difference in the number of fields. Nullability and
// metadata are not compared.
func sameColumns(want, s *arrow.Schema) error {
	for j := range min(want.NumFields(), s.NumFields()) {
		w, f := want.Field(j), s.Field(j)
		if w.Name != f.Name || !arrow.TypeEqual(w.Type, f.Type) {
			return fmt.Errorf("field %d is %q %s, want %q %s", j, f.Name, f.Type, w.Name, w.Type)
		}
	}
	switch {
	case s.NumFields() > want.NumFields():
		f := s.Field(want.NumFields())
		return fmt.Errorf("extra field %d %q %s", want.NumFields(), f.Name, f.Type)
	case s.NumFields() < want.NumFields():
		w := want.Field(s.NumFields())
		return fmt.Errorf("missing field %d %q %s", s.NumFields(), w.Name, w.Type)
	}
	return nil
}

func (s *mergeStage) Schema() *arrow.Schema { return s.schema }

func (s *mergeStage) Close() error { return nil }

// Run forwards every batch received on in to emit, until every input is
// closed. Batches it still holds when it returns early are released.
func (s *mergeStage) Run(ctx context.Context, in []<-chan arrow.RecordBatch, emit stages.Emit) error {
	if len(in) != s.nInputs {
		return fmt.Errorf("merge: built for %d inputs, run with %d", s.nInputs, len(in))
	}
	r := newReceiver(ctx, in)
	if s.arrival {
		for r.open > 0 {
			i, rec, err := r.recv()
			if err != nil {
				return err
			}
			if rec == nil {
				continue
			}
			out, err := conform(rec, s.schema, i)
			if err != nil {
				return err
			}
			if err := emit(ctx, out); err != nil {
				return err
			}
		}
		return nil
	}

	queues := make([][]arrow.RecordBatch, len(in))
	defer func() {
		for _, q := range queues {
			for _, rec := range q {
				rec.Release()
			}
		}
	}()
	next := 0 // the input whose turn it is
	for {
		// Emit in turn while the input whose turn it is has a batch,
		// skipping inputs that have ended.
		for skipped := 0; skipped < len(in); {
			if len(queues[next]) == 0 {
				if !r.closed[next] {
					break
				}
				next, skipped = (next+1)%len(in), skipped+1
				continue
			}
			rec := queues[next][0]
			queues[next] = queues[next][1:]
			out, err := conform(rec, s.schema, next)
			if err != nil {
				return err
			}
			if err := emit(ctx, out); err != nil {
				return err
			}
			next, skipped = (next+1)%len(in), 0
		}
		if r.open == 0 {
			return nil
		}
		i, rec, err := r.recv()
		if err != nil {
			return err
		}
		if rec != nil {
			queues[i] = append(queues[i], rec)
		}
	}
}

// conform returns rec, which it takes ownership of, labelled with schema
// (zero-copy) when rec's own schema differs only in nullability or metadata.
// input names the input for the error when the column types differ.
func conform(rec arrow.RecordBatch, schema *arrow.Schema, input int) (arrow.RecordBatch, error) {
	rs := rec.Schema()
	if rs == schema {
		return rec, nil
	}
	if err := sameColumns(schema, rs); err != nil {
		rec.Release()
		return nil, fmt.Errorf("merge: input %d sent a batch whose schema differs from the one it declared: %w", input, err)
	}
	if rs.Equal(schema) {
		return rec, nil
	}
	defer rec.Release()
	return array.NewRecordBatch(schema, rec.Columns(), rec.NumRows()), nil
}

// checkInput returns an error when the columns of rec, a batch received by
// a transform, differ from those of the schema it was built for, so that a
// runtime mismatch is an error rather than a panic.
func checkInput(rec arrow.RecordBatch, want *arrow.Schema) error {
	if rec.Schema() == want {
		return nil
	}
	if err := sameColumns(want, rec.Schema()); err != nil {
		return fmt.Errorf("batch does not match the input schema the stage was built for: %w", err)
	}
	return nil
}

// receiver receives from whichever of several input channels is ready,
// in one select, so that no input waits on another.
type receiver struct {
	ctx    context.Context
	cases  []reflect.SelectCase // case 0: ctx.Done(); case i+1: input i
	closed []bool
	open   int
}

func newReceiver(ctx context.Context, in []<-chan arrow.RecordBatch) *receiver {
	r := &receiver{ctx: ctx, cases: make([]reflect.SelectCase, len(in)+1), closed: make([]bool, len(in)), open: len(in)}
	r.cases[0] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())}
	for i, ch := range in {
		r.cases[i+1] = reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ch)}
	}
	return r
}

// recv waits for the next batch on any open input. It returns the input's
// index and the batch, now owned by the caller; a nil batch means input i
// was closed (or sent nil, which is ignored). It returns the context's
// error when the run is cancelled.
func (r *receiver) recv() (int, arrow.RecordBatch, error) {
	if err := r.ctx.Err(); err != nil {
		return -1, nil, err
	}
	chosen, v, ok := reflect.Select(r.cases)
	if chosen == 0 {
		return -1, nil, r.ctx.Err()
	}
	i := chosen - 1
	if !ok {
		r.cases[chosen].Chan = reflect.Value{}
		r.closed[i] = true
		r.open--
		return i, nil, nil
	}
	rec, _ := v.Interface().(arrow.RecordBatch)
	return i, rec, nil
}
