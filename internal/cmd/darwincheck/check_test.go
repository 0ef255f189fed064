package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// moduleRoot is the repository this test runs in.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatal(err)
	}
	return root
}

// plant is one error planted in a copy of a darwin-only file: old is
// replaced by new, and the check must report want on that file's line.
type plant struct {
	file, old, new, want string
}

// plants covers each kind of mistake the checker claims to catch, in each
// darwin-only package of the Apple bridges.
var plants = []plant{
	{"bridge/apple/coreml/session_darwin.go", "C.ab_coreml_release(s.h)", "C.ab_coreml_release(s.h, 1)",
		"too many arguments in call to C.ab_coreml_release"},
	{"bridge/apple/coreml/backend_darwin.go", "h := C.ab_coreml_load(cpath,", "h := C.ab_coreml_loads(cpath,",
		"could not determine kind of name for C.ab_coreml_loads"},
	{"bridge/apple/coreml/session_darwin.go", "ct.nbytes = C.int64_t(rows * rowBytes)", "ct.nbyte = C.int64_t(rows * rowBytes)",
		"ct.nbyte undefined"},
	{"bridge/apple/coreml/session_darwin.go", "ct.rank = C.int32_t(len(shape))", "ct.rank = len(shape)",
		"cannot use len(shape) (value of type int) as C.int32_t value"},
	{"bridge/apple/health_darwin.go", "C.ab_gpu_memory_read(&g)", "C.ab_gpu_memory_read(g)",
		"cannot use g (variable of struct type C.ab_gpu_memory) as *C.ab_gpu_memory value"},
	{"bridge/apple/metal/backend_darwin.go", "apple.Classify(apple.BackendMetal, apple.OpLoad,", "apple.Classify(apple.BackendMetal, apple.OpLoads,",
		"undefined: apple.OpLoads"},
	{"bridge/apple/caps_darwin.go", "n, err = unix.SysctlUint32(name)", "n, err = unix.SysctlUint32(name, 1)",
		"too many arguments in call to unix.SysctlUint32"},
	{"cmd/pipe/child_rss_darwin_test.go", "return ru.Maxrss", "return ru.MaxRSS",
		"ru.MaxRSS undefined"},
}

// TestCleanTree: the module's darwin-only packages type-check for
// darwin/arm64 (without their tests, to keep go test short: make
// darwin-check checks those, and TestPlantedErrors reads them).
func TestCleanTree(t *testing.T) {
	res, err := check(moduleRoot(t), nil, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range res.Findings {
		t.Errorf("%s", f)
	}
	for _, want := range []string{"github.com/pipe-ml/pipe/bridge/apple", "github.com/pipe-ml/pipe/bridge/apple/coreml",
		"github.com/pipe-ml/pipe/bridge/apple/metal"} {
		if !strings.Contains(strings.Join(res.Packages, "\n")+"\n", want+"\n") {
			t.Errorf("package %s was not checked; checked %v", want, res.Packages)
		}
	}
}

// TestPlantedErrors plants every error of plants in an overlay copy of
// the files and checks that each one is reported, on its line.
func TestPlantedErrors(t *testing.T) {
	root := moduleRoot(t)
	files := overlay{}
	lines := map[int]int{}
	for i, p := range plants {
		path := filepath.Join(root, p.file)
		src, ok := files[path]
		if !ok {
			var err error
			if src, err = os.ReadFile(path); err != nil {
				t.Fatal(err)
			}
		}
		at := strings.Index(string(src), p.old)
		if at < 0 || strings.Count(string(src), p.old) != 1 {
			t.Fatalf("%s: %q must occur exactly once (update the plant)", p.file, p.old)
		}
		lines[i] = 1 + strings.Count(string(src[:at]), "\n")
		files[path] = []byte(strings.Replace(string(src), p.old, p.new, 1))
	}
	res, err := check(root, files, true)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range plants {
		found := false
		for _, f := range res.Findings {
			if f.Pos.Filename == filepath.Join(root, p.file) && f.Pos.Line == lines[i] && strings.Contains(f.Msg, p.want) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s:%d: planted %q, want a finding containing %q; got:\n%v", p.file, lines[i], p.new, p.want, res.Findings)
		}
	}
}

// TestPreamble reads the C subset the shims use into cgo's Go declarations.
func TestPreamble(t *testing.T) {
	dir := t.TempDir()
	header := `/* a header */
#ifndef H
#define H
#include <stdint.h>
#define RANK 4
typedef struct opaque opaque;
enum { A = 1, B, C = 0x10 | 2, D = (1 << 3) };
typedef struct { const char *name; int64_t dims[RANK]; unsigned char flags[2]; void (*cb)(int); } rec;
struct tagged { double type; };
int32_t use(opaque *o, const rec *r, const char *const *names, struct tagged t, float xs[]);
void nothing(void);
static inline int twice(int x) { return 2 * x; }
int logf_like(const char *fmt, ...) API_AVAILABLE(macos(14.0));
#endif
`
	if err := os.WriteFile(filepath.Join(dir, "h.h"), []byte(header), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := preamble(`#cgo CFLAGS: -O2
#include "h.h"`, dir, overlay(nil).read)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"RANK":          "const _CRANK = 4",
		"B":             "const _CB = _CA + 1",
		"C":             "const _CC = 0x10 | 2",
		"opaque":        "type _Copaque = _Cstruct_opaque",
		"struct_opaque": "type _Cstruct_opaque struct{}",
		"rec":           "type _Crec struct {\n\tname *_Cchar\n\tdims [_CRANK]_Cint64_t\n\tflags [2]_Cuchar\n\tcb *[0]byte\n}",
		"struct_tagged": "type _Cstruct_tagged struct {\n\t_type _Cdouble\n}",
		"use":           "func _Cuse(p0 *_Copaque, p1 *_Crec, p2 **_Cchar, p3 _Cstruct_tagged, p4 *_Cfloat) _Cint32_t",
		"nothing":       "func _Cnothing() _Cvoid",
		"twice":         "func _Ctwice(p0 _Cint) _Cint",
		"int64_t":       "type _Cint64_t = _Clonglong",
	}
	for name, decl := range want {
		if got := d.decl[name]; got != decl {
			t.Errorf("C.%s:\n got %q\nwant %q", name, got, decl)
		}
	}
	if d.unsupported["logf_like"] == "" || d.has("logf_like") {
		t.Errorf("variadic logf_like: want it refused, got decl %q", d.decl["logf_like"])
	}
}

// TestPreambleRefuses: C the reader cannot type exactly is an error, not a
// loose declaration.
func TestPreambleRefuses(t *testing.T) {
	for _, src := range []string{
		"union u { int a; float b; };",
		"struct s { int a : 3; };",
		"#include <Foundation/Foundation.h>",
		"NSString *name(void);",
		"long double ld(void);",
	} {
		if _, err := preamble(src, t.TempDir(), overlay(nil).read); err == nil {
			t.Errorf("%q: want an error", src)
		}
	}
}
