package transform

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// ExprError is a problem with a filter expression, found when it is parsed
// or checked against the input schema. Pos is the 1-based character
// position in Expr. Err, when set, is the underlying cause (a
// [*stages.ColumnError] for an unknown column).
type ExprError struct {
	Expr string
	Pos  int
	Msg  string
	Err  error
}

func (e *ExprError) Error() string {
	near := ""
	if e.Pos >= 1 {
		// Quote the text from the error's position, for context.
		rs := []rune(e.Expr)
		if e.Pos-1 < len(rs) {
			tail := rs[e.Pos-1:]
			if len(tail) > 24 {
				tail = append(tail[:21:21], []rune("...")...)
			}
			near = fmt.Sprintf(" (at %q)", string(tail))
		} else {
			near = " (at the end)"
		}
	}
	return fmt.Sprintf("where: char %d%s: %s", e.Pos, near, e.Msg)
}

// Unwrap returns the underlying cause, if any.
func (e *ExprError) Unwrap() error { return e.Err }

// maxExprDepth bounds the nesting of parentheses and `not`s.
const maxExprDepth = 100

type tokKind int

const (
	tokEOF tokKind = iota
	tokIdent
	tokInt
	tokFloat
	tokString
	tokOp      // == != < <= > >= - ( ) ,
	tokKeyword // and or not is null in true false
)

type token struct {
	kind tokKind
	text string // identifier name, literal text or string value, operator, lower-case keyword
	pos  int    // 1-based character position
}

var keywords = map[string]bool{"and": true, "or": true, "not": true, "is": true, "null": true, "in": true, "true": true, "false": true}

// lex splits src into tokens.
func lex(src string) ([]token, error) {
	var toks []token
	i, pos := 0, 1 // byte offset, character position
	advance := func(n int) {
		pos += utf8.RuneCountInString(src[i : i+n])
		i += n
	}
	for i < len(src) {
		c := src[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			advance(1)
		case isIdentStart(c):
			j := i + 1
			for j < len(src) && (isIdentStart(src[j]) || isDigit(src[j])) {
				j++
			}
			word := src[i:j]
			if lw := strings.ToLower(word); keywords[lw] {
				toks = append(toks, token{tokKeyword, lw, pos})
			} else {
				toks = append(toks, token{tokIdent, word, pos})
			}
			advance(j - i)
		case isDigit(c) || (c == '.' && i+1 < len(src) && isDigit(src[i+1])):
			n, kind := scanNumber(src[i:])
			j := i + n
			if j < len(src) && isIdentStart(src[j]) {
				return nil, &ExprError{Expr: src, Pos: pos, Msg: fmt.Sprintf("malformed number %q", src[i:j+1])}
			}
			toks = append(toks, token{kind, src[i:j], pos})
			advance(j - i)
		case c == '\'' || c == '"':
			s, n, ok := scanQuoted(src[i:], c)
			if !ok {
				what := "string"
				if c == '"' {
					what = "quoted column name"
				}
				return nil, &ExprError{Expr: src, Pos: pos, Msg: "unterminated " + what}
			}
			kind := tokString
			if c == '"' {
				kind = tokIdent
				if s == "" {
					return nil, &ExprError{Expr: src, Pos: pos, Msg: "empty column name"}
				}
			}
			toks = append(toks, token{kind, s, pos})
			advance(n)
		default:
			op := matchOp(src[i:])
			if op == "" {
				r, _ := utf8.DecodeRuneInString(src[i:])
				return nil, &ExprError{Expr: src, Pos: pos, Msg: fmt.Sprintf("unexpected character %q", r)}
			}
			toks = append(toks, token{tokOp, op, pos})
			advance(len(op))
		}
	}
	return append(toks, token{tokEOF, "", pos}), nil
}

// scanNumber returns the length of the number at the start of s, an
// integer or a float with a fraction or an exponent, and its kind.
func scanNumber(s string) (n int, kind tokKind) {
	j, kind := 0, tokInt
	for j < len(s) && isDigit(s[j]) {
		j++
	}
	if j < len(s) && s[j] == '.' {
		kind = tokFloat
		j++
		for j < len(s) && isDigit(s[j]) {
			j++
		}
	}
	if j < len(s) && (s[j] == 'e' || s[j] == 'E') {
		k := j + 1
		if k < len(s) && (s[k] == '+' || s[k] == '-') {
			k++
		}
		if k < len(s) && isDigit(s[k]) {
			kind = tokFloat
			for j = k; j < len(s) && isDigit(s[j]); j++ {
			}
		}
	}
	return j, kind
}

// matchOp returns the operator at the start of s, longest first, or "".
func matchOp(s string) string {
	for _, o := range []string{"==", "!=", "<>", "<=", ">=", "=", "<", ">", "(", ")", ",", "-"} {
		if strings.HasPrefix(s, o) {
			return o
		}
	}
	return ""
}

func isIdentStart(c byte) bool { return c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z') }

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// scanQuoted reads a quoted text starting at s[0] == q, where a doubled
// quote stands for one. It returns the text, the bytes consumed and whether
// the closing quote was found.
func scanQuoted(s string, q byte) (string, int, bool) {
	var b strings.Builder
	for j := 1; j < len(s); j++ {
		if s[j] != q {
			b.WriteByte(s[j])
			continue
		}
		if j+1 < len(s) && s[j+1] == q {
			b.WriteByte(q)
			j++
			continue
		}
		return b.String(), j + 1, true
	}
	return "", 0, false
}

// The syntax tree of a filter expression.
type (
	expr interface{ position() int }

	// logicExpr is `l and r` or `l or r`.
	logicExpr struct {
		or   bool
		l, r expr
		pos  int
	}
	notExpr struct {
		x   expr
		pos int
	}
	cmpExpr struct {
		op   cmpOp
		l, r expr
		pos  int // of the operator
	}
	nullExpr struct {
		x   expr
		not bool
		pos int // of `is`
	}
	inExpr struct {
		x    expr
		list []*litExpr
		not  bool
		pos  int // of `in`
	}
	colExpr struct {
		name string
		pos  int
	}
	litExpr struct {
		kind litKind
		i    int64   // litInt
		u    uint64  // litUint: an integer above MaxInt64
		f    float64 // litFloat, and the value of every numeric literal
		s    string  // litString
		b    bool    // litBool
		text string  // as written
		pos  int
	}
)

func (e *logicExpr) position() int { return e.pos }
func (e *notExpr) position() int   { return e.pos }
func (e *cmpExpr) position() int   { return e.pos }
func (e *nullExpr) position() int  { return e.pos }
func (e *inExpr) position() int    { return e.pos }
func (e *colExpr) position() int   { return e.pos }
func (e *litExpr) position() int   { return e.pos }

type litKind int

const (
	litInt litKind = iota + 1
	litUint
	litFloat
	litString
	litBool
)

// cmpOp is a comparison operator.
type cmpOp int

const (
	opEq cmpOp = iota
	opNe
	opLt
	opLe
	opGt
	opGe
)

var cmpOps = map[string]cmpOp{"==": opEq, "=": opEq, "!=": opNe, "<>": opNe, "<": opLt, "<=": opLe, ">": opGt, ">=": opGe}

// flip returns the operator with its operands swapped: a < b is b > a.
func (op cmpOp) flip() cmpOp {
	switch op {
	case opLt:
		return opGt
	case opLe:
		return opGe
	case opGt:
		return opLt
	case opGe:
		return opLe
	}
	return op
}

// parser is a recursive-descent parser over the tokens of one expression.
type parser struct {
	src   string
	toks  []token
	i     int
	depth int
}

// parseExpr parses a filter expression into its syntax tree.
func parseExpr(src string) (expr, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	p := &parser{src: src, toks: toks}
	if p.peek().kind == tokEOF {
		return nil, p.errf(p.peek(), "empty expression")
	}
	e, err := p.parseOr()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, p.errf(t, "unexpected %s; expected and, or, or the end", describeTok(t))
	}
	return e, nil
}

func (p *parser) peek() token { return p.toks[p.i] }

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) isKeyword(word string) bool {
	t := p.peek()
	return t.kind == tokKeyword && t.text == word
}

func (p *parser) errf(t token, format string, args ...any) error {
	return &ExprError{Expr: p.src, Pos: t.pos, Msg: fmt.Sprintf(format, args...)}
}

func describeTok(t token) string {
	switch t.kind {
	case tokEOF:
		return "end of expression"
	case tokIdent:
		return fmt.Sprintf("column %q", t.text)
	case tokString:
		return fmt.Sprintf("string '%s'", t.text)
	case tokInt, tokFloat:
		return "number " + t.text
	}
	return fmt.Sprintf("%q", t.text)
}

func (p *parser) parseOr() (expr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("or") {
		t := p.next()
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = &logicExpr{or: true, l: l, r: r, pos: t.pos}
	}
	return l, nil
}

func (p *parser) parseAnd() (expr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isKeyword("and") {
		t := p.next()
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = &logicExpr{l: l, r: r, pos: t.pos}
	}
	return l, nil
}

func (p *parser) parseNot() (expr, error) {
	if !p.isKeyword("not") {
		return p.parsePred()
	}
	t := p.next()
	if p.depth++; p.depth > maxExprDepth {
		return nil, p.errf(t, "expression nested too deeply")
	}
	defer func() { p.depth-- }()
	x, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	return &notExpr{x: x, pos: t.pos}, nil
}

func (p *parser) parsePred() (expr, error) {
	x, err := p.parseOperand()
	if err != nil {
		return nil, err
	}
	t := p.peek()
	switch {
	case t.kind == tokOp:
		op, ok := cmpOps[t.text]
		if !ok {
			return x, nil
		}
		p.next()
		y, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		return &cmpExpr{op: op, l: x, r: y, pos: t.pos}, nil
	case p.isKeyword("is"):
		p.next()
		not := false
		if p.isKeyword("not") {
			p.next()
			not = true
		}
		if !p.isKeyword("null") {
			return nil, p.errf(p.peek(), "expected null after is, got %s", describeTok(p.peek()))
		}
		p.next()
		return &nullExpr{x: x, not: not, pos: t.pos}, nil
	case p.isKeyword("in"), p.isKeyword("not") && p.toks[p.i+1].kind == tokKeyword && p.toks[p.i+1].text == "in":
		not := p.next().text == "not"
		in := t
		if not {
			in = p.next()
		}
		list, err := p.parseList()
		if err != nil {
			return nil, err
		}
		return &inExpr{x: x, list: list, not: not, pos: in.pos}, nil
	}
	return x, nil
}

func (p *parser) parseList() ([]*litExpr, error) {
	if t := p.next(); t.kind != tokOp || t.text != "(" {
		return nil, p.errf(t, "expected ( after in, got %s", describeTok(t))
	}
	var list []*litExpr
	for {
		t := p.peek()
		e, err := p.parseOperand()
		if err != nil {
			return nil, err
		}
		lit, ok := e.(*litExpr)
		if !ok {
			return nil, p.errf(t, "the list of in holds literals only")
		}
		list = append(list, lit)
		switch t := p.next(); {
		case t.kind == tokOp && t.text == ",":
		case t.kind == tokOp && t.text == ")":
			return list, nil
		default:
			return nil, p.errf(t, "expected , or ) in the list of in, got %s", describeTok(t))
		}
	}
}

func (p *parser) parseOperand() (expr, error) {
	t := p.next()
	switch t.kind {
	case tokIdent:
		return &colExpr{name: t.text, pos: t.pos}, nil
	case tokInt, tokFloat:
		return p.number(t, t.text)
	case tokString:
		return &litExpr{kind: litString, s: t.text, text: "'" + t.text + "'", pos: t.pos}, nil
	case tokKeyword:
		switch t.text {
		case "true", "false":
			return &litExpr{kind: litBool, b: t.text == "true", text: t.text, pos: t.pos}, nil
		case "null":
			return nil, p.errf(t, "null is not a value here; use `x is null` or `x is not null`")
		}
	case tokOp:
		switch t.text {
		case "(":
			if p.depth++; p.depth > maxExprDepth {
				return nil, p.errf(t, "expression nested too deeply")
			}
			e, err := p.parseOr()
			p.depth--
			if err != nil {
				return nil, err
			}
			if c := p.next(); c.kind != tokOp || c.text != ")" {
				return nil, p.errf(c, "expected ) to close the ( at char %d, got %s", t.pos, describeTok(c))
			}
			return e, nil
		case "-":
			n := p.next()
			if n.kind != tokInt && n.kind != tokFloat {
				return nil, p.errf(n, "expected a number after -, got %s", describeTok(n))
			}
			return p.number(t, "-"+n.text)
		}
	}
	return nil, p.errf(t, "expected a column, a literal or (, got %s", describeTok(t))
}

// number makes a numeric literal of text, positioned at t.
func (p *parser) number(t token, text string) (expr, error) {
	f, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return nil, p.errf(t, "number %s is out of range", text)
	}
	lit := &litExpr{kind: litFloat, f: f, text: text, pos: t.pos}
	if t.kind == tokFloat || strings.ContainsAny(text, ".eE") {
		return lit, nil
	}
	if i, err := strconv.ParseInt(text, 10, 64); err == nil {
		lit.kind, lit.i = litInt, i
	} else if u, err := strconv.ParseUint(text, 10, 64); err == nil {
		lit.kind, lit.u = litUint, u
	}
	return lit, nil
}
