package transform

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/stages"
)

// ZipConfig is the `with:` block of a zip stage.
type ZipConfig struct {
	Check []string `yaml:"check" doc:"Columns present in every input that must be equal row by row (an id); a mismatch is an error naming the column and row."`
}

func init() {
	stages.MustRegister(stages.Type[ZipConfig]{
		Name: "zip",
		Kind: stages.KindOperator,
		Spec: stages.Spec{
			Summary: "Join inputs whose rows correspond by position, such as two model branches scoring the same rows.",
			Description: "`zip` puts side by side the rows of two or more inputs that hold the same " +
				"rows in the same order: row r of the output holds row r of every input. The output " +
				"has every column of input 0, then the columns of input 1, 2, ... whose names are " +
				"not already present. Columns are not copied.\n\n" +
				"The inputs may cut their rows into batches differently: zip aligns them by slicing " +
				"and emits rows as soon as every input has delivered them. It reads all inputs " +
				"at once, so a branch that holds rows back (a model's batcher) cannot deadlock the " +
				"job. Every input must deliver the same number of rows: when one ends before another, " +
				"the error gives each input's row count. `check` names columns (an id) that every " +
				"input carries and that must agree row by row.",
			Example: "- id: both\n  type: zip\n  inputs: [model_a, model_b]\n  with:\n    check: [id]\n",
		},
		New:       newZip,
		MinInputs: 2,
		MaxInputs: -1,
	})
}

// zipStage joins its inputs row by row.
type zipStage struct {
	schema  *arrow.Schema
	sources []colRef   // where each output column comes from
	checks  []zipCheck // columns compared across inputs
	nInputs int
}

// colRef is a column of one input.
type colRef struct{ input, col int }

// zipCheck is a column that every input carries and that must agree.
type zipCheck struct {
	name string
	cols []int // index of the column in each input
}

func newZip(conf ZipConfig, env *stages.Env) (stages.Stage, error) {
	if len(env.Inputs) < 2 {
		return nil, fmt.Errorf("zip: needs at least 2 inputs, got %d", len(env.Inputs))
	}
	s := &zipStage{nInputs: len(env.Inputs)}
	var fields []arrow.Field
	seen := map[string]bool{}
	for i, in := range env.Inputs {
		for j, f := range in.Fields() {
			if seen[f.Name] {
				continue
			}
			seen[f.Name] = true
			fields = append(fields, f)
			s.sources = append(s.sources, colRef{i, j})
		}
	}
	for _, name := range conf.Check {
		c := zipCheck{name: name}
		for i, in := range env.Inputs {
			j, err := stages.Column(in, name)
			if err != nil {
				return nil, fmt.Errorf("zip: input %d: %w", i, err)
			}
			if i > 0 {
				if want, got := env.Inputs[0].Field(c.cols[0]).Type, in.Field(j).Type; !arrow.TypeEqual(want, got) {
					return nil, fmt.Errorf("zip: input %d: %w", i, &stages.ColumnError{Column: name, Msg: fmt.Sprintf("has type %s, but %s in input 0", got, want)})
				}
			}
			c.cols = append(c.cols, j)
		}
		s.checks = append(s.checks, c)
	}
	md := env.Inputs[0].Metadata()
	s.schema = arrow.NewSchema(fields, &md)
	return s, nil
}

func (s *zipStage) Schema() *arrow.Schema { return s.schema }

func (s *zipStage) Close() error { return nil }

// zipInput is the state of one input during Run.
type zipInput struct {
	queue    []arrow.RecordBatch // received, not yet fully emitted
	off      int64               // rows of queue[0] already emitted
	pending  int64               // rows received, not yet emitted
	received int64
}

// Run emits, for every range of rows that all inputs have delivered, one
// batch holding zero-copy slices of the inputs' columns. Batches it still
// holds when it returns are released.
func (s *zipStage) Run(ctx context.Context, in []<-chan arrow.RecordBatch, emit stages.Emit) error {
	if len(in) != s.nInputs {
		return fmt.Errorf("zip: built for %d inputs, run with %d", s.nInputs, len(in))
	}
	ins := make([]zipInput, len(in))
	defer func() {
		for _, z := range ins {
			for _, rec := range z.queue {
				rec.Release()
			}
		}
	}()
	r := newReceiver(ctx, in)
	var emitted int64
	for {
		for allPending(ins) {
			n, err := s.emitAligned(ctx, ins, emitted, emit)
			if err != nil {
				return err
			}
			emitted += n
		}
		if err := s.checkEnds(ins, r.closed); err != nil {
			return err
		}
		if r.open == 0 {
			return nil
		}
		i, rec, err := r.recv()
		if err != nil {
			return err
		}
		if rec == nil {
			continue
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		ins[i].queue = append(ins[i].queue, rec)
		ins[i].pending += rec.NumRows()
		ins[i].received += rec.NumRows()
	}
}

func allPending(ins []zipInput) bool {
	for _, z := range ins {
		if z.pending == 0 {
			return false
		}
	}
	return true
}

// emitAligned emits the rows that the head batch of every input has, from
// row `emitted` of the stream, and returns how many.
func (s *zipStage) emitAligned(ctx context.Context, ins []zipInput, emitted int64, emit stages.Emit) (int64, error) {
	n := ins[0].queue[0].NumRows() - ins[0].off
	for _, z := range ins[1:] {
		n = min(n, z.queue[0].NumRows()-z.off)
	}
	slices := make([]arrow.RecordBatch, len(ins))
	defer func() {
		for _, sl := range slices {
			sl.Release()
		}
	}()
	for i := range ins {
		z := &ins[i]
		slices[i] = z.queue[0].NewSlice(z.off, z.off+n)
		if z.off += n; z.off == z.queue[0].NumRows() {
			z.queue[0].Release()
			z.queue, z.off = z.queue[1:], 0
		}
		z.pending -= n
	}
	for _, c := range s.checks {
		a := slices[0].Column(c.cols[0])
		for i := 1; i < len(slices); i++ {
			b := slices[i].Column(c.cols[i])
			if array.Equal(a, b) {
				continue
			}
			for r := range a.Len() {
				if !array.SliceEqual(a, int64(r), int64(r+1), b, int64(r), int64(r+1)) {
					return 0, &stages.ColumnError{Column: c.name, Msg: fmt.Sprintf("row %d: input 0 has %s but input %d has %s",
						emitted+int64(r), quoteValue(a, r), i, quoteValue(b, r))}
				}
			}
		}
	}
	cols := make([]arrow.Array, len(s.sources))
	for j, src := range s.sources {
		cols[j] = slices[src.input].Column(src.col)
	}
	if err := emit(ctx, array.NewRecordBatch(s.schema, cols, n)); err != nil {
		return 0, err
	}
	return n, nil
}

// checkEnds returns an error when an input has ended while another has
// rows it can no longer be matched with.
func (s *zipStage) checkEnds(ins []zipInput, closed []bool) error {
	short := false
	for i, z := range ins {
		if closed[i] && z.pending == 0 {
			short = true
		}
	}
	if !short {
		return nil
	}
	disagree := false
	for _, z := range ins {
		if z.pending > 0 {
			disagree = true
		}
	}
	if !disagree {
		return nil
	}
	counts := make([]string, len(ins))
	for i, z := range ins {
		if closed[i] {
			counts[i] = fmt.Sprintf("input %d has %d rows", i, z.received)
		} else {
			counts[i] = fmt.Sprintf("input %d has at least %d", i, z.received)
		}
	}
	return fmt.Errorf("zip: inputs have different row counts: %s", strings.Join(counts, ", "))
}
