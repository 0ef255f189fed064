package vector

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/stages"
)

// Operations.
const (
	opNormalize = "normalize"
	opMatMul    = "matmul"
	opSoftmax   = "softmax"
	opTopK      = "topk"
)

// Backends.
const (
	backendAuto  = "auto"
	backendCPU   = "cpu"
	backendMetal = "metal"
)

// Config is the `with:` block of a vector stage.
type Config struct {
	Column      string      `yaml:"column" doc:"input column, a fixed_size_list<float32>[k]" required:"true"`
	Op          string      `yaml:"op" doc:"normalize (L2), matmul (by a constant matrix), softmax, or topk" required:"true"`
	Into        string      `yaml:"into" doc:"output column; default: column itself for normalize and softmax, <column>_<op> otherwise (topk: the values)"`
	IndicesInto string      `yaml:"indices_into" doc:"topk: output column for the indices (fixed_size_list<int32>[k]); default <into>_indices"`
	K           int         `yaml:"k" doc:"topk: how many values to keep per row"`
	Matrix      [][]float64 `yaml:"matrix" doc:"matmul: the constant matrix inline, one list per row: k rows of m values"`
	MatrixFile  stages.Path `yaml:"matrix_file" doc:"matmul: the matrix from a .npy file (2-D float32/float64, C order) or a .bin file of raw little-endian float32"`
	MatrixShape []int       `yaml:"matrix_shape" doc:"matmul: [rows, cols] of a .bin matrix_file"`
	Backend     string      `yaml:"backend" doc:"auto (metal when available, else cpu), cpu, or metal"`
}

func init() {
	stages.MustRegister(stages.Type[Config]{
		Name: "vector",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Row-wise vector operations (normalize, matmul, softmax, topk) on a fixed_size_list<float32> column, on the CPU or the Apple GPU.",
			Description: "Operates on each row of a `fixed_size_list<float32>[k]` column: `normalize` divides by the L2 norm " +
				"(a zero vector stays zero), `matmul` multiplies by a constant `[k, m]` matrix giving `[m]`, `softmax` " +
				"normalises exponentials, `topk` keeps the `k` largest values (descending, ties by lower index) and their " +
				"indices in two columns. Null vectors give null outputs; a null element inside a vector is an error. " +
				"`backend: metal` runs the metal backend's GPU kernels (macOS); `auto` uses them when available.",
			Example: "- id: embed\n  type: vector\n  inputs: [features]\n  with:\n    column: x\n    op: matmul\n    matrix_file: proj.npy\n    into: emb\n",
		},
		Defaults: func() Config { return Config{Backend: backendAuto} },
		New:      newStage,
		// Metal kernels run through the job's executor.
		NeedsExecutor: true,
	})
}

// stage is a built vector transform.
type stage struct {
	conf    Config
	mem     memory.Allocator
	col     int // input column index
	k       int // input vector width
	outK    int // output vector width
	w       matrix
	schema  *arrow.Schema
	into    int // output column index of the (values) result
	indices int // topk: output column index of the indices; -1 otherwise
	runner  runner
}

func newStage(conf Config, env *stages.Env) (stages.Stage, error) {
	in := env.Input()
	if in == nil {
		return nil, fmt.Errorf("vector: no input schema")
	}
	col, err := stages.Column(in, conf.Column)
	if err != nil {
		return nil, err
	}
	ft, ok := in.Field(col).Type.(*arrow.FixedSizeListType)
	if !ok || ft.Elem().ID() != arrow.FLOAT32 {
		return nil, &stages.ColumnError{Column: conf.Column, Msg: fmt.Sprintf("is %s; the vector stage needs fixed_size_list<float32>[k]", in.Field(col).Type)}
	}
	s := &stage{conf: conf, mem: env.Mem, col: col, k: int(ft.Len()), indices: -1}
	s.outK = s.k
	switch conf.Op {
	case opNormalize, opSoftmax:
		if conf.Into == "" {
			s.conf.Into = conf.Column
		}
	case opMatMul:
		if err := s.loadMatrix(env.Files); err != nil {
			return nil, err
		}
		s.outK = s.w.cols
		if conf.Into == "" {
			s.conf.Into = conf.Column + "_matmul"
		}
	case opTopK:
		if conf.K < 1 || conf.K > s.k {
			return nil, fmt.Errorf("k: topk needs 1 <= k <= %d (the width of column %q), got %d", s.k, conf.Column, conf.K)
		}
		s.outK = conf.K
		if conf.Into == "" {
			s.conf.Into = conf.Column + "_topk"
		}
		if conf.IndicesInto == "" {
			s.conf.IndicesInto = s.conf.Into + "_indices"
		}
		if s.conf.IndicesInto == s.conf.Into {
			return nil, fmt.Errorf("indices_into: must differ from into (%q)", s.conf.Into)
		}
	default:
		return nil, fmt.Errorf("op: unknown operation %q (want normalize, matmul, softmax or topk)", conf.Op)
	}
	if conf.Op != opMatMul && (conf.Matrix != nil || conf.MatrixFile != "" || conf.MatrixShape != nil) {
		return nil, fmt.Errorf("matrix, matrix_file and matrix_shape apply to op matmul only")
	}
	if conf.Op != opTopK && (conf.K != 0 || conf.IndicesInto != "") {
		return nil, fmt.Errorf("k and indices_into apply to op topk only")
	}
	s.schema = s.outputSchema(in)
	r, err := newRunner(conf.Backend, s, env)
	if err != nil {
		return nil, err
	}
	s.runner = r
	return s, nil
}

// loadMatrix sets the matmul matrix from the config; a matrix_file is read
// through the job's pins, so every work unit multiplies by the content the
// fingerprint counted.
func (s *stage) loadMatrix(pins *stages.FilePins) error {
	switch {
	case s.conf.Matrix != nil && s.conf.MatrixFile != "":
		return fmt.Errorf("matrix and matrix_file: give one, not both")
	case s.conf.Matrix != nil:
		m, err := inlineMatrix(s.conf.Matrix)
		if err != nil {
			return fmt.Errorf("matrix: %w", err)
		}
		s.w = m
	case s.conf.MatrixFile != "":
		m, err := loadMatrix(pins, string(s.conf.MatrixFile), s.conf.MatrixShape)
		if err != nil {
			return fmt.Errorf("matrix_file: %w", err)
		}
		s.w = m
	default:
		return fmt.Errorf("matmul needs matrix or matrix_file")
	}
	if s.w.rows != s.k {
		return fmt.Errorf("matrix has %d rows but column %q has width %d", s.w.rows, s.conf.Column, s.k)
	}
	return nil
}

// outputSchema replaces or appends the output columns.
func (s *stage) outputSchema(in *arrow.Schema) *arrow.Schema {
	fields := append([]arrow.Field(nil), in.Fields()...)
	put := func(name string, elem arrow.DataType) int {
		f := arrow.Field{Name: name, Type: arrow.FixedSizeListOf(int32(s.outK), elem), Nullable: true}
		if idx := in.FieldIndices(name); len(idx) > 0 {
			fields[idx[0]] = f
			return idx[0]
		}
		fields = append(fields, f)
		return len(fields) - 1
	}
	s.into = put(s.conf.Into, arrow.PrimitiveTypes.Float32)
	if s.conf.Op == opTopK {
		s.indices = put(s.conf.IndicesInto, arrow.PrimitiveTypes.Int32)
	}
	md := in.Metadata()
	return arrow.NewSchema(fields, &md)
}

// Schema returns the schema of the batches the stage emits.
func (s *stage) Schema() *arrow.Schema { return s.schema }

// Close releases the stage's handle on the Metal kernel, if any.
func (s *stage) Close() error { return s.runner.close() }

// Process computes the operation on in's vector column; in is borrowed, the
// result is owned by the caller.
func (s *stage) Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	list, ok := in.Column(s.col).(*array.FixedSizeList)
	if !ok {
		return nil, &stages.ColumnError{Column: s.conf.Column, Msg: fmt.Sprintf("is %s in this batch, want fixed_size_list<float32>[%d]", in.Column(s.col).DataType(), s.k)}
	}
	n := list.Len()
	child, ok := list.ListValues().(*array.Float32)
	if !ok {
		return nil, &stages.ColumnError{Column: s.conf.Column, Msg: "list values are not float32"}
	}
	start := list.Offset() * s.k
	if child.Len() < start+n*s.k {
		return nil, &stages.ColumnError{Column: s.conf.Column, Msg: fmt.Sprintf("list values hold %d floats, %d rows of %d need %d", child.Len(), n, s.k, start+n*s.k)}
	}
	if child.NullN() > 0 {
		for r := range n {
			if list.IsNull(r) {
				continue
			}
			for j := range s.k {
				if child.IsNull(start + r*s.k + j) {
					return nil, &stages.ColumnError{Column: s.conf.Column, Msg: fmt.Sprintf("row %d: element %d is null", r, j)}
				}
			}
		}
	}
	x := child.Float32Values()[start : start+n*s.k]
	y := make([]float32, n*s.outK)
	var idx []int32
	if s.conf.Op == opTopK {
		idx = make([]int32, n*s.outK)
	}
	if n > 0 {
		if err := s.runner.run(ctx, x, n, y, idx); err != nil {
			return nil, fmt.Errorf("column %q: %w", s.conf.Column, err)
		}
	}
	cols := make([]arrow.Array, len(s.schema.Fields()))
	for i := range in.NumCols() {
		cols[i] = in.Column(int(i))
	}
	valid := make([]bool, n)
	for r := range n {
		valid[r] = list.IsValid(r)
	}
	vals := s.build(arrow.PrimitiveTypes.Float32, n, valid, func(b array.Builder) {
		b.(*array.Float32Builder).AppendValues(y, nil)
	})
	defer vals.Release()
	cols[s.into] = vals
	if idx != nil {
		ind := s.build(arrow.PrimitiveTypes.Int32, n, valid, func(b array.Builder) {
			b.(*array.Int32Builder).AppendValues(idx, nil)
		})
		defer ind.Release()
		cols[s.indices] = ind
	}
	return array.NewRecordBatch(s.schema, cols, int64(n)), nil
}

// build makes a fixed_size_list column of outK-wide rows.
func (s *stage) build(elem arrow.DataType, n int, valid []bool, fill func(array.Builder)) arrow.Array {
	b := array.NewFixedSizeListBuilder(s.mem, int32(s.outK), elem)
	defer b.Release()
	b.Reserve(n)
	b.AppendValues(valid)
	fill(b.ValueBuilder())
	return b.NewArray()
}

// runner computes one batch of n rows: y (and idx for topk) from x.
type runner interface {
	run(ctx context.Context, x []float32, n int, y []float32, idx []int32) error
	close() error
}

// cpuRunner runs the Go kernels.
type cpuRunner struct{ s *stage }

func (c cpuRunner) run(ctx context.Context, x []float32, n int, y []float32, idx []int32) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := c.s
	switch s.conf.Op {
	case opNormalize:
		normalizeRows(x, y, n, s.k)
	case opSoftmax:
		softmaxRows(x, y, n, s.k)
	case opMatMul:
		matmulRows(x, s.w.data, y, n, s.k, s.w.cols)
	case opTopK:
		topkRows(x, y, idx, n, s.k, s.outK)
	}
	return nil
}

func (cpuRunner) close() error { return nil }

// newRunner picks the runner of backend name. Metal runs through the
// job's executor (placement, lanes, admission, retries, health), like a
// model stage's calls; auto falls back to the Go kernels when the
// executor cannot place the kernel on Metal here.
func newRunner(name string, s *stage, env *stages.Env) (runner, error) {
	switch name {
	case backendCPU:
		return cpuRunner{s}, nil
	case backendAuto, "":
		if r, err := newMetalRunner(s, env); err == nil {
			return r, nil
		}
		return cpuRunner{s}, nil
	case backendMetal:
		r, err := newMetalRunner(s, env)
		if err != nil {
			return nil, fmt.Errorf("backend: %w", err)
		}
		return r, nil
	}
	return nil, fmt.Errorf("backend: unknown backend %q (want auto, cpu or metal)", name)
}

// metalRunner runs the metal backend's kernel for the stage's operation
// through the job's executor.
type metalRunner struct {
	s     *stage
	model *executor.Model
}

func newMetalRunner(s *stage, env *stages.Env) (runner, error) {
	if env.Executor == nil {
		return nil, errors.New("metal: the runtime gave the stage no executor (pipeline.Build does)")
	}
	opts := bridge.Options{}
	if s.conf.Op == opTopK {
		opts.Extra = map[string]string{"k": strconv.Itoa(s.outK)}
	}
	m, err := env.Executor.Open(context.Background(), executor.ModelSpec{
		Stage: env.ID, Kernel: s.conf.Op, Backends: []string{backendMetal}, Strict: true, Session: opts})
	if err != nil {
		return nil, err
	}
	return &metalRunner{s: s, model: m}, nil
}

func floatBytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

func (m *metalRunner) run(ctx context.Context, x []float32, n int, y []float32, idx []int32) error {
	in := []bridge.Tensor{{Type: bridge.Float32, Shape: []int64{int64(n), int64(m.s.k)}, Data: floatBytes(x)}}
	if m.s.conf.Op == opMatMul {
		in = append(in, bridge.Tensor{Type: bridge.Float32, Shape: []int64{int64(m.s.w.rows), int64(m.s.w.cols)}, Data: floatBytes(m.s.w.data)})
	}
	call, err := m.model.Submit(ctx, in, m.s.mem)
	if err != nil {
		return err
	}
	<-call.Done()
	out, err := call.Result()
	if err != nil {
		return err
	}
	defer func() {
		for _, t := range out {
			m.s.mem.Free(t.Data)
		}
	}()
	if len(out) < 1 || len(out[0].Data) != 4*len(y) || (idx != nil && (len(out) < 2 || len(out[1].Data) != 4*len(idx))) {
		return fmt.Errorf("metal backend returned %d outputs of unexpected size", len(out))
	}
	copy(floatBytes(y), out[0].Data)
	if idx != nil {
		copy(unsafe.Slice((*byte)(unsafe.Pointer(&idx[0])), 4*len(idx)), out[1].Data)
	}
	return nil
}

func (m *metalRunner) close() error { return m.model.Close() }
