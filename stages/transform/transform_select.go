package transform

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/stages"
)

// SelectConfig is the `with:` block of a select stage.
type SelectConfig struct {
	Keep   []string          `yaml:"keep" doc:"Columns to keep, in output order; empty keeps every column in input order."`
	Drop   []string          `yaml:"drop" doc:"Columns to remove."`
	Rename map[string]string `yaml:"rename" doc:"Renames, from input column name to output column name."`
}

func init() {
	stages.MustRegister(stages.Type[SelectConfig]{
		Name: "select",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Keep, drop, reorder and rename columns without copying data.",
			Description: "`select` picks columns from its input. With `keep`, the output holds exactly " +
				"those columns in that order; with `drop`, every input column except those. `rename` " +
				"then maps input names to new names.\n\n" +
				"Columns are passed through zero-copy: the output arrays are the input arrays. " +
				"Every name must exist in the input, `keep` and `drop` may not both be given, and two " +
				"output columns may not share a name.",
			Example: "- id: features\n  type: select\n  inputs: [read]\n  with:\n    keep: [id, amount, f0]\n    rename: {amount: amount_usd}\n",
		},
		New: newSelect,
	})
}

// selectStage passes a subset of its input columns through.
type selectStage struct {
	schema *arrow.Schema
	input  *arrow.Schema // the schema the stage was built for
	cols   []int         // input column index of each output column
}

func newSelect(conf SelectConfig, env *stages.Env) (stages.Stage, error) {
	in := env.Input()
	if in == nil {
		return nil, fmt.Errorf("select: no input schema")
	}
	if len(conf.Keep) > 0 && len(conf.Drop) > 0 {
		return nil, fmt.Errorf("select: keep and drop are exclusive; give one of them")
	}
	var cols []int
	switch {
	case len(conf.Keep) > 0:
		for _, name := range conf.Keep {
			i, err := stages.Column(in, name)
			if err != nil {
				return nil, err
			}
			cols = append(cols, i)
		}
	default:
		drop := map[int]bool{}
		for _, name := range conf.Drop {
			i, err := stages.Column(in, name)
			if err != nil {
				return nil, err
			}
			drop[i] = true
		}
		for i := range in.NumFields() {
			if !drop[i] {
				cols = append(cols, i)
			}
		}
	}
	fields := make([]arrow.Field, len(cols))
	for j, i := range cols {
		fields[j] = in.Field(i)
	}
	for _, old := range sortedMapKeys(conf.Rename) {
		i, err := stages.Column(in, old)
		if err != nil {
			return nil, err
		}
		j := slices.Index(cols, i)
		if j < 0 {
			return nil, &stages.ColumnError{Column: old, Msg: "renamed but not selected"}
		}
		if conf.Rename[old] == "" {
			return nil, &stages.ColumnError{Column: old, Msg: "renamed to an empty name"}
		}
		fields[j].Name = conf.Rename[old]
	}
	if err := checkUnique(fields); err != nil {
		return nil, err
	}
	md := in.Metadata()
	return &selectStage{schema: arrow.NewSchema(fields, &md), input: in, cols: cols}, nil
}

// checkUnique returns a *stages.ColumnError for the first output name that
// appears twice.
func checkUnique(fields []arrow.Field) error {
	seen := make(map[string]bool, len(fields))
	for _, f := range fields {
		if seen[f.Name] {
			return &stages.ColumnError{Column: f.Name, Msg: "appears more than once in the output"}
		}
		seen[f.Name] = true
	}
	return nil
}

func sortedMapKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func (s *selectStage) Schema() *arrow.Schema { return s.schema }

func (s *selectStage) Close() error { return nil }

// Process returns a batch holding the selected columns of in, which is
// borrowed; the arrays are shared with in (retained), not copied.
func (s *selectStage) Process(_ context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	if err := checkInput(in, s.input); err != nil {
		return nil, fmt.Errorf("select: %w", err)
	}
	cols := make([]arrow.Array, len(s.cols))
	for j, i := range s.cols {
		cols[j] = in.Column(i)
	}
	return array.NewRecordBatch(s.schema, cols, in.NumRows()), nil
}
