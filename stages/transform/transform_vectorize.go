package transform

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// VectorizeConfig is the `with:` block of a vectorize stage.
type VectorizeConfig struct {
	Columns     []string `yaml:"columns" doc:"Numeric columns to pack, in vector order." required:"true"`
	Into        string   `yaml:"into" doc:"Name of the new fixed_size_list<float32> column, added last." required:"true"`
	KeepColumns bool     `yaml:"keep_columns" doc:"Keep the packed columns in the output; by default they are removed."`
}

func init() {
	stages.MustRegister(stages.Type[VectorizeConfig]{
		Name: "vectorize",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Pack numeric columns into one fixed_size_list<float32> column, the shape model inputs take.",
			Description: "`vectorize` builds, for each row, a vector of the values of `columns` in " +
				"order, converted to float32, and adds it as the column `into` (type " +
				"`fixed_size_list<float32>[k]` with non-nullable elements) at the end of the batch. " +
				"A model stage feeds such a column to a model as an `[N, k]` tensor without copying.\n\n" +
				"Any integer or float column can be packed; values convert as Go's float32 " +
				"conversion does (large integers round). A null in a packed column is an error " +
				"naming the column and the row: fill or filter nulls first. The packed columns are " +
				"removed unless `keep_columns` is true; the other columns pass through zero-copy.",
			Example: "- id: features\n  type: vectorize\n  inputs: [read]\n  with:\n    columns: [amount, f0, f1, f2]\n    into: x\n",
		},
		New: newVectorize,
	})
}

// vectorizeStage packs numeric columns into one vector column.
type vectorizeStage struct {
	schema *arrow.Schema
	input  *arrow.Schema // the schema the stage was built for
	mem    memory.Allocator
	names  []string
	packed []int // input index of each packed column, in vector order
	pass   []int // input index of each passed-through column
	list   *arrow.FixedSizeListType
	rows   int64
}

func newVectorize(conf VectorizeConfig, env *stages.Env) (stages.Stage, error) {
	in := env.Input()
	if in == nil {
		return nil, fmt.Errorf("vectorize: no input schema")
	}
	if len(conf.Columns) == 0 {
		return nil, fmt.Errorf("vectorize: columns is empty")
	}
	if conf.Into == "" {
		return nil, fmt.Errorf("vectorize: into is empty")
	}
	s := &vectorizeStage{input: in, mem: env.Mem, names: conf.Columns}
	for _, name := range conf.Columns {
		i, err := stages.Column(in, name)
		if err != nil {
			return nil, err
		}
		if dt := in.Field(i).Type; !isNumeric(dt) {
			return nil, &stages.ColumnError{Column: name, Msg: fmt.Sprintf("has type %s; vectorize packs integer and float columns", dt)}
		}
		if slices.Contains(s.packed, i) {
			return nil, &stages.ColumnError{Column: name, Msg: "listed twice in columns"}
		}
		s.packed = append(s.packed, i)
	}
	var fields []arrow.Field
	for i, f := range in.Fields() {
		if conf.KeepColumns || !slices.Contains(s.packed, i) {
			s.pass = append(s.pass, i)
			fields = append(fields, f)
		}
	}
	s.list = arrow.FixedSizeListOfNonNullable(int32(len(s.packed)), arrow.PrimitiveTypes.Float32)
	fields = append(fields, arrow.Field{Name: conf.Into, Type: s.list})
	if err := checkUnique(fields); err != nil {
		return nil, err
	}
	md := in.Metadata()
	s.schema = arrow.NewSchema(fields, &md)
	return s, nil
}

func (s *vectorizeStage) Schema() *arrow.Schema { return s.schema }

func (s *vectorizeStage) Close() error { return nil }

// packBlock is the number of rows packed at a time: the block of the output
// written by one column's strided pass stays in cache for the next column.
const packBlock = 512

// Process returns in's passed-through columns (retained) followed by the
// packed vector column, in a batch owned by the caller.
func (s *vectorizeStage) Process(_ context.Context, in arrow.RecordBatch) (_ arrow.RecordBatch, err error) {
	if err := checkInput(in, s.input); err != nil {
		return nil, fmt.Errorf("vectorize: %w", err)
	}
	base := s.rows
	defer s.count(in.NumRows(), &err)
	n, k := int(in.NumRows()), len(s.packed)
	for j, i := range s.packed {
		if col := in.Column(i); col.NullN() > 0 {
			row := firstNull(col)
			return nil, &stages.ColumnError{Column: s.names[j], Msg: fmt.Sprintf("row %d: null in a column packed by vectorize; fill or filter nulls first", base+int64(row))}
		}
	}
	buf := memory.NewResizableBuffer(s.mem)
	defer buf.Release()
	buf.Resize(n * k * arrow.Float32SizeBytes)
	vals := arrow.GetData[float32](buf.Bytes())[:n*k]
	for lo := 0; lo < n; lo += packBlock {
		hi := min(lo+packBlock, n)
		for j, i := range s.packed {
			packColumn(vals, in.Column(i), k, j, lo, hi)
		}
	}
	child := array.NewData(arrow.PrimitiveTypes.Float32, n*k, []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer child.Release()
	data := array.NewData(s.list, n, []*memory.Buffer{nil}, []arrow.ArrayData{child}, 0, 0)
	defer data.Release()
	vec := array.MakeFromData(data)
	defer vec.Release()

	cols := make([]arrow.Array, 0, len(s.pass)+1)
	for _, i := range s.pass {
		cols = append(cols, in.Column(i))
	}
	cols = append(cols, vec)
	return array.NewRecordBatch(s.schema, cols, in.NumRows()), nil
}

// packColumn writes rows [lo, hi) of the numeric array col into element j of
// the row-major vectors in dst (k elements per row).
func packColumn(dst []float32, col arrow.Array, k, j, lo, hi int) {
	switch col.DataType().ID() {
	case arrow.INT8:
		pack(dst, values[int8](col), k, j, lo, hi)
	case arrow.INT16:
		pack(dst, values[int16](col), k, j, lo, hi)
	case arrow.INT32:
		pack(dst, values[int32](col), k, j, lo, hi)
	case arrow.INT64:
		pack(dst, values[int64](col), k, j, lo, hi)
	case arrow.UINT8:
		pack(dst, values[uint8](col), k, j, lo, hi)
	case arrow.UINT16:
		pack(dst, values[uint16](col), k, j, lo, hi)
	case arrow.UINT32:
		pack(dst, values[uint32](col), k, j, lo, hi)
	case arrow.UINT64:
		pack(dst, values[uint64](col), k, j, lo, hi)
	case arrow.FLOAT32:
		pack(dst, values[float32](col), k, j, lo, hi)
	case arrow.FLOAT64:
		pack(dst, values[float64](col), k, j, lo, hi)
	case arrow.FLOAT16:
		src := col.(*array.Float16).Values()
		for r := lo; r < hi; r++ {
			dst[r*k+j] = src[r].Float32()
		}
	}
}

func pack[T number](dst []float32, src []T, k, j, lo, hi int) {
	src = src[lo:hi]
	o := lo*k + j
	for _, v := range src {
		dst[o] = float32(v)
		o += k
	}
}

// firstNull returns the index of the first null of arr, or -1.
func firstNull(arr arrow.Array) int {
	for i := range arr.Len() {
		if arr.IsNull(i) {
			return i
		}
	}
	return -1
}

// count advances the row count that numbers rows in errors (see
// castStage.count).
func (s *vectorizeStage) count(n int64, err *error) {
	if *err == nil || n == 1 {
		s.rows += n
	}
}
