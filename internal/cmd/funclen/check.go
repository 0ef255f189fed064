package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// A finding is a function over the limit, or an allowlist entry that no
// longer names one.
type finding struct {
	pos   token.Position // the func keyword; zero for a stale entry
	name  string
	lines int
	stale bool
}

func (f finding) String() string {
	if f.stale {
		return fmt.Sprintf("allowlist: %s is no longer a long function: remove it from the list", f.name)
	}
	return fmt.Sprintf("%s: %s is %d lines", f.pos, f.name, f.lines)
}

// check parses the non-test Go files of each directory and returns the
// functions longer than max lines that neither a // long: line nor allow
// excuses, then the allowlist entries that excuse nothing.
func check(dirs []string, max int, allow allowlist) ([]finding, error) {
	var found []finding
	used := map[string]bool{}
	for _, dir := range dirs {
		files, err := goFiles(dir)
		if err != nil {
			return nil, err
		}
		fset := token.NewFileSet()
		for _, path := range files {
			f, err := parser.ParseFile(fset, path, nil, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			for _, fn := range longFuncs(fset, f, max) {
				name := qualified(dir, fn)
				switch {
				case allow[name] != "":
					used[name] = true
				case longReason(fn.Doc) == "":
					found = append(found, finding{pos: fset.Position(fn.Pos()), name: name, lines: span(fset, fn)})
				}
			}
		}
	}
	for _, name := range staleEntries(dirs, allow, used) {
		found = append(found, finding{name: name, stale: true})
	}
	return found, nil
}

// staleEntries returns, sorted, the allowlist entries of the checked
// directories that excused no function: an entry for a package not
// checked in this run says nothing.
func staleEntries(dirs []string, allow allowlist, used map[string]bool) []string {
	var stale []string
	for name := range allow {
		for _, dir := range dirs {
			if strings.HasPrefix(name, filepath.ToSlash(filepath.Clean(dir))+".") && !used[name] {
				stale = append(stale, name)
				break
			}
		}
	}
	slices.Sort(stale)
	return stale
}

// goFiles lists the Go files of dir, tests left out.
func goFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if !e.IsDir() && strings.HasSuffix(n, ".go") && !strings.HasSuffix(n, "_test.go") {
			files = append(files, filepath.Join(dir, n))
		}
	}
	return files, nil
}

// longFuncs returns the functions and methods of f spanning more than max
// lines.
func longFuncs(fset *token.FileSet, f *ast.File, max int) []*ast.FuncDecl {
	var out []*ast.FuncDecl
	for _, d := range f.Decls {
		if fn, ok := d.(*ast.FuncDecl); ok && fn.Body != nil && span(fset, fn) > max {
			out = append(out, fn)
		}
	}
	return out
}

// span counts the lines from fn's func keyword to its closing brace.
func span(fset *token.FileSet, fn *ast.FuncDecl) int {
	return fset.Position(fn.Body.Rbrace).Line - fset.Position(fn.Type.Func).Line + 1
}

// longReason returns the reason of a "long: <reason>" line in doc, or "".
func longReason(doc *ast.CommentGroup) string {
	if doc == nil {
		return ""
	}
	for _, c := range doc.List {
		text, ok := strings.CutPrefix(c.Text, "//")
		if !ok {
			continue
		}
		if reason, ok := strings.CutPrefix(strings.TrimSpace(text), "long:"); ok {
			return strings.TrimSpace(reason)
		}
	}
	return ""
}

// qualified names fn as the allowlist does: the package directory, then
// the function, or the receiver type and method as a stack trace writes
// them: pipeline.Build, pipeline.(*Pipeline).Run, stages/model.plan.cost.
func qualified(dir string, fn *ast.FuncDecl) string {
	pkg := filepath.ToSlash(filepath.Clean(dir))
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return pkg + "." + fn.Name.Name
	}
	typ := fn.Recv.List[0].Type
	star := false
	if s, ok := typ.(*ast.StarExpr); ok {
		typ, star = s.X, true
	}
	switch t := typ.(type) { // drop type parameters: (*T[K]).M is (*T).M
	case *ast.IndexExpr:
		typ = t.X
	case *ast.IndexListExpr:
		typ = t.X
	}
	recv := fmt.Sprint(typ)
	if id, ok := typ.(*ast.Ident); ok {
		recv = id.Name
	}
	if star {
		recv = "(*" + recv + ")"
	}
	return pkg + "." + recv + "." + fn.Name.Name
}
