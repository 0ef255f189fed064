package transform

import (
	"context"
	"fmt"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// CastConfig is the `with:` block of a cast stage.
type CastConfig struct {
	Columns map[string]string `yaml:"columns" doc:"Column name to target type: int8, int16, int32, int64, uint8, uint16, uint32, uint64, float16, float32, float64, string, bool, date32, timestamp[s|ms|us|ns] (optionally with a zone: timestamp[ms, UTC])." required:"true"`
	Safe    bool              `yaml:"safe" doc:"Fail on values that do not survive the cast (integer overflow, truncated fractions or times, unparsable strings), naming the column and the first bad row. false casts unsafely (wrapping, truncating); unparsable strings are errors either way."`
}

func init() {
	stages.MustRegister(stages.Type[CastConfig]{
		Name: "cast",
		Kind: stages.KindTransform,
		Spec: stages.Spec{
			Summary: "Change the type of columns.",
			Description: "`cast` converts each listed column to a new type; the other columns pass " +
				"through zero-copy, and the column order is kept.\n\n" +
				"With `safe: true` (the default) a value that would change is an error naming the " +
				"column and the first bad row: an integer out of range, a float with a fraction cast " +
				"to an integer, a timestamp losing precision, a string that does not parse. Casting " +
				"to `float16` rounds to the nearest half-precision value; only values outside its " +
				"range (about ±65504), and integers it cannot represent exactly, are errors. " +
				"Strings parse as decimal numbers, `true`/`false`/`1`/`0`, ISO 8601 timestamps and " +
				"`YYYY-MM-DD` dates. Nulls stay null.\n\n" +
				"Whether each cast is supported is checked when the job is validated.",
			Example: "- id: types\n  type: cast\n  inputs: [read]\n  with:\n    columns: {amount: float32, ts: \"timestamp[ms]\"}\n",
		},
		Defaults: func() CastConfig { return CastConfig{Safe: true} },
		New:      newCast,
	})
}

// castStage converts some columns of its input to new types.
type castStage struct {
	schema *arrow.Schema
	input  *arrow.Schema // the schema the stage was built for
	mem    memory.Allocator
	safe   bool
	casts  []columnCast // indexed like the input fields; inactive: pass through
	rows   int64        // input rows seen, for error messages
}

// columnCast is the conversion of one input column.
type columnCast struct {
	name     string
	from, to arrow.DataType
	hand     handCast // nil: arrow compute's Cast
	active   bool
}

func newCast(conf CastConfig, env *stages.Env) (stages.Stage, error) {
	in := env.Input()
	if in == nil {
		return nil, fmt.Errorf("cast: no input schema")
	}
	if len(conf.Columns) == 0 {
		return nil, fmt.Errorf("cast: columns is empty")
	}
	s := &castStage{input: in, mem: env.Mem, safe: conf.Safe, casts: make([]columnCast, in.NumFields())}
	fields := in.Fields()
	for _, name := range sortedMapKeys(conf.Columns) {
		i, err := stages.Column(in, name)
		if err != nil {
			return nil, err
		}
		to, err := parseTypeName(conf.Columns[name])
		if err != nil {
			return nil, &stages.ColumnError{Column: name, Msg: err.Error()}
		}
		from := in.Field(i).Type
		fields[i].Type = to
		if arrow.TypeEqual(from, to) {
			continue
		}
		c := columnCast{name: name, from: from, to: to, active: true}
		if h := handCastFor(from, to); h != nil {
			c.hand = h
		} else if !compute.CanCast(from, to) {
			return nil, &stages.ColumnError{Column: name, Msg: fmt.Sprintf("cannot cast %s to %s", from, to)}
		}
		s.casts[i] = c
	}
	md := in.Metadata()
	s.schema = arrow.NewSchema(fields, &md)
	return s, nil
}

// typeNames maps the names accepted in `columns` to their types.
var typeNames = map[string]arrow.DataType{
	"int8": arrow.PrimitiveTypes.Int8, "int16": arrow.PrimitiveTypes.Int16,
	"int32": arrow.PrimitiveTypes.Int32, "int64": arrow.PrimitiveTypes.Int64,
	"uint8": arrow.PrimitiveTypes.Uint8, "uint16": arrow.PrimitiveTypes.Uint16,
	"uint32": arrow.PrimitiveTypes.Uint32, "uint64": arrow.PrimitiveTypes.Uint64,
	"float16": arrow.FixedWidthTypes.Float16, "float32": arrow.PrimitiveTypes.Float32,
	"float64": arrow.PrimitiveTypes.Float64, "string": arrow.BinaryTypes.String,
	"bool": arrow.FixedWidthTypes.Boolean, "date32": arrow.FixedWidthTypes.Date32,
}

var timeUnits = map[string]arrow.TimeUnit{"s": arrow.Second, "ms": arrow.Millisecond, "us": arrow.Microsecond, "ns": arrow.Nanosecond}

// parseTypeName parses a type name of the cast stage's `columns` map.
func parseTypeName(s string) (arrow.DataType, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	if dt, ok := typeNames[t]; ok {
		return dt, nil
	}
	if rest, ok := strings.CutPrefix(t, "timestamp["); ok && strings.HasSuffix(rest, "]") {
		unit, zone, _ := strings.Cut(strings.TrimSuffix(rest, "]"), ",")
		u, ok := timeUnits[strings.TrimSpace(unit)]
		if ok {
			// Keep the zone's spelling from the original text.
			if zone != "" {
				orig := strings.TrimSpace(s)
				zone = strings.TrimSpace(orig[strings.Index(orig, ",")+1 : len(orig)-1])
			}
			return &arrow.TimestampType{Unit: u, TimeZone: zone}, nil
		}
	}
	names := make([]string, 0, len(typeNames)+1)
	for n := range typeNames {
		names = append(names, n)
	}
	names = append(names, "timestamp[s]", "timestamp[ms]", "timestamp[us]", "timestamp[ns]")
	msg := fmt.Sprintf("unknown type %q", s)
	if n := stages.Nearest(t, names); n != "" {
		msg += fmt.Sprintf(" (did you mean %q?)", n)
	}
	return nil, fmt.Errorf("%s", msg)
}

func (s *castStage) Schema() *arrow.Schema { return s.schema }

func (s *castStage) Close() error { return nil }

// Process returns a batch with the listed columns of in (borrowed) converted;
// the other columns are in's arrays, retained.
func (s *castStage) Process(ctx context.Context, in arrow.RecordBatch) (_ arrow.RecordBatch, err error) {
	if err := checkInput(in, s.input); err != nil {
		return nil, fmt.Errorf("cast: %w", err)
	}
	base := s.rows
	defer s.count(in.NumRows(), &err)
	cols := make([]arrow.Array, in.NumCols())
	defer func() {
		for i, c := range cols {
			if c != nil && s.casts[i].active {
				c.Release()
			}
		}
	}()
	cctx := computeCtx(ctx, s.mem)
	for i := range cols {
		c := s.casts[i]
		if !c.active {
			cols[i] = in.Column(i)
			continue
		}
		out, err := s.castColumn(cctx, c, in.Column(i), base)
		if err != nil {
			return nil, err
		}
		cols[i] = out
	}
	return array.NewRecordBatch(s.schema, cols, in.NumRows()), nil
}

// castColumn converts arr (borrowed); base is the stream row of arr's first
// row. The returned array is owned by the caller.
func (s *castStage) castColumn(ctx context.Context, c columnCast, arr arrow.Array, base int64) (arrow.Array, error) {
	if c.hand != nil {
		out, row, err := c.hand(s.mem, arr, s.safe)
		if err != nil {
			return nil, s.rowError(c, arr, base, row, err)
		}
		return out, nil
	}
	opts := compute.SafeCastOptions(c.to)
	if !s.safe {
		opts = compute.UnsafeCastOptions(c.to)
	}
	out, err := compute.CastArray(ctx, arr, opts)
	if err == nil {
		return out, nil
	}
	row, cause := firstBadRow(ctx, arr, opts, err)
	return nil, s.rowError(c, arr, base, row, cause)
}

func (s *castStage) rowError(c columnCast, arr arrow.Array, base int64, row int, cause error) error {
	if row < 0 {
		return &stages.ColumnError{Column: c.name, Msg: fmt.Sprintf("cannot cast %s to %s: %v", c.from, c.to, cause)}
	}
	return &stages.ColumnError{Column: c.name, Msg: fmt.Sprintf("row %d: cannot cast value %s from %s to %s: %v",
		base+int64(row), quoteValue(arr, row), c.from, c.to, cause)}
}

// quoteValue renders row i of arr for an error message.
func quoteValue(arr arrow.Array, i int) string {
	v := arr.ValueStr(i)
	if len(v) > 64 {
		v = v[:61] + "..."
	}
	return fmt.Sprintf("%q", v)
}

// firstBadRow finds the first row of arr whose cast fails, by bisection over
// zero-copy slices: the failing prefix halves each step, so the search costs
// about one more cast of arr. It returns -1 and err when no single row fails.
func firstBadRow(ctx context.Context, arr arrow.Array, opts *compute.CastOptions, err error) (int, error) {
	lo, hi := 0, arr.Len()
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		if e := tryCast(ctx, arr, lo, mid, opts); e != nil {
			hi, err = mid, e
		} else {
			lo = mid
		}
	}
	if hi-lo != 1 {
		return -1, err
	}
	if e := tryCast(ctx, arr, lo, hi, opts); e != nil {
		return lo, e
	}
	return -1, err
}

func tryCast(ctx context.Context, arr arrow.Array, i, j int, opts *compute.CastOptions) error {
	sl := array.NewSlice(arr, int64(i), int64(j))
	defer sl.Release()
	out, err := compute.CastArray(ctx, sl, opts)
	if err != nil {
		return err
	}
	out.Release()
	return nil
}

// computeCtx returns ctx carrying mem for arrow compute kernels, with
// compute's own parallelism off: the runner owns the stage's goroutines.
func computeCtx(ctx context.Context, mem memory.Allocator) context.Context {
	ec := compute.DefaultExecCtx()
	ec.NumParallel = 1
	return compute.WithAllocator(compute.SetExecCtx(ctx, ec), mem)
}

// count advances the row count that numbers rows in errors past a batch:
// one that succeeded, or a lone row that failed (the runtime isolates a
// failing batch's rows by processing halves in order and sets aside a lone
// failing row), so that the rows after it keep their numbers.
func (s *castStage) count(n int64, err *error) {
	if *err == nil || n == 1 {
		s.rows += n
	}
}
