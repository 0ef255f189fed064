package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// checkHostile asserts how a pipe child ended: its exit status, that
// stderr holds every part of want, and [checkNoCrash].
func checkHostile(t *testing.T, c child, code int, want ...string) {
	t.Helper()
	if c.Code != code && !c.TimedOut {
		t.Errorf("exit %d, want %d; stderr:\n%s", c.Code, code, stderrTail(c.Stderr))
	}
	for _, w := range want {
		if !strings.Contains(c.Stderr, w) {
			t.Errorf("stderr does not name %q:\n%s", w, stderrTail(c.Stderr))
		}
	}
	checkNoCrash(t, c)
}

// hostileJob writes a job reading from source (a stage's YAML body after
// "type:") into a Parquet folder out, through the optional extra stages.
func hostileJob(t *testing.T, dir, source, extra, sinkInput string) string {
	t.Helper()
	job := "version: 1\nstages:\n  - id: read\n    type: " + source + "\n" + extra +
		"  - id: write\n    type: parquet_sink\n    inputs: [" + sinkInput + "]\n    with: {path: out, overwrite: true}\n"
	path := filepath.Join(dir, "job.yaml")
	if err := os.WriteFile(path, []byte(job), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// hostileLines writes a file line by line through a buffer.
func hostileLines(t *testing.T, path string, n int, line func(i int, w *bufio.Writer)) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	for i := range n {
		line(i, w)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// hostileRows reads the (int64 id, string s) rows of every part file under
// out, in file order.
func hostileRows(t *testing.T, out string) []string {
	t.Helper()
	parts, err := filepath.Glob(filepath.Join(out, "part-*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(parts)
	var rows []string
	for _, p := range parts {
		rdr, err := file.OpenParquetFile(p, false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		rdr.Close()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ids, ss := tbl.Column(0).Data().Chunks(), tbl.Column(1).Data().Chunks()
		for k := range ids {
			id, s := ids[k].(*array.Int64), ss[k].(*array.String)
			for r := range id.Len() {
				rows = append(rows, fmt.Sprintf("%d:%s", id.Value(r), s.Value(r)))
			}
		}
		tbl.Release()
	}
	return rows
}

// TestHostileCSVFilter: a 100k-row CSV with a string column, filtered and
// written, gives exactly the rows an independent computation keeps. The
// filter once panicked inside arrow-go's take kernel (exit 2, staging files
// left) on such a file.
func TestHostileCSVFilter(t *testing.T) {
	dir := t.TempDir()
	var want []string
	hostileLines(t, filepath.Join(dir, "in.csv"), 100_001, func(i int, w *bufio.Writer) {
		if i == 0 {
			w.WriteString("id,s,keep\n")
			return
		}
		id := i - 1
		s, keep := fmt.Sprintf("r%d", id), id%3 == 0
		if keep {
			s = fmt.Sprintf("a longer kept value for row %d", id)
			want = append(want, fmt.Sprintf("%d:%s", id, s))
		}
		fmt.Fprintf(w, "%d,%s,%v\n", id, s, keep)
	})
	job := hostileJob(t, dir, "csv_source\n    with: {paths: [in.csv]}",
		"  - id: f\n    type: filter\n    inputs: [read]\n    with: {where: keep}\n", "f")
	c := runChild(t, childOptions{Dir: dir}, "run", job)
	checkHostile(t, c, 0)
	got := hostileRows(t, filepath.Join(dir, "out"))
	if len(got) != len(want) {
		t.Fatalf("%d rows written, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("row %d is %q, want %q", i, got[i], want[i])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "out", "_pipe_staging")); !os.IsNotExist(err) {
		t.Errorf("staging folder left behind: %v", err)
	}
}

// TestHostileText: hostile CSV and JSON-lines files, and a very wide
// generate job, under `pipe inspect` and `pipe run` with default settings:
// each either runs under hostileCeiling or fails at once with an error
// naming the file, the place and the limit or problem, never crashing.
func TestHostileText(t *testing.T) {
	t.Run("csv field of 300 MiB", func(t *testing.T) {
		dir := t.TempDir()
		chunk := strings.Repeat("x", 1<<20)
		hostileLines(t, filepath.Join(dir, "big.csv"), 302, func(i int, w *bufio.Writer) {
			switch i {
			case 0:
				w.WriteString("id,s\n1,")
			case 301:
				w.WriteString("\n")
			default:
				w.WriteString(chunk)
			}
		})
		want := []string{"big.csv: line 2", "more than 64MiB", "max_record_bytes"}
		o := childOptions{Dir: dir, Timeout: 3 * time.Minute}
		checkHostile(t, runChild(t, o, "inspect", "big.csv"), 1, want...)
		job := hostileJob(t, dir, "csv_source\n    with: {paths: [big.csv]}", "", "read")
		checkHostile(t, runChild(t, o, "run", job), 2, want...) // inference reads it
		job = hostileJob(t, dir, "csv_source\n    with: {paths: [big.csv], schema: [{name: id, type: int64}, {name: s, type: string}]}", "", "read")
		checkHostile(t, runChild(t, o, "run", job), 1, want...)
	})
	t.Run("jsonl 3000 keys then 200k empty objects", func(t *testing.T) {
		dir := t.TempDir()
		hostileLines(t, filepath.Join(dir, "wide.jsonl"), 200_001, func(i int, w *bufio.Writer) {
			if i > 0 {
				w.WriteString("{}\n")
				return
			}
			w.WriteString("{")
			for k := range 3000 {
				if k > 0 {
					w.WriteString(", ")
				}
				fmt.Fprintf(w, `"k%d": %d`, k, k)
			}
			w.WriteString("}\n")
		})
		o := childOptions{Dir: dir, Timeout: 4 * time.Minute}
		c := runChild(t, o, "inspect", "wide.jsonl")
		checkHostile(t, c, 0)
		if !strings.Contains(c.Stdout, "200001") {
			t.Errorf("inspect does not count 200001 rows:\n%s", stderrTail(c.Stdout))
		}
		job := hostileJob(t, dir, "jsonl_source\n    with: {paths: [wide.jsonl]}", "", "read")
		checkHostile(t, runChild(t, o, "run", job), 0)
	})
	t.Run("generate 25k columns", func(t *testing.T) {
		dir := t.TempDir()
		var b strings.Builder
		b.WriteString("generate\n    with:\n      count: 100000\n      columns:\n")
		for k := range 25_000 {
			fmt.Fprintf(&b, "        - {name: c%d, type: float64}\n", k)
		}
		// The filter keeps no row: this checks the generator's batches.
		job := hostileJob(t, dir, b.String(),
			"  - id: f\n    type: filter\n    inputs: [read]\n    with: {where: c0 < -1}\n"+
				"  - id: s\n    type: select\n    inputs: [f]\n    with: {keep: [c0]}\n", "s")
		checkHostile(t, runChild(t, childOptions{Dir: dir, Timeout: 4 * time.Minute}, "run", job), 0)
		// Written as they are, 25k columns are more than parquet_sink's
		// max_columns: refused before any data moves.
		job = hostileJob(t, dir, b.String(), "", "read")
		checkHostile(t, runChild(t, childOptions{Dir: dir, Timeout: 4 * time.Minute}, "run", job), 2, "25000 columns", "max_columns")
	})
	t.Run("invalid utf-8", func(t *testing.T) {
		dir := t.TempDir()
		files := map[string]string{
			"value.csv":   "id,s\n1,ok\n2,a\xffb\n",
			"header.csv":  "id,a\xffb\n1,x\n",
			"value.jsonl": `{"id": 1, "s": "ok"}` + "\n" + `{"id": 2, "s": "a` + "\xff" + `b"}` + "\n",
			"key.jsonl":   `{"id": 1}` + "\n" + `{"a` + "\xff" + `b": 2}` + "\n",
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		o := childOptions{Dir: dir}
		for _, tc := range []struct {
			source string
			code   int
			want   []string
		}{
			{"csv_source\n    with: {paths: [value.csv]}", 1, []string{`value.csv: line 3: column "s"`, "not valid UTF-8"}},
			{"csv_source\n    with: {paths: [header.csv]}", 2, []string{"header.csv: line 1", "not valid UTF-8"}},
			{"jsonl_source\n    with: {paths: [value.jsonl]}", 1, []string{`value.jsonl: line 2: column "s"`, "not valid UTF-8"}},
			{"jsonl_source\n    with: {paths: [key.jsonl]}", 2, []string{"key.jsonl: line 2", "not valid UTF-8"}},
		} {
			job := hostileJob(t, dir, tc.source, "", "read")
			checkHostile(t, runChild(t, o, "run", job), tc.code, tc.want...)
		}
		checkHostile(t, runChild(t, o, "inspect", "header.csv"), 1, "header.csv: line 1", "not valid UTF-8")
		checkHostile(t, runChild(t, o, "inspect", "key.jsonl"), 1, "key.jsonl: line 2", "not valid UTF-8")
	})
}
