package pipeline_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
	_ "github.com/pipe-ml/pipe/stages/all" // every built-in stage type
)

// Load a job, build it and run it from Go.
func ExampleBuild() {
	dir, _ := os.MkdirTemp("", "pipe-example")
	defer os.RemoveAll(dir)
	text := `
version: 1
name: example
stages:
  - id: gen
    type: generate
    with: {count: 1000, columns: [{name: id, type: int64}, {name: v, type: float32}]}
  - id: big
    type: filter
    inputs: [gen]
    with: {where: "id >= 900"}
  - id: write
    type: parquet_sink
    inputs: [big]
    with: {path: out}
`
	job, err := pipeline.Load([]byte(text), "example.yaml", dir, pipeline.LoadOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := pipeline.Build(job, pipeline.BuildOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := p.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, s := range report.Stages {
		fmt.Printf("%s: %d rows in, %d rows out\n", s.ID, s.RowsIn, s.RowsOut)
	}
	_, err = os.Stat(filepath.Join(dir, "out", "part-00000-00000.parquet"))
	fmt.Println("output written:", err == nil)
	// Output:
	// gen: 0 rows in, 1000 rows out
	// big: 1000 rows in, 100 rows out
	// write: 100 rows in, 100 rows out
	// output written: true
}

// upperConfig is the typed config of the example stage: `yaml` tags name
// the keys, `doc` tags document them for `pipe docs`.
type upperConfig struct {
	Column string `yaml:"column" required:"true" doc:"Int64 column to double."`
}

// doubler is a transform that doubles an int64 column.
type doubler struct {
	schema *arrow.Schema
	col    int
	env    *stages.Env
}

func (d *doubler) Schema() *arrow.Schema { return d.schema }
func (d *doubler) Close() error          { return nil }

// Process borrows in and returns a new batch owned by the caller.
func (d *doubler) Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	src := in.Column(d.col).(*array.Int64)
	b := array.NewInt64Builder(d.env.Mem)
	defer b.Release()
	for i := 0; i < src.Len(); i++ {
		b.Append(2 * src.Value(i))
	}
	doubled := b.NewArray()
	defer doubled.Release()
	cols := append([]arrow.Array(nil), in.Columns()...)
	cols[d.col] = doubled
	return array.NewRecordBatch(d.schema, cols, in.NumRows()), nil
}

// Register a stage type of your own and use it in a job.
func ExampleRegister() {
	reg := stages.NewRegistry()
	err := stages.Register(reg, stages.Type[upperConfig]{
		Name: "double",
		Kind: stages.KindTransform,
		Spec: stages.Spec{Summary: "Double an int64 column."},
		New: func(c upperConfig, env *stages.Env) (stages.Stage, error) {
			idx, err := stages.Column(env.Input(), c.Column)
			if err != nil {
				return nil, err
			}
			return &doubler{schema: env.Input(), col: idx, env: env}, nil
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	// The built-in types live in the default registry; a job may only use
	// the types of the registry it is built with, so copy the ones needed.
	for _, e := range stages.Default().Entries() {
		if e.Name == "generate" || e.Name == "parquet_sink" {
			_ = stages.RegisterEntry(reg, e)
		}
	}
	dir, _ := os.MkdirTemp("", "pipe-example")
	defer os.RemoveAll(dir)
	text := `
version: 1
stages:
  - {id: gen, type: generate, with: {count: 5, columns: [{name: n, type: int64}]}}
  - {id: twice, type: double, inputs: [gen], with: {column: n}}
  - {id: write, type: parquet_sink, inputs: [twice], with: {path: out}}
`
	job, _ := pipeline.Load([]byte(text), "custom.yaml", dir, pipeline.LoadOptions{})
	p, err := pipeline.Build(job, pipeline.BuildOptions{Registry: reg})
	if err != nil {
		fmt.Println(err)
		return
	}
	report, err := p.Run(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(report.Status, report.Stages[1].ID, report.Stages[1].RowsOut)

	// A typo in the column is found when the job is built.
	bad := `
version: 1
stages:
  - {id: gen, type: generate, with: {count: 5, columns: [{name: n, type: int64}]}}
  - {id: twice, type: double, inputs: [gen], with: {column: m}}
  - {id: write, type: parquet_sink, inputs: [twice], with: {path: out2}}
`
	job, _ = pipeline.Load([]byte(bad), "custom.yaml", dir, pipeline.LoadOptions{})
	_, err = pipeline.Build(job, pipeline.BuildOptions{Registry: reg})
	fmt.Println(err)
	// Output:
	// succeeded twice 5
	// custom.yaml:5:52: stage "twice": column "m": not found (did you mean "n"?); input columns: n
}
