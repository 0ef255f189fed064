package pipelines_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/pipeline"
	"github.com/pipe-ml/pipe/stages"
)

// docBlock is one fenced ```yaml block of a Markdown file.
type docBlock struct {
	file string
	line int // of the opening fence
	text string
}

// fragment reports whether the block is a list of stages (it starts with
// `- id:`) rather than a whole job.
func (b docBlock) fragment() bool {
	return strings.HasPrefix(strings.TrimSpace(b.text), "- id:")
}

// yamlBlocks returns the ```yaml blocks of a Markdown file.
func yamlBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	var cur *docBlock
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		fence := strings.TrimSpace(line)
		switch {
		case cur == nil && fence == "```yaml":
			cur = &docBlock{file: path, line: n}
		case cur != nil && fence == "```":
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	if cur != nil {
		t.Fatalf("%s:%d: unclosed ```yaml block", path, cur.line)
	}
	return out
}

// dedent removes the indentation of the block's first line from every line.
func dedent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	first := strings.TrimLeft(lines[0], " ")
	pad := len(lines[0]) - len(first)
	for i, l := range lines {
		if len(l) >= pad && strings.TrimSpace(l[:pad]) == "" {
			lines[i] = l[pad:]
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

// TestDocsYAMLExamples checks every ```yaml block of README.md and
// docs/*.md. A whole job is loaded and built as if it were a job file in
// a folder holding `models/` (testdata/models), `data/*.parquet` (an id
// column and a vector[32] x) and pipelines/'s `../testdata/models`. A
// fragment (a list of stages, starting with `- id:`) is put under
// `stages:` of a job and loaded, and each stage's `with:` is decoded by its
// type's config: it must parse, name known stage types and known keys of
// the right types. Its paths and columns are not checked, since the
// fragment does not say what feeds it.
func TestDocsYAMLExamples(t *testing.T) {
	stagetest.NeedORT(t)
	files, _ := filepath.Glob("../docs/*.md")
	files = append([]string{"../README.md"}, files...)
	var blocks []docBlock
	for _, f := range files {
		blocks = append(blocks, yamlBlocks(t, f)...)
	}
	if len(blocks) < 15 {
		t.Fatalf("only %d yaml blocks in %v", len(blocks), files)
	}
	dir := docsJobDir(t)
	whole := 0
	for _, b := range blocks {
		t.Run(fmt.Sprintf("%s:%d", filepath.Base(b.file), b.line), func(t *testing.T) {
			name := fmt.Sprintf("%s (block at line %d)", b.file, b.line)
			if b.fragment() {
				checkFragment(t, name, dir, b.text)
				return
			}
			whole++
			checkWholeJob(t, name, dir, b.text)
		})
	}
	if whole < 2 {
		t.Errorf("%d whole jobs among the blocks, want the README's quickstart and job file", whole)
	}
}

// docsJobDir returns the folder the documented jobs are loaded from.
func docsJobDir(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	models, err := filepath.Abs("../testdata/models")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "pipelines")
	for _, link := range []string{filepath.Join(root, "testdata", "models"), filepath.Join(dir, "models")} {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(models, link); err != nil {
			t.Fatal(err)
		}
	}
	gen := `version: 1
stages:
  - {id: gen, type: generate, with: {count: 20, columns: [{name: id, type: int64}, {name: x, type: vector, dims: 32}]}}
  - {id: write, type: parquet_sink, inputs: [gen], with: {path: data}}
`
	mustRun(t, buildText(t, dir, gen))
	// A Hive-partitioned folder, as the incremental example reads.
	mustRun(t, buildText(t, dir, strings.Replace(gen, "path: data}", "path: data/events/dt=2026-12-07}", 1)))
	return dir
}

func checkWholeJob(t *testing.T, name, dir, text string) {
	vars := map[string]string{"ROWS": "10", "OUT": t.TempDir()}
	job, err := pipeline.Load([]byte(text), name, dir, pipeline.LoadOptions{Env: env(vars)})
	if err != nil {
		t.Fatal(err)
	}
	p := mustBuild(t, job)
	if w := p.Warnings(); len(w) > 0 {
		t.Errorf("warnings: %v", w)
	}
	p.Close()
}

func checkFragment(t *testing.T, name, dir, text string) {
	var b strings.Builder
	b.WriteString("version: 1\nstages:\n")
	for _, l := range strings.Split(strings.TrimRight(dedent(text), "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	job, err := pipeline.Load([]byte(b.String()), name, dir, pipeline.LoadOptions{Env: env(nil)})
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	if len(job.Stages) == 0 {
		t.Fatal("no stages")
	}
	for _, s := range job.Stages {
		e, err := stages.Default().Lookup(s.Type)
		if err != nil {
			t.Errorf("stage %s: %v", s.ID, err)
			continue
		}
		if _, errs := e.Decode(s.With, dir); len(errs) > 0 {
			t.Errorf("stage %s (%s): %v", s.ID, s.Type, errs)
		}
	}
}
