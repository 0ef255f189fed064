package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// cDecls is what one cgo preamble declares, as Go declarations of the
// package-local names that stand for C.xxx (see cgoPrefix): decl maps a C
// name (without "C.") to its Go declaration text.
type cDecls struct {
	decl        map[string]string
	unsupported map[string]string // C names cgo cannot use, with the reason
}

func newCDecls() *cDecls { return &cDecls{decl: map[string]string{}, unsupported: map[string]string{}} }

// add records name with its Go declaration; a name declared twice must be
// declared the same way.
func (d *cDecls) add(name, goDecl string) error {
	if old, ok := d.decl[name]; ok {
		if old != goDecl {
			return fmt.Errorf("C.%s declared twice, differently:\n\t%s\n\t%s", name, old, goDecl)
		}
		return nil
	}
	d.decl[name] = goDecl
	return nil
}

// has reports whether C.name is declared.
func (d *cDecls) has(name string) bool { _, ok := d.decl[name]; return ok }

// cgoPrefix replaces "C." in the rewritten sources: it has the same length,
// so every position the type checker reports is the original file's.
const cgoPrefix = "_C"

// goName is the package-local Go name of C.name.
func goName(name string) string { return cgoPrefix + name }

// builtinC is what cgo declares in every file that imports "C", whatever
// the preamble includes: the numeric types, with darwin/arm64 sizes (char
// is signed there), and void, the result type of a void function.
var builtinC = map[string]string{
	"char": "int8", "schar": "int8", "uchar": "uint8", "short": "int16", "ushort": "uint16",
	"int": "int32", "uint": "uint32", "long": "int64", "ulong": "uint64",
	"longlong": "int64", "ulonglong": "uint64", "float": "float32", "double": "float64",
	"_Bool": "bool", "void": "[0]byte",
}

// systemHeaders are the system headers a preamble (or an included header)
// may include, reduced to what cgo would declare from them on
// darwin/arm64. An include of any other system header is an error: add it
// here, with Apple's types, rather than let its names go unchecked.
var systemHeaders = map[string]string{
	"stdint.h": `typedef signed char int8_t; typedef short int16_t; typedef int int32_t;
		typedef long long int64_t; typedef unsigned char uint8_t; typedef unsigned short uint16_t;
		typedef unsigned int uint32_t; typedef unsigned long long uint64_t;
		typedef long intptr_t; typedef unsigned long uintptr_t;`,
	"stddef.h":  `typedef unsigned long size_t; typedef long ptrdiff_t;`,
	"stdbool.h": ``,
	"stdlib.h": `typedef unsigned long size_t; void *malloc(size_t n); void *calloc(size_t n, size_t size);
		void *realloc(void *p, size_t n); void free(void *p);`,
	"string.h": `typedef unsigned long size_t; void *memcpy(void *dst, const void *src, size_t n);
		void *memset(void *dst, int c, size_t n); size_t strlen(const char *s);`,
}

// cgoHelpers are cgo's own functions, in Go.
var cgoHelpers = map[string]string{
	"CString":   "func _CCString(string) *_Cchar",
	"CBytes":    "func _CCBytes([]byte) unsafe.Pointer",
	"GoString":  "func _CGoString(*_Cchar) string",
	"GoStringN": "func _CGoStringN(*_Cchar, _Cint) string",
	"GoBytes":   "func _CGoBytes(unsafe.Pointer, _Cint) []byte",
}

// preamble turns a cgo preamble (the comment above import "C") into the
// Go declarations cgo would generate for it; dir is the Go file's folder,
// where quoted includes are looked up, and read reads them.
func preamble(text, dir string, read func(string) ([]byte, error)) (*cDecls, error) {
	p := &cParser{d: newCDecls(), dir: dir, read: read, typedefs: map[string]bool{}, included: map[string]bool{},
		tags: map[string]bool{}, defined: map[string]bool{}}
	for _, m := range []map[string]string{builtinC, cgoHelpers} {
		names := make([]string, 0, len(m))
		for name := range m {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			decl := m[name]
			if !strings.HasPrefix(decl, "func ") {
				decl = fmt.Sprintf("type %s %s", goName(name), decl)
			}
			_ = p.d.add(name, decl)
		}
	}
	if err := p.source(text, "preamble"); err != nil {
		return nil, err
	}
	p.finishStructs()
	return p.d, nil
}

var (
	includeRE = regexp.MustCompile(`^#\s*include\s*([<"])([^>"]+)[>"]`)
	defineRE  = regexp.MustCompile(`^#\s*define\s+([A-Za-z_]\w*)\s+(.+)$`)
	intLitRE  = regexp.MustCompile(`^(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*$`)
)

// source reads C text: preprocessor lines first (include, define; the
// others, #if included, are ignored, so both branches of an #if count),
// then the declarations between them.
func (p *cParser) source(text, where string) error {
	text = stripComments(text)
	text = strings.ReplaceAll(text, "\\\n", " ")
	var code strings.Builder
	for _, line := range strings.Split(text, "\n") {
		t := strings.TrimSpace(line)
		if !strings.HasPrefix(t, "#") {
			code.WriteString(line)
			code.WriteByte('\n')
			continue
		}
		if m := includeRE.FindStringSubmatch(t); m != nil {
			if err := p.include(m[1] == "<", m[2]); err != nil {
				return fmt.Errorf("%s: %w", where, err)
			}
		} else if m := defineRE.FindStringSubmatch(t); m != nil && intLitRE.MatchString(strings.TrimSpace(m[2])) {
			lit := strings.TrimRight(strings.TrimSpace(m[2]), "uUlL")
			if err := p.d.add(m[1], fmt.Sprintf("const %s = %s", goName(m[1]), lit)); err != nil {
				return err
			}
		}
	}
	if err := p.decls(tokenize(code.String())); err != nil {
		return fmt.Errorf("%s: %w", where, err)
	}
	return nil
}

// include reads a system header from systemHeaders or a quoted header from
// the Go file's folder, once each.
func (p *cParser) include(system bool, name string) error {
	key := name
	if !system {
		key = filepath.Join(p.dir, name)
	}
	if p.included[key] {
		return nil
	}
	p.included[key] = true
	if system {
		text, ok := systemHeaders[name]
		if !ok {
			return fmt.Errorf("#include <%s>: not a header this checker knows; add what cgo declares from it to systemHeaders", name)
		}
		return p.source(text, "<"+name+">")
	}
	b, err := p.read(key)
	if err != nil {
		return fmt.Errorf("#include %q: %w", name, err)
	}
	return p.source(string(b), key)
}

// stripComments blanks C comments, keeping newlines and string literals.
func stripComments(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '"' || s[i] == '\'':
			j := i + 1
			for j < len(s) && s[j] != s[i] && s[j] != '\n' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			end := min(j+1, len(s))
			b.WriteString(s[i:end])
			i = end - 1
		case strings.HasPrefix(s[i:], "//"):
			for i < len(s) && s[i] != '\n' {
				i++
			}
			b.WriteByte('\n')
		case strings.HasPrefix(s[i:], "/*"):
			end := strings.Index(s[i+2:], "*/")
			if end < 0 {
				end = len(s) - i - 2
			}
			b.WriteString(strings.Repeat("\n", strings.Count(s[i:i+2+end], "\n")) + " ")
			i += 2 + end + 1
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

var tokenRE = regexp.MustCompile(`[A-Za-z_]\w*|0[xX][0-9a-fA-F]+[uUlL]*|[0-9]+[uUlL]*|\.\.\.|<<|>>|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|\S`)

// tokenize splits C code into tokens.
func tokenize(code string) []string { return tokenRE.FindAllString(code, -1) }

// overlay holds replacement contents of files by absolute path (the tests
// plant errors there); read prefers them to the files on disk.
type overlay map[string][]byte

func (o overlay) read(path string) ([]byte, error) {
	if b, ok := o[path]; ok {
		return b, nil
	}
	return os.ReadFile(path)
}
