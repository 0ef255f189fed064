package pipeline_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
)

var update = flag.Bool("update", false, "rewrite golden files")

// check loads and builds a job file, returning every message as text.
func check(t *testing.T, path string, env map[string]string, set ...string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(path)), filepath.Base(path)))
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	job, err := pipeline.Load(data, name, t.TempDir(), pipeline.LoadOptions{Env: lookup, Set: set})
	if job == nil {
		return err.Error() + "\n"
	}
	p, err := pipeline.Build(job, pipeline.BuildOptions{Registry: fakeRegistry(), Mem: stagetest.Mem(t)})
	if err != nil {
		return err.Error() + "\n"
	}
	defer p.Close()
	var b strings.Builder
	for _, w := range p.Warnings() {
		b.WriteString("warning: " + w.String() + "\n")
	}
	b.WriteString("ok\n")
	return b.String()
}

// TestBrokenJobsGolden holds the exact messages for broken jobs. Run with
// -update to rewrite the golden files after a deliberate change, and check
// the diff.
func TestBrokenJobsGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 15 {
		t.Fatalf("only %d broken jobs", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			got := check(t, f, nil)
			if strings.HasSuffix(got, "ok\n") {
				t.Fatalf("broken job accepted:\n%s", got)
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./pipeline -run Golden -update)", err)
			}
			if got != string(want) {
				t.Fatalf("messages differ\n--- got\n%s--- want\n%s", got, want)
			}
			// Every message is positioned FILE:LINE:COL.
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, "bad/") {
					t.Errorf("message without file: %q", line)
				}
			}
		})
	}
}

func TestAllErrorsAtOnce(t *testing.T) {
	got := check(t, "testdata/bad/unknown_keys.yaml", nil)
	if n := strings.Count(got, "\n"); n != 3 {
		t.Fatalf("want 3 problems reported together, got %d:\n%s", n, got)
	}
}

func TestInterpolation(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "j.yaml")
	text := `version: 1
# ${COMMENTED_OUT} is never an error
stages:
  - {id: src, type: seq, with: {count: "${ROWS}", batch_rows: "${BATCH:-3}"}}
  - {id: out, type: collect, inputs: [src], with: {delay: "${DELAY:-0s}"}}
`
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		set  []string
		want string
	}{
		{"env and default", map[string]string{"ROWS": "7"}, nil, "ok\n"},
		{"unset", nil, nil, `environment variable ROWS is not set`},
		{"not an int", map[string]string{"ROWS": "seven"}, nil, `with.count: expected an integer, got string "seven"`},
		{"set overrides", map[string]string{"ROWS": "7"}, []string{"src.batch_rows=0"}, "batch_rows must be at least 1"},
		{"set unknown stage", map[string]string{"ROWS": "7"}, []string{"sr.count=1"}, `no stage with id "sr" (did you mean "src"?)`},
		{"set unknown key", map[string]string{"ROWS": "7"}, []string{"src.cuont=1"}, `unknown key "cuont" (did you mean "count"?)`},
		{"set malformed", map[string]string{"ROWS": "7"}, []string{"src"}, `expected ID.KEY=VALUE`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := check(t, job, tc.env, tc.set...)
			if !strings.Contains(got, tc.want) {
				t.Fatalf("got %q, want it to contain %q", got, tc.want)
			}
		})
	}
}

func TestUnusedOutputWarning(t *testing.T) {
	dir := t.TempDir()
	job := filepath.Join(dir, "j.yaml")
	text := "version: 1\nstages:\n  - {id: src, type: seq, with: {count: 1}}\n  - {id: lonely, type: add, inputs: [src]}\n  - {id: out, type: collect, inputs: [src]}\n"
	if err := os.WriteFile(job, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	got := check(t, job, nil)
	want := "warning: " + filepath.Base(dir) + `/j.yaml:4:5: stage "lonely": output is not read by any stage` + "\nok\n"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("version: 1\nstages:\n  - {id: a, type: seq, with: {count: 3}}\n"))
	reg := fakeRegistry()
	f.Fuzz(func(t *testing.T, data []byte) {
		job, err := pipeline.Load(data, "fuzz.yaml", t.TempDir(), pipeline.LoadOptions{Env: func(string) (string, bool) { return "1", true }})
		if job == nil {
			var ve *pipeline.ValidationError
			if !asValidation(err, &ve) || len(ve.Problems) == 0 {
				t.Fatalf("load error is not a positioned validation error: %v", err)
			}
			return
		}
		p, berr := pipeline.Build(job, pipeline.BuildOptions{Registry: reg})
		if berr == nil {
			if err != nil {
				t.Fatalf("Build accepted a job that Load rejected: %v", err)
			}
			p.Close()
		}
	})
}
