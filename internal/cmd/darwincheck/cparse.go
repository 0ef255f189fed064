package main

import (
	"fmt"
	"go/token"
	"regexp"
	"strings"
)

// cParser reads the subset of C that cgo preambles and shim headers use:
// typedefs, structs, enums, #define'd integer constants, function
// prototypes (and static function definitions, whose bodies it skips) and
// global variables. Anything else is an error, so that nothing is silently
// typed loosely. Types are kept as Go type text; "void" stands for C's void.
type cParser struct {
	d        *cDecls
	dir      string // the Go file's folder: quoted includes
	read     func(string) ([]byte, error)
	typedefs map[string]bool // typedef names seen so far
	included map[string]bool
	tags     map[string]bool // struct tags referenced
	defined  map[string]bool // struct tags with a body
	toks     []string
	pos      int
}

const void = "void"

var (
	identRE  = regexp.MustCompile(`^[A-Za-z_]\w*$`)
	macroRE  = regexp.MustCompile(`^[A-Z_][A-Z0-9_]*$`)
	skipWord = map[string]bool{
		"const": true, "volatile": true, "restrict": true, "__restrict": true, "static": true,
		"extern": true, "inline": true, "__inline": true, "__inline__": true, "register": true,
		"_Nonnull": true, "_Nullable": true, "_Null_unspecified": true, "__nonnull": true, "__nullable": true,
	}
	baseWord = map[string]bool{
		"signed": true, "unsigned": true, "short": true, "long": true, "int": true, "char": true,
		"float": true, "double": true, "void": true, "_Bool": true, "bool": true,
	}
)

func (p *cParser) peek() string { return p.peekN(0) }

func (p *cParser) peekN(n int) string {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return ""
}

func (p *cParser) accept(tok string) bool {
	if p.peek() == tok {
		p.pos++
		return true
	}
	return false
}

func (p *cParser) expect(tok string) error {
	if !p.accept(tok) {
		return p.errorf("expected %q", tok)
	}
	return nil
}

// errorf reports a parse error with the tokens around it.
func (p *cParser) errorf(format string, args ...any) error {
	lo, hi := max(p.pos-6, 0), min(p.pos+6, len(p.toks))
	return fmt.Errorf("%s, near %q (C the checker cannot read: extend internal/cmd/darwincheck)",
		fmt.Sprintf(format, args...), strings.Join(p.toks[lo:hi], " "))
}

// skipBalanced skips a bracketed group that starts at the current token.
func (p *cParser) skipBalanced(open, close string) error {
	depth := 0
	for p.pos < len(p.toks) {
		switch p.toks[p.pos] {
		case open:
			depth++
		case close:
			depth--
		}
		p.pos++
		if depth == 0 {
			return nil
		}
	}
	return p.errorf("unbalanced %q", open)
}

// skipAttributes skips __attribute__((...)), __asm__(...) and
// availability macros such as API_AVAILABLE(macos(14.4)).
func (p *cParser) skipAttributes() error {
	for {
		t := p.peek()
		if !(t == "__attribute__" || t == "__asm__" || t == "__asm" || macroRE.MatchString(t)) || p.peekN(1) != "(" {
			return nil
		}
		p.pos++
		if err := p.skipBalanced("(", ")"); err != nil {
			return err
		}
	}
}

// decls reads declarations until the tokens run out.
func (p *cParser) decls(toks []string) error {
	p.toks, p.pos = toks, 0
	for p.pos < len(p.toks) {
		if err := p.statement(); err != nil {
			return err
		}
	}
	return nil
}

// statement reads one declaration (or function definition).
func (p *cParser) statement() error {
	if p.accept(";") {
		return nil
	}
	typedef := false
	base, err := p.specifiers(&typedef)
	if err != nil {
		return err
	}
	if p.accept(";") {
		return nil // a struct or enum definition alone
	}
	for {
		name, t, params, err := p.declarator(base)
		if err != nil {
			return err
		}
		if err := p.skipAttributes(); err != nil {
			return err
		}
		if name == "" {
			return p.errorf("declaration without a name")
		}
		switch {
		case typedef:
			err = p.typedef(name, t, params != nil)
		case params != nil:
			err = p.function(name, t, params)
			if err == nil && p.peek() == "{" {
				return p.skipBalanced("{", "}") // a static function's body
			}
		default:
			err = p.d.add(name, fmt.Sprintf("var %s %s", goName(name), t))
		}
		if err != nil {
			return err
		}
		if !p.accept(",") {
			return p.expect(";")
		}
	}
}

// typedef records typedef t name.
func (p *cParser) typedef(name, t string, isFunc bool) error {
	if isFunc {
		return p.errorf("typedef of a function type %s", name)
	}
	p.typedefs[name] = true
	if t == void {
		t = goName("void")
	}
	if strings.HasPrefix(t, "struct {") {
		return p.d.add(name, fmt.Sprintf("type %s %s", goName(name), t))
	}
	return p.d.add(name, fmt.Sprintf("type %s = %s", goName(name), t))
}

// function records a prototype; params nil-free, possibly ending in "...".
func (p *cParser) function(name, ret string, params []string) error {
	if len(params) > 0 && params[len(params)-1] == "..." {
		p.d.unsupported[name] = "variadic C functions cannot be called from Go"
		return nil
	}
	if ret == void {
		ret = goName("void")
	}
	ps := make([]string, len(params))
	for i, t := range params {
		ps[i] = fmt.Sprintf("p%d %s", i, t)
	}
	return p.d.add(name, fmt.Sprintf("func %s(%s) %s", goName(name), strings.Join(ps, ", "), ret))
}

// specifiers reads the type specifiers of a declaration and returns the
// base type; typedef, when not nil, is set by a typedef keyword.
func (p *cParser) specifiers(typedef *bool) (string, error) {
	var words []string
	t := ""
	for {
		tok := p.peek()
		switch {
		case tok == "typedef" && typedef != nil:
			*typedef = true
			p.pos++
		case skipWord[tok]:
			p.pos++
		case tok == "__attribute__" || (macroRE.MatchString(tok) && p.peekN(1) == "(" && t == "" && words == nil):
			if err := p.skipAttributes(); err != nil {
				return "", err
			}
		case baseWord[tok] && t == "":
			words = append(words, tok)
			p.pos++
		case (tok == "struct" || tok == "union" || tok == "enum") && t == "" && words == nil:
			p.pos++
			var err error
			if t, err = p.tagged(tok); err != nil {
				return "", err
			}
		case p.typedefs[tok] && t == "" && words == nil:
			t = goName(tok)
			p.pos++
		default:
			if words != nil {
				return baseType(words)
			}
			if t == "" {
				return "", p.errorf("expected a type")
			}
			return t, nil
		}
	}
}

// baseType names a C arithmetic type spelt with several words.
func baseType(words []string) (string, error) {
	n := map[string]int{}
	for _, w := range words {
		n[w]++
	}
	u := n["unsigned"] > 0
	pick := func(signed, unsigned string) string {
		if u {
			return goName(unsigned)
		}
		return goName(signed)
	}
	switch {
	case n["void"] > 0:
		return void, nil
	case n["_Bool"]+n["bool"] > 0:
		return goName("_Bool"), nil
	case n["float"] > 0:
		return goName("float"), nil
	case n["double"] > 0 && n["long"] > 0:
		return "", fmt.Errorf("long double has no Go type")
	case n["double"] > 0:
		return goName("double"), nil
	case n["char"] > 0 && !u && n["signed"] > 0:
		return goName("schar"), nil
	case n["char"] > 0:
		return pick("char", "uchar"), nil
	case n["short"] > 0:
		return pick("short", "ushort"), nil
	case n["long"] >= 2:
		return pick("longlong", "ulonglong"), nil
	case n["long"] == 1:
		return pick("long", "ulong"), nil
	}
	return pick("int", "uint"), nil
}

// tagged reads the rest of a struct, union or enum specifier.
func (p *cParser) tagged(kind string) (string, error) {
	tag := ""
	if identRE.MatchString(p.peek()) {
		tag = p.toks[p.pos]
		p.pos++
	}
	switch kind {
	case "union":
		return "", p.errorf("unions are not supported")
	case "enum":
		if p.peek() == "{" {
			if err := p.enumerators(); err != nil {
				return "", err
			}
		}
		return goName("uint"), nil // cgo's type for enums without negative values
	}
	if p.peek() != "{" {
		if tag == "" {
			return "", p.errorf("struct without a tag or a body")
		}
		p.tags[tag] = true
		return goName("struct_" + tag), nil
	}
	body, err := p.fields()
	if err != nil {
		return "", err
	}
	if tag == "" {
		return body, nil
	}
	p.tags[tag], p.defined[tag] = true, true
	return goName("struct_" + tag), p.d.add("struct_"+tag, fmt.Sprintf("type %s %s", goName("struct_"+tag), body))
}

// fields reads a struct body into a Go struct type; cgo prefixes field
// names that are Go keywords with an underscore.
func (p *cParser) fields() (string, error) {
	if err := p.expect("{"); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("struct {")
	for !p.accept("}") {
		base, err := p.specifiers(nil)
		if err != nil {
			return "", err
		}
		for {
			name, t, params, err := p.declarator(base)
			if err != nil {
				return "", err
			}
			if params != nil || name == "" || t == void {
				return "", p.errorf("unsupported field")
			}
			if p.peek() == ":" {
				return "", p.errorf("bit fields are not supported")
			}
			if token.IsKeyword(name) {
				name = "_" + name
			}
			fmt.Fprintf(&b, "\n\t%s %s", name, t)
			if !p.accept(",") {
				break
			}
		}
		if err := p.expect(";"); err != nil {
			return "", err
		}
	}
	b.WriteString("\n}")
	return b.String(), nil
}

// enumerators reads an enum body into untyped constants, as cgo exposes
// them; values are C constant expressions written as Go ones.
func (p *cParser) enumerators() error {
	if err := p.expect("{"); err != nil {
		return err
	}
	prev := ""
	for !p.accept("}") {
		name := p.peek()
		if !identRE.MatchString(name) {
			return p.errorf("expected an enumerator")
		}
		p.pos++
		value := "0"
		if prev != "" {
			value = goName(prev) + " + 1"
		}
		if p.accept("=") {
			var err error
			if value, err = p.constExpr(); err != nil {
				return err
			}
		}
		if err := p.d.add(name, fmt.Sprintf("const %s = %s", goName(name), value)); err != nil {
			return err
		}
		prev = name
		if !p.accept(",") && p.peek() != "}" {
			return p.errorf("expected , or }")
		}
	}
	return nil
}

// constExpr translates an integer constant expression up to "," or "}".
func (p *cParser) constExpr() (string, error) {
	var out []string
	for depth := 0; ; p.pos++ {
		tok := p.peek()
		switch {
		case tok == "":
			return "", p.errorf("unterminated constant expression")
		case (tok == "," || tok == "}") && depth == 0:
			if out == nil {
				return "", p.errorf("empty constant expression")
			}
			return strings.Join(out, " "), nil
		case tok == "(":
			depth++
		case tok == ")":
			depth--
		case tok == "~":
			tok = "^"
		case intLitRE.MatchString(tok):
			tok = strings.TrimRight(tok, "uUlL")
		case identRE.MatchString(tok):
			if !strings.HasPrefix(p.d.decl[tok], "const ") {
				return "", p.errorf("%s is not a known constant", tok)
			}
			tok = goName(tok)
		case !strings.Contains("+-*/%|&^<<>>", tok):
			return "", p.errorf("unsupported operator %q in a constant expression", tok)
		}
		out = append(out, tok)
	}
}

// finishStructs declares the struct tags that were used but never defined
// (incomplete types, such as a shim's opaque handle).
func (p *cParser) finishStructs() {
	for tag := range p.tags {
		if !p.defined[tag] {
			_ = p.d.add("struct_"+tag, fmt.Sprintf("type %s struct{}", goName("struct_"+tag)))
		}
	}
}

// declarator reads pointers, a name (optional in parameters), array sizes
// and a parameter list. It returns the declared type and, for a function,
// its parameter types (non-nil, possibly empty); the type is then the
// result type.
func (p *cParser) declarator(base string) (name, t string, params []string, err error) {
	t = base
	for p.accept("*") {
		t = pointerTo(t)
		for skipWord[p.peek()] {
			p.pos++
		}
	}
	if p.peek() == "(" && p.peekN(1) == "*" { // function pointer: (*name)(params)
		p.pos += 2
		if identRE.MatchString(p.peek()) {
			name = p.toks[p.pos]
			p.pos++
		}
		if err := p.expect(")"); err != nil {
			return "", "", nil, err
		}
		if p.peek() != "(" {
			return "", "", nil, p.errorf("expected a parameter list")
		}
		return name, "*[0]byte", nil, p.skipBalanced("(", ")")
	}
	if identRE.MatchString(p.peek()) && !skipWord[p.peek()] {
		name = p.toks[p.pos]
		p.pos++
	}
	if p.peek() == "(" {
		params, err = p.params()
		return name, t, params, err
	}
	var dims []string
	for p.accept("[") {
		n := p.peek()
		switch {
		case n == "]":
			dims = append(dims, "")
		case intLitRE.MatchString(n):
			dims = append(dims, strings.TrimRight(n, "uUlL"))
			p.pos++
		case strings.HasPrefix(p.d.decl[n], "const "):
			dims = append(dims, goName(n))
			p.pos++
		default:
			return "", "", nil, p.errorf("unsupported array size")
		}
		if err := p.expect("]"); err != nil {
			return "", "", nil, err
		}
	}
	for i := len(dims) - 1; i >= 0; i-- {
		if dims[i] == "" {
			t = pointerTo(t) // int a[] is a pointer (parameters only)
			continue
		}
		t = "[" + dims[i] + "]" + t
	}
	return name, t, nil, nil
}

// pointerTo is cgo's Go type for a pointer to t.
func pointerTo(t string) string {
	if t == void {
		return "unsafe.Pointer"
	}
	return "*" + t
}

// params reads a parameter list; "..." marks a variadic function. Array
// parameters decay to pointers, as in C.
func (p *cParser) params() ([]string, error) {
	if err := p.expect("("); err != nil {
		return nil, err
	}
	params := []string{}
	if p.peek() == "void" && p.peekN(1) == ")" {
		p.pos++
	}
	for !p.accept(")") {
		if p.accept("...") {
			params = append(params, "...")
		} else {
			base, err := p.specifiers(nil)
			if err != nil {
				return nil, err
			}
			_, t, fn, err := p.declarator(base)
			if err != nil {
				return nil, err
			}
			switch {
			case fn != nil:
				t = "*[0]byte"
			case t == void:
				return nil, p.errorf("void parameter")
			case strings.HasPrefix(t, "["):
				t = pointerTo(t[strings.Index(t, "]")+1:])
			}
			params = append(params, t)
		}
		if !p.accept(",") && p.peek() != ")" {
			return nil, p.errorf("expected , or )")
		}
	}
	return params, nil
}
