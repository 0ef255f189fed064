package transform

import (
	"github.com/apache/arrow-go/v18/arrow"
)

// Predicate is a compiled filter expression (the language of the filter
// stage's `where`), for other packages that evaluate it on batches of their
// own: a file source prunes Hive partition folders with it. A Predicate is
// not safe for concurrent use.
type Predicate struct {
	p     pred
	truth []byte
}

// CompilePredicate parses expr and checks it against schema. An error is an
// [*ExprError] naming the position of the problem (an unknown column, a
// comparison of mismatched types).
func CompilePredicate(expr string, schema *arrow.Schema) (*Predicate, error) {
	p, err := compileExpr(expr, schema)
	if err != nil {
		return nil, err
	}
	return &Predicate{p: p}, nil
}

// Keep reports, for each row of rec (which must have the schema the
// predicate was compiled against), whether the expression is true; false
// and null (unknown) both give false, as the filter stage drops such rows.
func (p *Predicate) Keep(rec arrow.RecordBatch) []bool {
	n := int(rec.NumRows())
	if cap(p.truth) < n {
		p.truth = make([]byte, n)
	}
	truth := p.truth[:n]
	p.p.eval(rec, truth)
	out := make([]bool, n)
	for i, v := range truth {
		out[i] = v == vTrue
	}
	return out
}

// CompilePrefilter compiles the conditions that expr joins with a
// top-level `and` and that check against schema, leaving out those that do
// not (they name a column schema lacks). The result is a necessary
// condition: a row for which it is not true cannot make expr true, whatever
// the columns left out hold, so a caller that knows only some columns can
// drop such rows early. ok is false when no condition checks. A syntax
// error in expr is returned.
func CompilePrefilter(expr string, schema *arrow.Schema) (p *Predicate, ok bool, err error) {
	e, err := parseExpr(expr)
	if err != nil {
		return nil, false, err
	}
	c := &compiler{src: expr, schema: schema}
	var out pred
	for _, conj := range conjuncts(e, nil) {
		q, err := c.pred(conj)
		if err != nil {
			continue
		}
		if out == nil {
			out = q
		} else {
			out = &logicPred{l: out, r: q}
		}
	}
	if out == nil {
		return nil, false, nil
	}
	return &Predicate{p: out}, true, nil
}

// conjuncts appends to out the operands of e's top-level `and`s, or e.
func conjuncts(e expr, out []expr) []expr {
	if l, ok := e.(*logicExpr); ok && !l.or {
		return conjuncts(l.r, conjuncts(l.l, out))
	}
	return append(out, e)
}
