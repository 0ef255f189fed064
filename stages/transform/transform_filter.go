package transform

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// FilterConfig is the `with:` block of a filter stage.
type FilterConfig struct {
	Where string `yaml:"where" doc:"The condition a row must meet to be kept, such as amount > 100 and country in ('FR', 'DE')." required:"true"`
}

func init() {
	stages.MustRegister(stages.Type[FilterConfig]{
		Name: "filter",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Keep the rows that meet a condition.",
			Description: "`filter` keeps the rows for which `where` is true, in their input order.\n\n" +
				"The condition compares columns with literals or with other columns: `==` (or `=`), " +
				"`!=` (or `<>`), `<`, `<=`, `>`, `>=`; combines conditions with `and`, `or`, `not` " +
				"and parentheses; tests nulls with `x is null` and `x is not null`; and tests " +
				"membership with `x in (1, 2, 3)` and `x not in ('a', 'b')`. A bool column is a " +
				"condition by itself. Literals are integers, floats, `'single-quoted strings'` " +
				"(`''` for a quote) and `true`/`false`. Column names that are not plain " +
				"identifiers go in double quotes: `\"unit price\" > 3`. Keywords are " +
				"case-insensitive.\n\n" +
				"Numbers compare by value whatever their types; strings compare bytewise; a " +
				"timestamp or date column compares with a column of the same type or with a string " +
				"literal such as `'2024-01-31'` or `'2024-01-31T12:00:00'`.\n\n" +
				"Nulls follow SQL: a comparison with a null is null, `null and false` is false, " +
				"`null or true` is true, and a row whose condition is null is dropped.\n\n" +
				"The expression is parsed and type-checked when the job is validated; an unknown " +
				"column or a comparison between a string and a number is an error that gives its " +
				"position in the expression. A batch with no row left is not passed on; a batch " +
				"whose rows are all kept, or whose kept rows are contiguous, passes without copying.",
			Example: "- id: big_spenders\n  type: filter\n  inputs: [read]\n  with:\n    where: amount >= 100 and country in ('FR', 'DE') and email is not null\n",
		},
		New: newFilter,
	})
}

// filterStage keeps the rows of its input that meet a predicate.
type filterStage struct {
	schema *arrow.Schema
	mem    memory.Allocator
	pred   pred
	truth  []byte // scratch: one truth byte per row
}

func newFilter(conf FilterConfig, env *stages.Env) (stages.Stage, error) {
	in := env.Input()
	if in == nil {
		return nil, fmt.Errorf("filter: no input schema")
	}
	p, err := compileExpr(conf.Where, in)
	if err != nil {
		return nil, err
	}
	return &filterStage{schema: in, mem: env.Mem, pred: p}, nil
}

func (s *filterStage) Schema() *arrow.Schema { return s.schema }

func (s *filterStage) Close() error { return nil }

// Process returns the rows of in (borrowed) that meet the condition, as a
// batch owned by the caller, or nil when none does. When every row is kept,
// the result is in itself, retained; when the kept rows are contiguous, a
// zero-copy slice of in.
func (s *filterStage) Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	if err := checkInput(in, s.schema); err != nil {
		return nil, fmt.Errorf("filter: %w", err)
	}
	n := int(in.NumRows())
	if n == 0 {
		return nil, nil
	}
	if cap(s.truth) < n {
		s.truth = make([]byte, n)
	}
	truth := s.truth[:n]
	s.pred.eval(in, truth)

	kept, first, last := 0, -1, -1
	for i, v := range truth {
		if v == vTrue {
			kept++
			if first < 0 {
				first = i
			}
			last = i
		}
	}
	switch {
	case kept == 0:
		return nil, nil
	case kept == n:
		in.Retain()
		return in, nil
	case last-first+1 == kept:
		return in.NewSlice(int64(first), int64(last+1)), nil
	}
	mask := s.maskOf(truth)
	defer mask.Release()
	return compute.FilterRecordBatch(computeCtx(ctx, s.mem), in, mask, compute.DefaultFilterOptions())
}

// maskOf builds a non-null boolean array that is true where truth is vTrue.
func (s *filterStage) maskOf(truth []byte) arrow.Array {
	buf := memory.NewResizableBuffer(s.mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(truth)))))
	bits := buf.Bytes()
	clear(bits)
	for i, v := range truth {
		if v == vTrue {
			bitutil.SetBit(bits, i)
		}
	}
	data := array.NewData(arrow.FixedWidthTypes.Boolean, len(truth), []*memory.Buffer{nil, buf}, nil, 0, 0)
	buf.Release()
	defer data.Release()
	return array.MakeFromData(data)
}
