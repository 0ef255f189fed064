// Command darwincheck type-checks the darwin-only Go files of the module
// as a GOOS=darwin GOARCH=arm64 CGO_ENABLED=1 build compiles them, on any
// machine, without a macOS SDK or a darwin C toolchain. A darwin-only file
// is one that build compiles for darwin/arm64 but not for linux/amd64
// (x_darwin.go, x_darwin_test.go, //go:build !linux, ...).
//
// Each package holding such a file is loaded with go/build for
// darwin/arm64 with cgo and type-checked with go/types, its tests too
// (a package whose only darwin-only files are tests: its test variant
// only). import "C" is replaced by the Go declarations cgo would generate
// from the file's preamble and the quoted headers it includes (shim.h,
// health.h): structs with their fields, opaque structs, enum and #define
// integer constants, typed function prototypes, darwin/arm64 C type sizes,
// plus a few system headers from a built-in table. The packages they
// import are listed by go list for darwin/arm64 without cgo (nothing is
// compiled) and type-checked from source without function bodies. Every
// type error is printed with its file and position, C names written as
// C.name; the exit status is 1 when there is one, 2 when the check could
// not run.
//
// It catches Go-side errors in darwin-only files: undefined identifiers
// (Go or C), wrong types, wrong calls into Go packages (the standard
// library's darwin API included), a wrong argument count or type in a call
// of a C function, a C struct field that does not exist, unused imports
// and variables.
//
// It does not catch: anything on the C side (the Objective-C shims are
// scripts/objc-check.sh's job); C constructs its small C reader refuses
// (unions, bit fields, variadic functions, most system headers: it fails
// and says so rather than type them loosely); #if branches (it reads
// them all); the two-result form r, err := C.f() (an error here although
// cgo accepts it); C.sizeof_T; cgo's pointer-passing rules, which only run
// time checks; API differences of dependencies between their cgo and
// non-cgo builds (dependencies other than the checked packages are read
// without cgo); a test dependency that imports the package under test
// (go test rebuilds it against the test variant; here it sees the plain
// one). Enum types are C.uint and typedefs are aliases, as cgo makes them.
//
// Usage:
//
//	go run ./internal/cmd/darwincheck [-tests=false] [module root]
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func main() {
	tests := flag.Bool("tests", true, "check the packages' test files too")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "usage: darwincheck [-tests=false] [module root, default .]\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	root := "."
	if flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if flag.NArg() == 1 {
		root = flag.Arg(0)
	}
	os.Exit(run(root, *tests))
}

// run checks the module at root and prints the outcome; it returns the
// exit status: 0 clean, 1 type errors, 2 the check could not run.
func run(root string, tests bool) int {
	res, err := check(root, nil, tests)
	if err != nil {
		fmt.Fprintf(os.Stderr, "darwincheck: %v\n", err)
		return 2
	}
	abs, _ := filepath.Abs(root)
	for _, f := range res.Findings {
		if rel, err := filepath.Rel(abs, f.Pos.Filename); err == nil {
			f.Pos.Filename = rel
		}
		fmt.Println(f)
	}
	fmt.Printf("darwincheck: %d files in %d packages type-checked for darwin/arm64 with cgo (and %d dependencies' APIs): %s\n",
		res.Files, len(res.Packages), res.Deps, strings.Join(res.Packages, ", "))
	if len(res.Findings) > 0 {
		fmt.Printf("darwincheck: FAILED, %d type errors\n", len(res.Findings))
		return 1
	}
	fmt.Println("darwincheck: ok")
	return 0
}
