package transform

import (
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/stages"
)

// pred is a compiled, type-checked filter expression. eval writes one truth
// byte (vFalse, vTrue, vNull) per row of rec into out[:rec.NumRows()].
type pred interface {
	eval(rec arrow.RecordBatch, out []byte)
}

// compileExpr parses src and checks it against schema.
func compileExpr(src string, schema *arrow.Schema) (pred, error) {
	e, err := parseExpr(src)
	if err != nil {
		return nil, err
	}
	c := &compiler{src: src, schema: schema}
	return c.pred(e)
}

type compiler struct {
	src    string
	schema *arrow.Schema
}

func (c *compiler) errf(pos int, format string, args ...any) error {
	return &ExprError{Expr: c.src, Pos: pos, Msg: fmt.Sprintf(format, args...)}
}

func (c *compiler) pred(e expr) (pred, error) {
	switch e := e.(type) {
	case *logicExpr:
		l, err := c.pred(e.l)
		if err != nil {
			return nil, err
		}
		r, err := c.pred(e.r)
		if err != nil {
			return nil, err
		}
		return &logicPred{or: e.or, l: l, r: r}, nil
	case *notExpr:
		x, err := c.pred(e.x)
		if err != nil {
			return nil, err
		}
		return &notPred{x: x}, nil
	case *cmpExpr:
		return c.compare(e.op, e.l, e.r, e.pos)
	case *nullExpr:
		o, err := c.operand(e.x)
		if err != nil {
			return nil, err
		}
		if o.lit != nil {
			return constPred{v: b2u(e.not)}, nil
		}
		return &isNullPred{col: o.col, not: e.not}, nil
	case *inExpr:
		var p pred
		for _, lit := range e.list {
			q, err := c.compare(opEq, e.x, lit, lit.pos)
			if err != nil {
				return nil, err
			}
			if p == nil {
				p = q
			} else {
				p = &logicPred{or: true, l: p, r: q}
			}
		}
		if e.not {
			p = &notPred{x: p}
		}
		return p, nil
	case *colExpr:
		o, err := c.operand(e)
		if err != nil {
			return nil, err
		}
		if o.class != classBool {
			return nil, c.errf(e.pos, "column %q is %s, not a condition; compare it, as in %s > 0", e.name, o.typ, quoteIdent(e.name))
		}
		return &boolColPred{col: o.col}, nil
	case *litExpr:
		if e.kind != litBool {
			return nil, c.errf(e.pos, "%s is not a condition", e.text)
		}
		return constPred{v: b2u(e.b)}, nil
	}
	return nil, c.errf(e.position(), "unexpected expression")
}

// quoteIdent writes a column name as it would appear in an expression.
func quoteIdent(name string) string {
	for i := range len(name) {
		if !isIdentStart(name[i]) && !(i > 0 && isDigit(name[i])) {
			return `"` + name + `"`
		}
	}
	return name
}

type valueClass int

const (
	classNum valueClass = iota + 1
	classStr
	classBool
	classTime // timestamp, date32, date64: compared within one type
)

// operand is one side of a comparison: a column or a literal.
type operand struct {
	col   int // -1 for a literal
	name  string
	typ   arrow.DataType
	class valueClass
	lit   *litExpr
	pos   int
}

func (o operand) describe() string {
	if o.lit != nil {
		switch o.lit.kind {
		case litString:
			return "string " + o.lit.text
		case litBool:
			return "bool " + o.lit.text
		}
		return "number " + o.lit.text
	}
	return fmt.Sprintf("column %q (%s)", o.name, o.typ)
}

func (c *compiler) operand(e expr) (operand, error) {
	switch e := e.(type) {
	case *colExpr:
		i, err := stages.Column(c.schema, e.name)
		if err != nil {
			return operand{}, &ExprError{Expr: c.src, Pos: e.pos, Msg: err.Error(), Err: err}
		}
		dt := c.schema.Field(i).Type
		o := operand{col: i, name: e.name, typ: dt, pos: e.pos}
		switch {
		case isNumeric(dt):
			o.class = classNum
		case dt.ID() == arrow.STRING || dt.ID() == arrow.LARGE_STRING:
			o.class = classStr
		case dt.ID() == arrow.BOOL:
			o.class = classBool
		case dt.ID() == arrow.TIMESTAMP || dt.ID() == arrow.DATE32 || dt.ID() == arrow.DATE64:
			o.class = classTime
		default:
			err := &stages.ColumnError{Column: e.name, Msg: fmt.Sprintf("has type %s, which a filter cannot compare", dt)}
			return operand{}, &ExprError{Expr: c.src, Pos: e.pos, Msg: err.Error(), Err: err}
		}
		return o, nil
	case *litExpr:
		o := operand{col: -1, lit: e, pos: e.pos}
		switch e.kind {
		case litString:
			o.class = classStr
		case litBool:
			o.class = classBool
		default:
			o.class = classNum
		}
		return o, nil
	}
	return operand{}, c.errf(e.position(), "expected a column or a literal in a comparison, not a condition")
}

// compare compiles `l op r`; pos places errors.
func (c *compiler) compare(op cmpOp, le, re expr, pos int) (pred, error) {
	l, err := c.operand(le)
	if err != nil {
		return nil, err
	}
	r, err := c.operand(re)
	if err != nil {
		return nil, err
	}
	if l.lit != nil && r.lit == nil {
		l, r, op = r, l, op.flip()
	}
	mismatch := func() error {
		return c.errf(pos, "cannot compare %s with %s", l.describe(), r.describe())
	}
	if l.lit != nil { // two literals
		if l.class != r.class {
			return nil, mismatch()
		}
		return constPred{v: b2u(cmpResult(compareLits(l.lit, r.lit), op))}, nil
	}
	if r.lit != nil {
		fn, err := c.compareConst(l, r.lit, op)
		if err != nil {
			return nil, err
		}
		if fn == nil {
			return nil, mismatch()
		}
		return &constCmpPred{col: l.col, fn: fn}, nil
	}
	if l.class != r.class || (l.class == classTime && !arrow.TypeEqual(l.typ, r.typ)) {
		return nil, mismatch()
	}
	return &colsCmpPred{a: l.col, b: r.col, op: op, class: l.class, num: commonNum(l.typ, r.typ)}, nil
}

// compareLits compares two literals of the same class: -1, 0 or 1.
func compareLits(a, b *litExpr) int {
	switch a.kind {
	case litString:
		return compareStrings(a.s, b.s)
	case litBool:
		return int(b2u(a.b)) - int(b2u(b.b))
	}
	if a.kind == litInt && b.kind == litInt {
		return cmpOrdered(a.i, b.i)
	}
	return cmpOrdered(a.f, b.f)
}

func cmpOrdered[T number](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// constFn compares a column with a constant, writing truth bytes (nulls
// are marked afterwards).
type constFn func(arr arrow.Array, out []byte)

// compareConst returns the kernel comparing column o with lit, nil when the
// types cannot be compared, or an error when lit cannot be read as a value
// of the column's type.
func (c *compiler) compareConst(o operand, lit *litExpr, op cmpOp) (constFn, error) {
	switch o.class {
	case classStr:
		if lit.kind != litString {
			return nil, nil
		}
		if o.typ.ID() == arrow.LARGE_STRING {
			return func(arr arrow.Array, out []byte) { cmpStrC(arr.(*array.LargeString), lit.s, op, out) }, nil
		}
		return func(arr arrow.Array, out []byte) { cmpStrC(arr.(*array.String), lit.s, op, out) }, nil
	case classBool:
		if lit.kind != litBool {
			return nil, nil
		}
		return func(arr arrow.Array, out []byte) { cmpBoolC(arr.(*array.Boolean), lit.b, op, out) }, nil
	case classTime:
		if lit.kind != litString {
			return nil, nil
		}
		v, err := parseTemporal(lit.s, o.typ)
		if err != nil {
			return nil, c.errf(lit.pos, "%s is not a %s: %v", lit.text, o.typ, err)
		}
		ilit := &litExpr{kind: litInt, i: v, f: float64(v)}
		if o.typ.ID() == arrow.DATE32 {
			return numConst[int32](ilit, op, false), nil
		}
		return numConst[int64](ilit, op, false), nil
	}
	if lit.kind == litString || lit.kind == litBool {
		return nil, nil
	}
	switch o.typ.ID() {
	case arrow.INT8:
		return numConst[int8](lit, op, false), nil
	case arrow.INT16:
		return numConst[int16](lit, op, false), nil
	case arrow.INT32:
		return numConst[int32](lit, op, false), nil
	case arrow.INT64:
		return numConst[int64](lit, op, false), nil
	case arrow.UINT8:
		return numConst[uint8](lit, op, false), nil
	case arrow.UINT16:
		return numConst[uint16](lit, op, false), nil
	case arrow.UINT32:
		return numConst[uint32](lit, op, false), nil
	case arrow.UINT64:
		return numConst[uint64](lit, op, false), nil
	case arrow.FLOAT32:
		return numConst[float32](lit, op, true), nil
	case arrow.FLOAT64:
		return numConst[float64](lit, op, true), nil
	}
	// float16: widen to float64 first.
	var scratch []float64
	return func(arr arrow.Array, out []byte) {
		scratch = convertInto(arr, scratch)
		cmpVC(scratch, lit.f, op, out)
	}, nil
}

// numConst compares a column of T with a numeric literal: natively in T when
// the literal is an integer that T holds, in float64 when either side is a
// float, and as a constant when the integer lies outside T's range.
func numConst[T number](lit *litExpr, op cmpOp, float bool) constFn {
	if float || lit.kind == litFloat {
		return func(arr arrow.Array, out []byte) { cmpVC(values[T](arr), lit.f, op, out) }
	}
	var t T
	fits, above := false, lit.kind == litUint || lit.i > 0
	if lit.kind == litUint {
		t = T(lit.u)
		fits = t >= 0 && uint64(t) == lit.u
	} else {
		t = T(lit.i)
		fits = int64(t) == lit.i && (t < 0) == (lit.i < 0)
	}
	if fits {
		return func(arr arrow.Array, out []byte) { cmpVC(values[T](arr), t, op, out) }
	}
	// Every value is below the literal (above: true) or above it.
	v := vFalse
	switch op {
	case opNe:
		v = vTrue
	case opLt, opLe:
		v = b2u(above)
	case opGt, opGe:
		v = b2u(!above)
	}
	return func(arr arrow.Array, out []byte) {
		for i := range out[:arr.Len()] {
			out[i] = v
		}
	}
}

// parseTemporal reads s as a raw value of the temporal type dt.
func parseTemporal(s string, dt arrow.DataType) (int64, error) {
	switch dt := dt.(type) {
	case *arrow.TimestampType:
		loc, err := dt.GetZone()
		if err != nil || loc == nil {
			loc = time.UTC
		}
		ts, _, err := arrow.TimestampFromStringInLocation(s, dt.Unit, loc)
		return int64(ts), err
	case *arrow.Date32Type, *arrow.Date64Type:
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return 0, fmt.Errorf("expected a date such as 2024-01-31")
		}
		if dt.ID() == arrow.DATE32 {
			return int64(arrow.Date32FromTime(t)), nil
		}
		return int64(arrow.Date64FromTime(t)), nil
	}
	return 0, fmt.Errorf("unsupported type")
}

// numDomain is the Go type two numeric columns are compared in.
type numDomain int

const (
	domInt numDomain = iota + 1
	domUint
	domFloat
)

// commonNum picks the comparison domain of two numeric (or two equal
// temporal) column types.
func commonNum(a, b arrow.DataType) numDomain {
	if !isInteger(a) && !isInteger(b) && !isFloat(a) && !isFloat(b) {
		return domInt // temporal
	}
	if isFloat(a) || isFloat(b) {
		return domFloat
	}
	ua, ub := isUnsigned(a), isUnsigned(b)
	switch {
	case ua && ub:
		return domUint
	case (ua && a.ID() == arrow.UINT64) || (ub && b.ID() == arrow.UINT64):
		return domFloat
	}
	return domInt
}

func isUnsigned(dt arrow.DataType) bool {
	switch dt.ID() {
	case arrow.UINT8, arrow.UINT16, arrow.UINT32, arrow.UINT64:
		return true
	}
	return false
}

// The compiled predicates.
type (
	constPred   struct{ v byte }
	boolColPred struct{ col int }
	isNullPred  struct {
		col int
		not bool
	}
	notPred   struct{ x pred }
	logicPred struct {
		or   bool
		l, r pred
		tmp  []byte
	}
	constCmpPred struct {
		col int
		fn  constFn
	}
	colsCmpPred struct {
		a, b   int
		op     cmpOp
		class  valueClass
		num    numDomain
		ia, ib []int64
		ua, ub []uint64
		fa, fb []float64
	}
)

func (p constPred) eval(rec arrow.RecordBatch, out []byte) {
	for i := range out[:rec.NumRows()] {
		out[i] = p.v
	}
}

func (p *boolColPred) eval(rec arrow.RecordBatch, out []byte) {
	a := rec.Column(p.col).(*array.Boolean)
	for i := range a.Len() {
		out[i] = b2u(a.Value(i))
	}
	markNulls(a, out)
}

func (p *isNullPred) eval(rec arrow.RecordBatch, out []byte) {
	a := rec.Column(p.col)
	for i := range a.Len() {
		out[i] = b2u(a.IsNull(i) != p.not)
	}
}

func (p *notPred) eval(rec arrow.RecordBatch, out []byte) {
	p.x.eval(rec, out)
	for i, v := range out[:rec.NumRows()] {
		out[i] = notTable[v]
	}
}

func (p *logicPred) eval(rec arrow.RecordBatch, out []byte) {
	n := int(rec.NumRows())
	p.l.eval(rec, out)
	if cap(p.tmp) < n {
		p.tmp = make([]byte, n)
	}
	tmp := p.tmp[:n]
	p.r.eval(rec, tmp)
	table := &andTable
	if p.or {
		table = &orTable
	}
	out = out[:n]
	for i, v := range tmp {
		out[i] = table[out[i]*3+v]
	}
}

func (p *constCmpPred) eval(rec arrow.RecordBatch, out []byte) {
	a := rec.Column(p.col)
	p.fn(a, out[:a.Len()])
	markNulls(a, out)
}

func (p *colsCmpPred) eval(rec arrow.RecordBatch, out []byte) {
	a, b := rec.Column(p.a), rec.Column(p.b)
	out = out[:a.Len()]
	switch p.class {
	case classStr:
		cmpStrV(a.(stringValuer), b.(stringValuer), p.op, out)
	case classBool:
		cmpBoolV(a.(*array.Boolean), b.(*array.Boolean), p.op, out)
	default:
		switch p.num {
		case domInt:
			p.ia, p.ib = convertInto(a, p.ia), convertInto(b, p.ib)
			cmpVV(p.ia, p.ib, p.op, out)
		case domUint:
			p.ua, p.ub = convertInto(a, p.ua), convertInto(b, p.ub)
			cmpVV(p.ua, p.ub, p.op, out)
		default:
			p.fa, p.fb = convertInto(a, p.fa), convertInto(b, p.fb)
			cmpVV(p.fa, p.fb, p.op, out)
		}
	}
	markNulls(a, out)
	markNulls(b, out)
}
