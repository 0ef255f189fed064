package source

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/bits"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// GenerateConfig is the `with:` block of a generate stage.
type GenerateConfig struct {
	Count      int64           `yaml:"count" required:"true" doc:"Number of rows to generate."`
	Seed       int64           `yaml:"seed" doc:"Seed of the random values; the same seed gives the same rows."`
	BatchRows  int             `yaml:"batch_rows" doc:"Largest number of rows in one emitted batch; the rows do not depend on it."`
	BatchBytes stages.ByteSize `yaml:"batch_bytes" doc:"Largest size of one emitted batch: many or wide columns get fewer rows per batch than batch_rows. Up to 1GiB; one row above it is an error."`
	Columns    []GenColumn     `yaml:"columns" required:"true" doc:"The columns to generate, in order (keys: name, type, distribution, min, max, mean, std, values, length, dims, null_fraction)."`
}

// GenColumn describes one generated column.
type GenColumn struct {
	Name         string   `yaml:"name" required:"true" doc:"Column name."`
	Type         string   `yaml:"type" required:"true" doc:"int64, int32, float64, float32, string, bool or vector (fixed_size_list<float32>[dims])."`
	Distribution string   `yaml:"distribution" doc:"sequence (ints' default), uniform (floats', strings', bools' and vectors' default), normal, constant or choice."`
	Min          *float64 `yaml:"min" doc:"Lower bound of uniform (default 0); first value of sequence (default 0)."`
	Max          *float64 `yaml:"max" doc:"Upper bound of uniform: exclusive for floats (default 1), inclusive for ints (default 1000)."`
	Mean         *float64 `yaml:"mean" doc:"Mean of normal (default 0)."`
	Std          *float64 `yaml:"std" doc:"Standard deviation of normal (default 1)."`
	Values       []string `yaml:"values" doc:"The values of choice, or the single value of constant."`
	Length       int      `yaml:"length" doc:"Length of random strings (default 16)."`
	Dims         int      `yaml:"dims" doc:"Length of each vector (required for vector)."`
	NullFraction float64  `yaml:"null_fraction" doc:"Fraction of rows that are null, 0 to 1 (default 0)."`
}

func init() {
	stages.MustRegister(stages.Type[GenerateConfig]{
		Name: "generate",
		Kind: stages.KindSource,
		Spec: stages.Spec{
			Summary: "Generates synthetic rows for examples, tests and benchmarks.",
			Description: "Generates `count` rows of the listed columns. Every value is a pure function of " +
				"(seed, column name, row number), so the output is the same whatever `batch_rows` is, " +
				"and adding or reordering columns does not change the others.\n\n" +
				"Types: `int64`, `int32`, `float64`, `float32`, `string`, `bool`, and `vector` " +
				"(a `fixed_size_list<float32>[dims]` column, the shape model stages take).\n\n" +
				"Distributions: `sequence` (min, min+1, ...; the default for ints), `uniform` " +
				"(the default otherwise; random lowercase strings of `length`), `normal` (`mean`, `std`), " +
				"`constant` (`values: [x]`) and `choice` (uniform over `values`).\n\n" +
				"Work units (resumable and sharded runs): consecutive row ranges of the unit's rows; a unit " +
				"yields exactly the rows the full run gives those row numbers.\n\n" +
				"Memory: a batch holds at most `batch_rows` rows and at most `batch_bytes` bytes, so many or wide " +
				"columns get smaller batches; columns whose one row takes more than `batch_bytes` are an error.",
			Example: "- id: gen\n  type: generate\n  with:\n    count: 1000000\n    columns:\n" +
				"      - {name: id, type: int64}\n      - {name: amount, type: float32, distribution: normal, mean: 50, std: 10}\n" +
				"      - {name: country, type: string, distribution: choice, values: [fr, de, us]}\n" +
				"      - {name: x, type: vector, dims: 32}\n",
		},
		Defaults: func() GenerateConfig {
			return GenerateConfig{Seed: 1, BatchRows: defaultBatchRows, BatchBytes: defaultBatchBytes}
		},
		New: func(c GenerateConfig, env *stages.Env) (stages.Stage, error) {
			return NewGenerate(c, env.Mem)
		},
	})
}

// Generate is the generate stage. It implements [stages.Source] and
// [stages.RowCounter].
type Generate struct {
	mem       memory.Allocator
	batchRows int
	schema    *arrow.Schema
	cols      []*genColumn
	ranges    []rowRange // the rows to generate, in order: [0, count) unless sharded
	ri        int        // index in ranges of the range being generated
	row       int64      // next row of ranges[ri]
	closed    bool
}

// rowRange is the rows [start, end) of a generator.
type rowRange struct{ start, end int64 }

// genColumn is a compiled [GenColumn].
type genColumn struct {
	GenColumn
	key, nullKey uint64
	dist         string
	lo, hi       float64 // uniform bounds; sequence start in lo
	mean, std    float64
	ivals        []int64
	fvals        []float64
	bvals        []bool
	nullCut      uint64 // a row is null when its null hash < nullCut
}

// NewGenerate builds a generate source; batches are allocated from mem.
func NewGenerate(c GenerateConfig, mem memory.Allocator) (*Generate, error) {
	if err := checkBatchRows(c.BatchRows); err != nil {
		return nil, err
	}
	if c.Count < 0 {
		return nil, fmt.Errorf("count must not be negative, got %d", c.Count)
	}
	if len(c.Columns) == 0 {
		return nil, fmt.Errorf("columns: at least one column is required")
	}
	budget, err := sizeSetting("batch_bytes", c.BatchBytes, defaultBatchBytes, maxBatchBytes)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	g := &Generate{mem: mem, batchRows: c.BatchRows, ranges: []rowRange{{0, c.Count}}}
	fields := make([]arrow.Field, len(c.Columns))
	seen := map[string]bool{}
	for i, col := range c.Columns {
		if col.Name == "" {
			return nil, fmt.Errorf("columns[%d]: name is empty", i)
		}
		if seen[col.Name] {
			return nil, &stages.ColumnError{Column: col.Name, Msg: "listed twice"}
		}
		seen[col.Name] = true
		gc, dt, err := compileGenColumn(col, uint64(c.Seed))
		if err != nil {
			return nil, &stages.ColumnError{Column: col.Name, Msg: err.Error()}
		}
		g.cols = append(g.cols, gc)
		fields[i] = arrow.Field{Name: col.Name, Type: dt, Nullable: col.NullFraction > 0}
	}
	g.schema = arrow.NewSchema(fields, nil)
	width := g.rowBytes()
	if width > budget {
		return nil, fmt.Errorf("%w: one generated row takes %d bytes, more than batch_bytes (%s): raise batch_bytes or generate fewer or shorter columns",
			ErrLimit, width, stages.ByteSize(budget))
	}
	g.batchRows = batchRowsFor(c.BatchRows, budget, width)
	return g, nil
}

// rowBytes returns the bytes one row of the generated columns takes.
func (g *Generate) rowBytes() int64 {
	var n int64
	for i, c := range g.cols {
		w := rowBytes(g.schema.Field(i).Type) - 1 // no validity byte: a bitmap
		if c.nullCut > 0 {
			w++
		}
		if c.Type == "string" {
			l := 0
			if c.dist == "uniform" {
				l = c.Length
			}
			for _, v := range c.Values {
				l = max(l, len(v))
			}
			w += int64(l)
		}
		n += w
	}
	return max(n, 1)
}

// compileGenColumn checks a column's settings and works out what its
// values are drawn from; it returns the column's Arrow type.
func compileGenColumn(c GenColumn, seed uint64) (*genColumn, arrow.DataType, error) {
	h := fnv.New64a()
	h.Write([]byte(c.Name))
	gc := &genColumn{GenColumn: c}
	gc.key = mix(seed ^ mix(h.Sum64()))
	gc.nullKey = mix(gc.key ^ 0x6e756c6c)
	if err := gc.compileNulls(); err != nil {
		return nil, nil, err
	}
	t, ok := genTypes[c.Type]
	if !ok {
		return nil, nil, fmt.Errorf("unknown type %q; valid types: int64, int32, float64, float32, string, bool, vector", c.Type)
	}
	dt, err := t.arrow(c)
	if err != nil {
		return nil, nil, err
	}
	if err := gc.compileShape(); err != nil {
		return nil, nil, err
	}
	gc.dist = c.Distribution
	if gc.dist == "" {
		gc.dist = "uniform"
		if t.class == genInt {
			gc.dist = "sequence"
		}
	}
	compile, ok := genDists[gc.dist]
	if !ok {
		return nil, nil, fmt.Errorf("unknown distribution %q; valid: sequence, uniform, normal, constant, choice", gc.dist)
	}
	if err := compile(gc, t); err != nil {
		return nil, nil, err
	}
	if gc.dist != "constant" && gc.dist != "choice" && len(c.Values) > 0 {
		return nil, nil, fmt.Errorf("values applies to distributions constant and choice only")
	}
	return gc, dt, nil
}

// compileNulls turns null_fraction into the cut of the null hash.
func (gc *genColumn) compileNulls() error {
	f := gc.NullFraction
	if f < 0 || f > 1 || math.IsNaN(f) {
		return fmt.Errorf("null_fraction must be between 0 and 1, got %v", f)
	}
	if f >= 1 {
		gc.nullCut = math.MaxUint64
	} else {
		gc.nullCut = uint64(f * (1 << 64))
	}
	return nil
}

// compileShape checks dims and length, and gives length its default.
func (gc *genColumn) compileShape() error {
	if gc.Dims != 0 && gc.Type != "vector" {
		return fmt.Errorf("dims applies to vector columns only")
	}
	if gc.Length < 0 {
		return fmt.Errorf("length must not be negative, got %d", gc.Length)
	}
	if gc.Length == 0 {
		gc.Length = 16
	}
	return nil
}

// genClass groups column types by the values they hold, which decides the
// distributions they take.
type genClass int

const (
	genOther genClass = iota // string, bool
	genInt
	genFloat // floats and vectors
)

// genType is what a column type compiles with: its class, its Arrow type,
// and how it reads one of `values`.
type genType struct {
	class genClass
	arrow func(GenColumn) (arrow.DataType, error)
	value func(gc *genColumn, v string) error
}

// genTypes holds the column types by name.
var genTypes = map[string]genType{
	"int64":   {genInt, fixedType(arrow.PrimitiveTypes.Int64), intValue},
	"int32":   {genInt, fixedType(arrow.PrimitiveTypes.Int32), intValue},
	"float64": {genFloat, fixedType(arrow.PrimitiveTypes.Float64), floatValue},
	"float32": {genFloat, fixedType(arrow.PrimitiveTypes.Float32), floatValue},
	"string":  {genOther, fixedType(arrow.BinaryTypes.String), stringValue},
	"bool":    {genOther, fixedType(arrow.FixedWidthTypes.Boolean), boolValue},
	// Vectors take no values (constant and choice refuse them).
	"vector": {genFloat, genVectorType, floatValue},
}

func fixedType(dt arrow.DataType) func(GenColumn) (arrow.DataType, error) {
	return func(GenColumn) (arrow.DataType, error) { return dt, nil }
}

func genVectorType(c GenColumn) (arrow.DataType, error) {
	if c.Dims < 1 {
		return nil, fmt.Errorf("vector needs dims of at least 1, got %d", c.Dims)
	}
	return arrow.FixedSizeListOf(int32(c.Dims), arrow.PrimitiveTypes.Float32), nil
}

func intValue(gc *genColumn, v string) error {
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || (gc.Type == "int32" && int64(int32(n)) != n) {
		return fmt.Errorf("value %q is not an %s", v, gc.Type)
	}
	gc.ivals = append(gc.ivals, n)
	return nil
}

func floatValue(gc *genColumn, v string) error {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil {
		return fmt.Errorf("value %q is not a number", v)
	}
	gc.fvals = append(gc.fvals, f)
	return nil
}

func boolValue(gc *genColumn, v string) error {
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		return fmt.Errorf("value %q is not a bool", v)
	}
	gc.bvals = append(gc.bvals, b)
	return nil
}

// stringValue accepts every value: string columns draw from Values itself.
func stringValue(*genColumn, string) error { return nil }

// genDists holds the distributions by name, each checking that it applies
// to the column and reading its settings.
var genDists = map[string]func(gc *genColumn, t genType) error{
	"sequence": compileSequence,
	"uniform":  compileUniform,
	"normal":   compileNormal,
	"constant": compileValues,
	"choice":   compileValues,
}

func compileSequence(gc *genColumn, t genType) error {
	if t.class == genOther || gc.Type == "vector" {
		return fmt.Errorf("distribution sequence applies to int and float columns")
	}
	gc.lo = valueOr(gc.Min, 0)
	return nil
}

func compileUniform(gc *genColumn, t genType) error {
	defMax := 1.0
	if t.class == genInt {
		defMax = 1000
	}
	gc.lo, gc.hi = valueOr(gc.Min, 0), valueOr(gc.Max, defMax)
	if gc.hi < gc.lo || (t.class == genFloat && gc.hi == gc.lo) {
		return fmt.Errorf("uniform needs min < max, got min %v, max %v", gc.lo, gc.hi)
	}
	return nil
}

func compileNormal(gc *genColumn, t genType) error {
	if t.class == genOther {
		return fmt.Errorf("distribution normal applies to number and vector columns")
	}
	gc.mean, gc.std = valueOr(gc.Mean, 0), valueOr(gc.Std, 1)
	if gc.std < 0 {
		return fmt.Errorf("std must not be negative, got %v", gc.std)
	}
	return nil
}

// compileValues reads the values of constant and choice.
func compileValues(gc *genColumn, t genType) error {
	if gc.Type == "vector" {
		return fmt.Errorf("distribution %s does not apply to vector columns", gc.dist)
	}
	if len(gc.Values) == 0 {
		return fmt.Errorf("distribution %s needs values", gc.dist)
	}
	if gc.dist == "constant" && len(gc.Values) != 1 {
		return fmt.Errorf("distribution constant needs exactly one value, got %d", len(gc.Values))
	}
	for _, v := range gc.Values {
		if err := t.value(gc, v); err != nil {
			return err
		}
	}
	return nil
}

// valueOr returns *p, or def when the setting is not given.
func valueOr(p *float64, def float64) float64 {
	if p == nil {
		return def
	}
	return *p
}

// Schema returns the schema of every batch.
func (g *Generate) Schema() *arrow.Schema { return g.schema }

// TotalRows returns count, or for a shard the rows of its units.
func (g *Generate) TotalRows() (int64, bool) {
	var n int64
	for _, r := range g.ranges {
		n += r.end - r.start
	}
	return n, true
}

// Next returns the next batch of at most batch_rows rows, owned by the
// caller, or io.EOF after count rows (a shard: after its units' rows). A
// batch never spans two units of a shard.
func (g *Generate) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if g.closed {
		return nil, errors.New("generate: closed")
	}
	for g.ri < len(g.ranges) && g.row >= g.ranges[g.ri].end {
		g.ri++
		if g.ri < len(g.ranges) {
			g.row = g.ranges[g.ri].start
		}
	}
	if g.ri >= len(g.ranges) {
		return nil, io.EOF
	}
	n := min(int64(g.batchRows), g.ranges[g.ri].end-g.row)
	cols := make([]arrow.Array, len(g.cols))
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	g.fillColumns(cols, g.row, int(n))
	g.row += n
	return array.NewRecordBatch(g.schema, cols, n), nil
}

// fillColumns builds the columns of rows [start, start+n), spreading the
// columns over GOMAXPROCS goroutines for large batches. Every goroutine has
// returned when it returns.
func (g *Generate) fillColumns(cols []arrow.Array, start int64, n int) {
	workers := min(runtime.GOMAXPROCS(0), len(g.cols))
	if workers < 2 || n*len(g.cols) < 1<<16 {
		for i, c := range g.cols {
			cols[i] = c.fill(g.mem, g.schema.Field(i).Type, start, n)
		}
		return
	}
	var (
		wg   sync.WaitGroup
		next atomic.Int64
	)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= len(g.cols) {
					return
				}
				cols[i] = g.cols[i].fill(g.mem, g.schema.Field(i).Type, start, n)
			}
		})
	}
	wg.Wait()
}

// Close ends the generator: Next fails from then on. A generator holds no
// other resources.
func (g *Generate) Close() error {
	g.closed = true
	return nil
}

// mix is the splitmix64 finalizer: a fast bijective 64-bit hash.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

const golden = 0x9e3779b97f4a7c15

// at returns the random 64 bits of value i (a row, or a row's element) of the
// stream keyed by key.
func at(key uint64, i uint64) uint64 { return mix(key + i*golden) }

// unit maps 64 random bits to [0, 1).
func unit(h uint64) float64 { return float64(h>>11) * (1.0 / (1 << 53)) }

// normal maps 64 random bits to a standard normal value (Box-Muller).
func normal(h uint64) float64 {
	u1 := (float64(h>>32) + 0.5) * (1.0 / (1 << 32))
	u2 := float64(uint32(h)) * (1.0 / (1 << 32))
	return math.Sqrt(-2*math.Log(u1)) * math.Cos(2*math.Pi*u2)
}

// float returns value i of a float column.
func (c *genColumn) float(i uint64) float64 {
	switch c.dist {
	case "sequence":
		return c.lo + float64(i)
	case "uniform":
		return c.lo + unit(at(c.key, i))*(c.hi-c.lo)
	case "normal":
		return c.mean + c.std*normal(at(c.key, i))
	case "constant":
		return c.fvals[0]
	default: // choice
		hi, _ := bits.Mul64(at(c.key, i), uint64(len(c.fvals)))
		return c.fvals[hi]
	}
}

// int returns value i of an int column.
func (c *genColumn) int(i uint64) int64 {
	switch c.dist {
	case "sequence":
		return int64(c.lo) + int64(i)
	case "uniform":
		span := uint64(int64(c.hi)-int64(c.lo)) + 1
		if span == 0 { // the whole int64 range
			return int64(at(c.key, i))
		}
		hi, _ := bits.Mul64(at(c.key, i), span)
		return int64(c.lo) + int64(hi)
	case "normal":
		return int64(math.Round(c.mean + c.std*normal(at(c.key, i))))
	case "constant":
		return c.ivals[0]
	default:
		hi, _ := bits.Mul64(at(c.key, i), uint64(len(c.ivals)))
		return c.ivals[hi]
	}
}

// newBuf allocates a buffer of n bytes from mem.
func newBuf(mem memory.Allocator, n int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(n)
	return b
}

// validity builds the validity bitmap of rows [start, start+n), or nil
// when the column has no nulls.
func (c *genColumn) validity(mem memory.Allocator, start int64, n int) (*memory.Buffer, int) {
	if c.nullCut == 0 {
		return nil, 0
	}
	b := newBuf(mem, int(bitutil.BytesForBits(int64(n))))
	bm := b.Bytes()
	clear(bm)
	nulls := 0
	for r := range n {
		if at(c.nullKey, uint64(start)+uint64(r)) >= c.nullCut {
			bitutil.SetBit(bm, r)
		} else {
			nulls++
		}
	}
	return b, nulls
}

// fill builds the array of rows [start, start+n).
func (c *genColumn) fill(mem memory.Allocator, dt arrow.DataType, start int64, n int) arrow.Array {
	valid, nulls := c.validity(mem, start, n)
	bufs := []*memory.Buffer{valid, nil}
	var children []arrow.ArrayData
	s := uint64(start)
	switch c.Type {
	case "int64":
		b := newBuf(mem, n*8)
		v := arrow.Int64Traits.CastFromBytes(b.Bytes())
		for r := range v {
			v[r] = c.int(s + uint64(r))
		}
		bufs[1] = b
	case "int32":
		b := newBuf(mem, n*4)
		v := arrow.Int32Traits.CastFromBytes(b.Bytes())
		for r := range v {
			v[r] = int32(c.int(s + uint64(r)))
		}
		bufs[1] = b
	case "float64":
		b := newBuf(mem, n*8)
		v := arrow.Float64Traits.CastFromBytes(b.Bytes())
		for r := range v {
			v[r] = c.float(s + uint64(r))
		}
		bufs[1] = b
	case "float32":
		b := newBuf(mem, n*4)
		c.fillFloat32(arrow.Float32Traits.CastFromBytes(b.Bytes()), s)
		bufs[1] = b
	case "bool":
		b := newBuf(mem, int(bitutil.BytesForBits(int64(n))))
		bm := b.Bytes()
		clear(bm)
		for r := range n {
			var v bool
			switch c.dist {
			case "constant":
				v = c.bvals[0]
			case "choice":
				hi, _ := bits.Mul64(at(c.key, s+uint64(r)), uint64(len(c.bvals)))
				v = c.bvals[hi]
			default:
				v = at(c.key, s+uint64(r))>>63 == 1
			}
			if v {
				bitutil.SetBit(bm, r)
			}
		}
		bufs[1] = b
	case "string":
		offs, data := c.fillStrings(mem, s, n)
		bufs = append(bufs, data)
		bufs[1] = offs
	case "vector":
		dims := c.Dims
		b := newBuf(mem, n*dims*4)
		c.fillFloat32(arrow.Float32Traits.CastFromBytes(b.Bytes()), s*uint64(dims))
		child := array.NewData(arrow.PrimitiveTypes.Float32, n*dims, []*memory.Buffer{nil, b}, nil, 0, 0)
		b.Release()
		children = []arrow.ArrayData{child}
		bufs = bufs[:1]
		defer child.Release()
	}
	data := array.NewData(dt, n, bufs, children, nulls, 0)
	for _, b := range bufs {
		if b != nil {
			b.Release()
		}
	}
	defer data.Release()
	return array.MakeFromData(data)
}

// fillFloat32 fills v with values first, first+1, ... of a float stream.
// Uniform values take 32 bits of one hash each: value i uses half i%2 of
// the hash of i/2, so a value still depends only on its index.
func (c *genColumn) fillFloat32(v []float32, first uint64) {
	switch c.dist {
	case "uniform":
		lo, span := float32(c.lo), float32(c.hi-c.lo)
		const scale = 1.0 / (1 << 24)
		r := 0
		if first&1 == 1 && len(v) > 0 {
			v[0] = lo + float32(uint32(at(c.key, first>>1))>>8)*scale*span
			r = 1
		}
		x := c.key + ((first+uint64(r))>>1)*golden
		for ; r+1 < len(v); r += 2 {
			h := mix(x)
			x += golden
			v[r] = lo + float32(h>>40)*scale*span
			v[r+1] = lo + float32(uint32(h)>>8)*scale*span
		}
		if r < len(v) {
			v[r] = lo + float32(mix(x)>>40)*scale*span
		}
	default:
		for r := range v {
			v[r] = float32(c.float(first + uint64(r)))
		}
	}
}

// fillStrings builds the offsets and data buffers of n strings.
func (c *genColumn) fillStrings(mem memory.Allocator, s uint64, n int) (*memory.Buffer, *memory.Buffer) {
	offs := newBuf(mem, (n+1)*4)
	o := arrow.Int32Traits.CastFromBytes(offs.Bytes())
	if c.dist == "uniform" {
		l := c.Length
		data := newBuf(mem, n*l)
		d := data.Bytes()
		chunks := uint64((l + 11) / 12)
		for r := range n {
			o[r] = int32(r * l)
			row := d[r*l : (r+1)*l]
			base := (s + uint64(r)) * chunks
			for k := uint64(0); k < chunks; k++ {
				h := at(c.key, base+k)
				part := row[k*12:]
				for j := 0; j < 12 && j < len(part); j++ {
					part[j] = 'a' + byte(((h&31)*26)>>5)
					h >>= 5
				}
			}
		}
		o[n] = int32(n * l)
		return offs, data
	}
	total := 0
	pick := func(r int) string {
		if c.dist == "constant" {
			return c.Values[0]
		}
		hi, _ := bits.Mul64(at(c.key, s+uint64(r)), uint64(len(c.Values)))
		return c.Values[hi]
	}
	for r := range n {
		total += len(pick(r))
	}
	data := newBuf(mem, total)
	d := data.Bytes()
	pos := 0
	for r := range n {
		o[r] = int32(pos)
		pos += copy(d[pos:], pick(r))
	}
	o[n] = int32(pos)
	return offs, data
}
