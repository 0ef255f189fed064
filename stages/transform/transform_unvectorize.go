package transform

import (
	"context"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// UnvectorizeConfig is the `with:` block of an unvectorize stage.
type UnvectorizeConfig struct {
	Column     string   `yaml:"column" doc:"The fixed_size_list column to unpack." required:"true"`
	Into       []string `yaml:"into" doc:"Names of the k new columns, one per vector element; give this or prefix."`
	Prefix     string   `yaml:"prefix" doc:"Name the new columns prefix0 .. prefix{k-1}; give this or into."`
	KeepColumn bool     `yaml:"keep_column" doc:"Keep the vector column in the output; by default it is removed."`
}

func init() {
	stages.MustRegister(stages.Type[UnvectorizeConfig]{
		Name: "unvectorize",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Unpack a fixed_size_list column into one scalar column per element.",
			Description: "`unvectorize` is the inverse of `vectorize`: it splits a " +
				"`fixed_size_list<T>[k]` column (T an integer or float type), such as a model's " +
				"scores, into k columns of type T, named by `into` (k names) or `prefix` (prefix0, " +
				"prefix1, ...). The new columns take the place of the vector column, which is removed " +
				"unless `keep_column` is true (then they follow it). A null vector gives nulls in " +
				"every new column.",
			Example: "- id: scores\n  type: unvectorize\n  inputs: [model]\n  with:\n    column: probs\n    into: [p_legit, p_fraud]\n",
		},
		New: newUnvectorize,
	})
}

// unvectorizeStage splits a vector column into scalar columns.
type unvectorizeStage struct {
	schema *arrow.Schema
	input  *arrow.Schema // the schema the stage was built for
	mem    memory.Allocator
	col    int // input index of the vector column
	k      int
	elem   arrow.DataType
	keep   bool
}

func newUnvectorize(conf UnvectorizeConfig, env *stages.Env) (stages.Stage, error) {
	in := env.Input()
	if in == nil {
		return nil, fmt.Errorf("unvectorize: no input schema")
	}
	if (len(conf.Into) == 0) == (conf.Prefix == "") {
		return nil, fmt.Errorf("unvectorize: give exactly one of into and prefix")
	}
	ci, err := stages.Column(in, conf.Column)
	if err != nil {
		return nil, err
	}
	f := in.Field(ci)
	lt, ok := f.Type.(*arrow.FixedSizeListType)
	if !ok || !isNumeric(lt.Elem()) {
		return nil, &stages.ColumnError{Column: conf.Column, Msg: fmt.Sprintf("has type %s; unvectorize takes a fixed_size_list of integers or floats", f.Type)}
	}
	k := int(lt.Len())
	names := conf.Into
	if conf.Prefix != "" {
		for j := range k {
			names = append(names, fmt.Sprintf("%s%d", conf.Prefix, j))
		}
	}
	if len(names) != k {
		return nil, &stages.ColumnError{Column: conf.Column, Msg: fmt.Sprintf("has %d elements per row but into names %d columns", k, len(names))}
	}
	nullable := f.Nullable || lt.ElemField().Nullable
	var fields []arrow.Field
	for i, g := range in.Fields() {
		if i != ci || conf.KeepColumn {
			fields = append(fields, g)
		}
		if i == ci {
			for _, name := range names {
				fields = append(fields, arrow.Field{Name: name, Type: lt.Elem(), Nullable: nullable})
			}
		}
	}
	if err := checkUnique(fields); err != nil {
		return nil, err
	}
	md := in.Metadata()
	return &unvectorizeStage{schema: arrow.NewSchema(fields, &md), input: in, mem: env.Mem, col: ci, k: k, elem: lt.Elem(), keep: conf.KeepColumn}, nil
}

func (s *unvectorizeStage) Schema() *arrow.Schema { return s.schema }

func (s *unvectorizeStage) Close() error { return nil }

// Process returns in's other columns (retained) with the vector column
// replaced by (or followed by) its elements, in a batch owned by the caller.
func (s *unvectorizeStage) Process(_ context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	if err := checkInput(in, s.input); err != nil {
		return nil, fmt.Errorf("unvectorize: %w", err)
	}
	list := in.Column(s.col).(*array.FixedSizeList)
	parts := make([]arrow.Array, s.k)
	defer func() {
		for _, p := range parts {
			if p != nil {
				p.Release()
			}
		}
	}()
	for j := range parts {
		parts[j] = s.unpack(list, j)
	}
	cols := make([]arrow.Array, 0, s.schema.NumFields())
	for i := range int(in.NumCols()) {
		if i != s.col || s.keep {
			cols = append(cols, in.Column(i))
		}
		if i == s.col {
			cols = append(cols, parts...)
		}
	}
	return array.NewRecordBatch(s.schema, cols, in.NumRows()), nil
}

// unpack returns element j of every vector of list as a new array.
func (s *unvectorizeStage) unpack(list *array.FixedSizeList, j int) arrow.Array {
	switch s.elem.ID() {
	case arrow.INT8:
		return unpackElem[int8](s.mem, s.elem, list, s.k, j)
	case arrow.INT16:
		return unpackElem[int16](s.mem, s.elem, list, s.k, j)
	case arrow.INT32:
		return unpackElem[int32](s.mem, s.elem, list, s.k, j)
	case arrow.INT64:
		return unpackElem[int64](s.mem, s.elem, list, s.k, j)
	case arrow.UINT8:
		return unpackElem[uint8](s.mem, s.elem, list, s.k, j)
	case arrow.UINT16:
		return unpackElem[uint16](s.mem, s.elem, list, s.k, j)
	case arrow.UINT32:
		return unpackElem[uint32](s.mem, s.elem, list, s.k, j)
	case arrow.UINT64:
		return unpackElem[uint64](s.mem, s.elem, list, s.k, j)
	case arrow.FLOAT16:
		return unpackElem[float16.Num](s.mem, s.elem, list, s.k, j)
	case arrow.FLOAT32:
		return unpackElem[float32](s.mem, s.elem, list, s.k, j)
	}
	return unpackElem[float64](s.mem, s.elem, list, s.k, j)
}

func unpackElem[T arrow.FixedWidthType](mem memory.Allocator, dt arrow.DataType, list *array.FixedSizeList, k, j int) arrow.Array {
	n := list.Len()
	child := list.ListValues()
	src := arrow.GetValues[T](child.Data(), 1)
	first := list.Data().Offset() * k // child index of the first vector of list

	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(n * dt.(arrow.FixedWidthDataType).BitWidth() / 8)
	dst := arrow.GetData[T](buf.Bytes())[:n]
	for i := range dst {
		dst[i] = src[first+i*k+j]
	}

	var valid *memory.Buffer
	nulls := 0
	if list.NullN() > 0 || child.NullN() > 0 {
		valid = memory.NewResizableBuffer(mem)
		defer valid.Release()
		valid.Resize(int(bitutil.BytesForBits(int64(n))))
		bits := valid.Bytes()
		clear(bits)
		for i := range n {
			if list.IsValid(i) && child.IsValid(first+i*k+j) {
				bitutil.SetBit(bits, i)
			} else {
				nulls++
			}
		}
		if nulls == 0 {
			valid = nil
		}
	}
	data := array.NewData(dt, n, []*memory.Buffer{valid, buf}, nil, nulls, 0)
	defer data.Release()
	return array.MakeFromData(data)
}
