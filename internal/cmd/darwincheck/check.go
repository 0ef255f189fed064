package main

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"go/version"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
)

// finding is one type error, at a position in a checked file.
type finding struct {
	Pos token.Position
	Msg string
}

func (f finding) String() string { return fmt.Sprintf("%s: %s", f.Pos, f.Msg) }

// result is what one check found.
type result struct {
	Packages []string  // import paths checked (a test variant as "path [test]")
	Files    int       // distinct Go files of the module type-checked
	Deps     int       // dependencies type-checked for their API
	Findings []finding // sorted by position
}

// checker type-checks the darwin-only packages of one module.
type checker struct {
	goVersion string
	files     overlay
	fset      *token.FileSet
	targets   map[string]*target // checked in full, from source, with cgo
	deps      map[string]*dep    // everything else they import
	done      map[string]*types.Package
	busy      map[string]bool
	seen      map[string]bool // files checked
	res       result
}

// check type-checks every package of the module at root that has a
// darwin-only Go file, as GOOS=darwin GOARCH=arm64 CGO_ENABLED=1 builds it,
// with tests (in-package and external) when tests is set.
func check(root string, files overlay, tests bool) (*result, error) {
	root, err := filepath.Abs(root)
	if err != nil {
		return nil, err
	}
	modPath, goVersion, err := readModule(root)
	if err != nil {
		return nil, err
	}
	list, err := findTargets(root, modPath, darwinContext(files))
	if err != nil {
		return nil, err
	}
	c := &checker{goVersion: version.Lang(goVersion), files: files, fset: token.NewFileSet(),
		targets: map[string]*target{}, done: map[string]*types.Package{}, busy: map[string]bool{}, seen: map[string]bool{}}
	for _, t := range list {
		if !t.testOnly {
			c.targets[t.path] = t
		}
	}
	if c.deps, err = listDeps(root, c.depRoots(list, tests)); err != nil {
		return nil, err
	}
	for _, t := range list {
		if !t.testOnly {
			if _, err := c.pkg(t.path); err != nil {
				return nil, err
			}
		}
		if tests && len(t.bp.TestGoFiles)+len(t.bp.XTestGoFiles) > 0 {
			if err := c.checkTests(t); err != nil {
				return nil, err
			}
		}
	}
	c.res.Deps = len(c.done) - len(c.targets)
	sortFindings(&c.res)
	return &c.res, nil
}

// depRoots returns what the checked packages import, other than the
// targets themselves.
func (c *checker) depRoots(list []*target, tests bool) []string {
	roots := map[string]bool{}
	for _, t := range list {
		if t.testOnly && !tests {
			continue
		}
		imps := t.bp.Imports
		if tests {
			imps = fileList(imps, t.bp.TestImports, t.bp.XTestImports)
		}
		for _, p := range imps {
			if p != "C" && p != "unsafe" && c.targets[p] == nil {
				roots[p] = true
			}
		}
	}
	return sortedKeys(roots)
}

// pkg returns the checked (non-test) package of a target.
func (c *checker) pkg(path string) (*types.Package, error) {
	if p := c.done[path]; p != nil {
		return p, nil
	}
	if c.busy[path] {
		return nil, fmt.Errorf("import cycle through %s", path)
	}
	c.busy[path] = true
	t := c.targets[path]
	p, err := c.checkFiles(t, path, path, t.bp.Name, fileList(t.bp.GoFiles, t.bp.CgoFiles), &imports{c: c})
	c.done[path] = p
	return p, err
}

// checkTests checks a target with its in-package tests, then its external
// tests against that variant, as go test builds them.
func (c *checker) checkTests(t *target) error {
	under, err := c.checkFiles(t, t.path, t.path+" [test]", t.bp.Name, fileList(t.bp.GoFiles, t.bp.CgoFiles, t.bp.TestGoFiles), &imports{c: c})
	if err != nil || len(t.bp.XTestGoFiles) == 0 {
		return err
	}
	im := &imports{c: c, override: map[string]*types.Package{t.path: under}}
	_, err = c.checkFiles(t, t.path+"_test", t.path+"_test [test]", t.bp.Name+"_test", t.bp.XTestGoFiles, im)
	return err
}

// fileList concatenates lists of file names (or import paths).
func fileList(lists ...[]string) []string {
	var out []string
	for _, l := range lists {
		out = append(out, l...)
	}
	return out
}

// checkFiles parses and type-checks names (in t.dir) as package path
// (reported as label), resolving imports with im.
func (c *checker) checkFiles(t *target, path, label, name string, names []string, im *imports) (*types.Package, error) {
	var files []*ast.File
	var decls []*cDecls
	for _, n := range names {
		full := filepath.Join(t.dir, n)
		src, err := c.files.read(full)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(t.bp.CgoFiles, n) {
			f, err := parser.ParseFile(c.fset, full, src, parser.ParseComments|parser.SkipObjectResolution)
			if err != nil {
				return nil, err
			}
			files = append(files, f)
			continue
		}
		f, d, found, err := rewriteCgo(c.fset, full, src, c.files.read)
		if err != nil {
			return nil, err
		}
		files, decls = append(files, f), append(decls, d)
		c.res.Findings = append(c.res.Findings, found...)
	}
	for _, n := range names {
		c.seen[filepath.Join(t.dir, n)] = true
	}
	c.res.Files = len(c.seen)
	if decls != nil {
		src, err := fakeC(name, decls)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		f, err := parser.ParseFile(c.fset, filepath.Join(t.dir, "_darwincheck_cgo_types.go"), src, parser.SkipObjectResolution)
		if err != nil {
			return nil, fmt.Errorf("%s: generated C declarations do not parse (a checker bug): %w\n%s", path, err, src)
		}
		files = append(files, f)
	}
	c.res.Packages = append(c.res.Packages, label)
	conf := types.Config{
		GoVersion: c.goVersion,
		Importer:  im,
		Sizes:     types.SizesFor("gc", "arm64"),
		Error: func(err error) {
			var te types.Error
			if errors.As(err, &te) {
				c.res.Findings = append(c.res.Findings, finding{te.Fset.Position(te.Pos), cgoNames(te.Msg)})
			}
		},
	}
	p, _ := conf.Check(path, c.fset, files, nil) // errors went to conf.Error
	return p, nil
}

// imports resolves the imports of one package: through its ImportMap
// (vendored standard packages), override, the targets (checked here from
// source with cgo), then the other dependencies (type-checked from source
// without cgo and without function bodies).
type imports struct {
	c         *checker
	override  map[string]*types.Package
	importMap map[string]string
}

func (im *imports) Import(path string) (*types.Package, error) { return im.ImportFrom(path, "", 0) }

// ImportFrom implements [types.ImporterFrom].
func (im *imports) ImportFrom(path, dir string, mode types.ImportMode) (*types.Package, error) {
	if p := im.importMap[path]; p != "" {
		path = p
	}
	if p := im.override[path]; p != nil {
		return p, nil
	}
	switch {
	case path == "unsafe":
		return types.Unsafe, nil
	case im.c.targets[path] != nil:
		return im.c.pkg(path)
	case im.c.deps[path] != nil:
		return im.c.dep(path)
	}
	return nil, fmt.Errorf("%s is not among the listed dependencies", path)
}

// dep type-checks a dependency once, skipping function bodies: only its
// exported API matters here.
func (c *checker) dep(path string) (*types.Package, error) {
	if p := c.done[path]; p != nil {
		return p, nil
	}
	if c.busy[path] {
		return nil, fmt.Errorf("import cycle through %s", path)
	}
	c.busy[path] = true
	d := c.deps[path]
	if len(d.CgoFiles) > 0 {
		return nil, fmt.Errorf("%s has cgo files without cgo", path)
	}
	files := make([]*ast.File, 0, len(d.GoFiles))
	for _, n := range d.GoFiles {
		f, err := parser.ParseFile(c.fset, filepath.Join(d.Dir, n), nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		files = append(files, f)
	}
	var first error
	conf := types.Config{
		Importer:         &imports{c: c, importMap: d.ImportMap},
		Sizes:            types.SizesFor("gc", "arm64"),
		IgnoreFuncBodies: true,
		Error: func(err error) {
			if first == nil {
				first = err
			}
		},
	}
	p, _ := conf.Check(path, c.fset, files, nil)
	if first != nil {
		return nil, fmt.Errorf("type-checking %s for darwin/arm64: %w", path, first)
	}
	c.done[path] = p
	return p, nil
}

var cgoNameRE = regexp.MustCompile(`(^|[^\w.])` + cgoPrefix + `(\w+)`)

// cgoNames writes the rewritten C names of a message back as C.name.
func cgoNames(msg string) string { return cgoNameRE.ReplaceAllString(msg, "${1}C.${2}") }

// sortFindings sorts by position and drops repeats: a package's findings
// again from its test variant, and the type checker's "undefined: C.x"
// where the preamble check already reported C.x.
func sortFindings(r *result) {
	sort.SliceStable(r.Findings, func(i, j int) bool {
		a, b := r.Findings[i].Pos, r.Findings[j].Pos
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Offset < b.Offset
	})
	out := r.Findings[:0]
	seen := map[finding]bool{}
	cAt := map[token.Position]bool{}
	for _, f := range r.Findings {
		if seen[f] || (cAt[f.Pos] && strings.HasPrefix(f.Msg, "undefined: C.")) {
			continue
		}
		seen[f] = true
		if strings.Contains(f.Msg, "C.") {
			cAt[f.Pos] = true
		}
		out = append(out, f)
	}
	r.Findings = out
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
