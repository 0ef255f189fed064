package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// body returns a function declaration spanning exactly lines lines.
func body(name string, lines int) string {
	return "func " + name + " {\n" + strings.Repeat("\t_ = 0\n", lines-2) + "}\n"
}

// plant writes files into a fresh package directory and returns it.
func plant(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "pkg")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("package pkg\n\n"+src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		allow string
		want  []string // findings, each a substring
	}{
		{name: "short", files: map[string]string{"a.go": body("f()", 80)}},
		{name: "one line over", files: map[string]string{"a.go": body("f()", 81)}, want: []string{"pkg.f is 81 lines"}},
		{name: "reason in doc", files: map[string]string{"a.go": "// f is a table.\n//\n// long: one case a line reads best whole\n" + body("f()", 200)}},
		{name: "empty reason", files: map[string]string{"a.go": "// long:\n" + body("f()", 81)}, want: []string{"pkg.f is 81 lines"}},
		{name: "reason not in doc", files: map[string]string{"a.go": "// long: loose comment\n\n" + body("f()", 81)}, want: []string{"pkg.f is 81 lines"}},
		{name: "test files skipped", files: map[string]string{"a_test.go": body("f()", 300)}},
		{name: "method", files: map[string]string{"a.go": "type T struct{}\n\n" + body("(t *T) M()", 90) + body("(T) N()", 90)},
			want: []string{"pkg.(*T).M is 90 lines", "pkg.T.N is 90 lines"}},
		{name: "generic receiver", files: map[string]string{"a.go": "type G[K any] struct{}\n\n" + body("(g *G[K]) M()", 90)},
			want: []string{"pkg.(*G).M is 90 lines"}},
		{name: "allowlisted", files: map[string]string{"a.go": body("f()", 81)}, allow: "pkg.f  being split\n"},
		{name: "stale entry", files: map[string]string{"a.go": body("f()", 10)}, allow: "pkg.f  being split\n",
			want: []string{"allowlist: pkg.f is no longer a long function"}},
		{name: "entry of another package", files: map[string]string{"a.go": body("f()", 10)}, allow: "other.f  being split\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := plant(t, tt.files)
			allow, err := parseAllowlist("allow.txt", strings.ReplaceAll(tt.allow, "pkg.", filepath.ToSlash(dir)+"."))
			if err != nil {
				t.Fatal(err)
			}
			found, err := check([]string{dir}, 80, allow)
			if err != nil {
				t.Fatal(err)
			}
			if len(found) != len(tt.want) {
				t.Fatalf("findings %v, want %d: %q", found, len(tt.want), tt.want)
			}
			for i, f := range found {
				if want := strings.ReplaceAll(tt.want[i], "pkg.", filepath.ToSlash(dir)+"."); !strings.Contains(f.String(), want) {
					t.Errorf("finding %d: %q, want %q", i, f, want)
				}
			}
		})
	}
}

func TestParseAllowlist(t *testing.T) {
	tests := []struct {
		name, text, wantErr string
		want                allowlist
	}{
		{name: "entries", text: "# comment\n\npipeline.Build  being split\ncmd/pipe.(*x).y\tits owner splits it\n",
			want: allowlist{"pipeline.Build": "being split", "cmd/pipe.(*x).y": "its owner splits it"}},
		{name: "no reason", text: "pipeline.Build\n", wantErr: "allow.txt:1: pipeline.Build: give the reason"},
		{name: "twice", text: "a.f x\na.f y\n", wantErr: "allow.txt:2: a.f is listed twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseAllowlist("allow.txt", tt.text)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s: reason %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

// TestRun checks the exit statuses CI relies on.
func TestRun(t *testing.T) {
	long := plant(t, map[string]string{"a.go": body("f()", 81)})
	short := plant(t, map[string]string{"a.go": body("f()", 3)})
	bad := filepath.Join(t.TempDir(), "allow.txt")
	if err := os.WriteFile(bad, []byte("x.f\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		allow string
		dirs  []string
		want  int
	}{
		{name: "clean", dirs: []string{short}, want: 0},
		{name: "long", dirs: []string{short, long}, want: 1},
		{name: "bad allowlist", allow: bad, dirs: []string{short}, want: 2},
		{name: "missing dir", dirs: []string{filepath.Join(short, "nope")}, want: 2},
		{name: "no dirs", want: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			if got := run(&out, &errOut, 80, tt.allow, tt.dirs); got != tt.want {
				t.Errorf("exit %d, want %d; stdout %q, stderr %q", got, tt.want, out.String(), errOut.String())
			}
		})
	}
}

// TestAllowlistFile checks the repository's allowlist parses: a broken
// one would fail CI with exit 2 rather than name a function.
func TestAllowlistFile(t *testing.T) {
	data, err := os.ReadFile("allow.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parseAllowlist("allow.txt", string(data)); err != nil {
		t.Fatal(err)
	}
}
