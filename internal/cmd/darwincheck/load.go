package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"go/build"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
)

// target is a package of the module with darwin-only files, loaded as the
// darwin/arm64 cgo build sees it.
type target struct {
	path string // import path
	dir  string
	bp   *build.Package
	// testOnly: only test files are darwin-only, so only the test
	// variant of the package is checked.
	testOnly bool
}

// darwinContext is the build context of a darwin/arm64 build with cgo.
func darwinContext(files overlay) build.Context {
	ctx := build.Default
	ctx.GOOS, ctx.GOARCH, ctx.CgoEnabled = "darwin", "arm64", true
	ctx.OpenFile = func(path string) (io.ReadCloser, error) {
		if b, ok := files[path]; ok {
			return io.NopCloser(bytes.NewReader(b)), nil
		}
		return os.Open(path)
	}
	return ctx
}

// readModule returns the module path and the language version (go1.N)
// from root/go.mod.
func readModule(root string) (modPath, goVersion string, err error) {
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		return "", "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 2 && f[0] == "module" {
			modPath = strings.Trim(f[1], `"`)
		}
		if len(f) == 2 && f[0] == "go" {
			goVersion = "go" + f[1]
		}
	}
	if modPath == "" {
		return "", "", fmt.Errorf("%s/go.mod: no module line", root)
	}
	return modPath, goVersion, nil
}

// darwinOnly reports whether a Go file is compiled for darwin/arm64 with
// cgo but not for linux/amd64 with cgo (by its name or its build
// constraints).
func darwinOnly(darwin, linux *build.Context, dir, name string) (bool, error) {
	d, err := darwin.MatchFile(dir, name)
	if err != nil || !d {
		return false, err
	}
	l, err := linux.MatchFile(dir, name)
	return !l, err
}

// findTargets walks the module for folders with darwin-only Go files
// (skipping testdata, vendor, hidden folders and nested modules).
func findTargets(root, modPath string, ctx build.Context) ([]*target, error) {
	linux := ctx
	linux.GOOS, linux.GOARCH = "linux", "amd64"
	var out []*target
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		name := d.Name()
		if path != root && (name == "testdata" || name == "vendor" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
			return filepath.SkipDir
		}
		found, testOnly, err := darwinFiles(&ctx, &linux, path)
		if err != nil || !found {
			return err
		}
		bp, err := ctx.ImportDir(path, 0)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		rel, _ := filepath.Rel(root, path)
		ip := modPath
		if rel != "." {
			ip += "/" + filepath.ToSlash(rel)
		}
		out = append(out, &target{path: ip, dir: path, bp: bp, testOnly: testOnly})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, err
}

// darwinFiles reports whether dir holds darwin-only Go files, and whether
// they are all tests.
func darwinFiles(darwin, linux *build.Context, dir string) (found, testOnly bool, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return false, false, err
	}
	testOnly = true
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		ok, err := darwinOnly(darwin, linux, dir, e.Name())
		if err != nil {
			return false, false, err
		}
		if ok {
			found = true
			testOnly = testOnly && strings.HasSuffix(e.Name(), "_test.go")
		}
	}
	return found, found && testOnly, nil
}

// dep is a dependency of the checked packages as go list describes it for
// darwin/arm64 without cgo.
type dep struct {
	ImportPath string
	Dir        string
	GoFiles    []string
	CgoFiles   []string
	ImportMap  map[string]string
	Error      *struct{ Err string }
}

// listDeps lists pkgs and everything they import, for darwin/arm64 without
// cgo (no darwin C toolchain is at hand; only the checked packages need
// their cgo files). go list compiles nothing here, so this is fast on any
// build cache.
func listDeps(root string, pkgs []string) (map[string]*dep, error) {
	out := map[string]*dep{}
	if len(pkgs) == 0 {
		return out, nil
	}
	goCmd := os.Getenv("GO")
	if goCmd == "" {
		goCmd = "go"
	}
	args := append([]string{"list", "-e", "-deps", "-json=ImportPath,Dir,GoFiles,CgoFiles,ImportMap,Error"}, pkgs...)
	cmd := exec.Command(goCmd, args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=darwin", "GOARCH=arm64", "CGO_ENABLED=0")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	b, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go list for darwin/arm64: %v\n%s", err, stderr.String())
	}
	var errs []string
	for d := json.NewDecoder(bytes.NewReader(b)); ; {
		p := new(dep)
		if err := d.Decode(p); err == io.EOF {
			break
		} else if err != nil {
			return nil, fmt.Errorf("go list output: %w", err)
		}
		if p.Error != nil {
			errs = append(errs, fmt.Sprintf("%s: %s", p.ImportPath, p.Error.Err))
		}
		out[p.ImportPath] = p
	}
	if errs != nil {
		return nil, fmt.Errorf("listing the dependencies for darwin/arm64:\n\t%s", strings.Join(errs, "\n\t"))
	}
	return out, nil
}
