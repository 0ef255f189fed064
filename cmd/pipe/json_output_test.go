package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

var snakeKey = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// dataKeyed are the objects whose keys are data, not field names: the
// batch-size buckets of a model stage ("≤512").
var dataKeyed = []string{"batch_sizes"}

// checkJSON reports every key of the JSON value data that is not
// snake_case and every null (an empty list must be written []).
func checkJSON(t *testing.T, what string, data []byte) {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, data)
	}
	var bad []string
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case nil:
			bad = append(bad, path+": null")
		case map[string]any:
			data := slices.Contains(dataKeyed, path[strings.LastIndex(path, ".")+1:])
			for k, e := range v {
				if !data && !snakeKey.MatchString(k) {
					bad = append(bad, fmt.Sprintf("%s: key %q is not snake_case", path, k))
				}
				walk(path+"."+k, e)
			}
		case []any:
			for i, e := range v {
				walk(fmt.Sprintf("%s[%d]", path, i), e)
			}
		}
	}
	walk(what, v)
	slices.Sort(bad)
	for _, b := range bad {
		t.Error(b)
	}
}

// jsonOutputs are the commands whose --json output TestJSONOutputs checks.
var jsonOutputs = []string{"backends", "bench", "inspect"}

// TestJSONOutputs runs every command that prints JSON and checks it:
// `pipe backends --json`, `pipe bench --json FILE`, `pipe inspect --json
// OUTPUT_FOLDER`, the log lines of
// `--log-format json` and metrics.json. A command that gains a --json flag
// must be added here.
func TestJSONOutputs(t *testing.T) {
	stagetest.NeedORT(t)
	root := newRoot(&globals{stdout: &bytes.Buffer{}, stderr: &bytes.Buffer{}})
	for _, c := range root.Commands() {
		if c.Flags().Lookup("json") != nil && !slices.Contains(jsonOutputs, c.Name()) {
			t.Errorf("pipe %s has --json, which this test does not check", c.Name())
		}
	}
	t.Run("backends", func(t *testing.T) {
		code, out, errs := pipe("backends", "--json")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		checkJSON(t, "backends", []byte(out))
		if !strings.Contains(out, `"max_concurrency"`) || !strings.Contains(out, `"kernels": []`) {
			t.Errorf("unexpected output:\n%s", out)
		}
	})
	t.Run("bench", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "r.json")
		code, out, errs := pipe("bench", benchJob(t), "--stage", "mlp", "--rows", "300", "--batch", "64",
			"--warmup", "0", "--repeat", "1", "--json", path)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		checkJSON(t, "bench", data)
	})
	t.Run("inspect", func(t *testing.T) {
		job := unitsJob(t)
		if code, out, errs := pipe("run", "-q", job); code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		inspectJSON(t, filepath.Join(filepath.Dir(job), "out")) // checks it
		inspectJSON(t, t.TempDir())                             // empty lists, no nulls
	})
	t.Run("run logs and metrics.json", func(t *testing.T) {
		job := benchJob(t)
		code, out, errs := pipe("run", "--log-format", "json", "--log-level", "debug", job)
		if code != 0 {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		n := 0
		for _, line := range strings.Split(strings.TrimSpace(errs), "\n") {
			if strings.HasPrefix(line, "{") {
				checkJSON(t, "log line "+line, []byte(line))
				n++
			}
		}
		if n == 0 {
			t.Errorf("no JSON log lines:\n%s", errs)
		}
		data, err := os.ReadFile(filepath.Join(filepath.Dir(job), "out", "metrics.json"))
		if err != nil {
			t.Fatal(err)
		}
		checkJSON(t, "metrics.json", data)
	})
}
