package source

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// The compatibility corpus: public Parquet and Arrow IPC files, good and
// bad, read through the project's sources. The files are a copy, in
// testdata/corpus at the repository root, of part of apache/parquet-testing
// and apache/arrow-testing (its README names the commits);
// testdata/corpus.tsv lists every file with the reader used and the expected
// outcome; a file in the corpus that the list lacks fails the test, so new
// files get triaged. Run with -corpus.update to rewrite the list from what
// the readers do now (then review the diff).

var corpusUpdate = flag.Bool("corpus.update", false, "rewrite testdata/corpus.tsv from the observed outcomes")

const (
	corpusRoot = "../../testdata/corpus"
	corpusList = "../../testdata/corpus.tsv"
)

// corpusDirs are the corpus folders read, with the reader for each file
// suffix.
var corpusDirs = []struct {
	dir     string
	readers map[string]string
}{
	{"parquet-testing/data", map[string]string{".parquet": "parquet", ".parquet.encrypted": "parquet"}},
	{"parquet-testing/bad_data", map[string]string{".parquet": "parquet"}},
	{"arrow-testing/data", map[string]string{".stream": "ipc", ".arrow_file": "ipc", ".arrow": "ipc", ".parquet": "parquet"}},
}

type corpusEntry struct {
	path, reader, expect, note string
}

// corpusFiles lists the corpus files present, sorted.
func corpusFiles(t *testing.T) []corpusEntry {
	t.Helper()
	var out []corpusEntry
	for _, d := range corpusDirs {
		root := filepath.Join(corpusRoot, d.dir)
		if _, err := os.Stat(root); err != nil {
			t.Fatalf("corpus folder %s missing: %v", root, err)
		}
		err := filepath.WalkDir(root, func(p string, e fs.DirEntry, err error) error {
			if err != nil || e.IsDir() {
				return err
			}
			for suf, r := range d.readers {
				if strings.HasSuffix(p, suf) {
					rel, _ := filepath.Rel(corpusRoot, p)
					out = append(out, corpusEntry{path: filepath.ToSlash(rel), reader: r})
					break
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out
}

func readCorpusList(t *testing.T) map[string]corpusEntry {
	t.Helper()
	f, err := os.Open(corpusList)
	if err != nil {
		if *corpusUpdate {
			return nil
		}
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]corpusEntry{}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "path\t") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) < 3 {
			t.Fatalf("%s:%d: want path, reader, expect[, note]", corpusList, n)
		}
		e := corpusEntry{path: parts[0], reader: parts[1], expect: parts[2]}
		if len(parts) > 3 {
			e.note = parts[3]
		}
		out[e.path] = e
	}
	return out
}

// readCorpusFile reads one file through its source and returns the rows,
// the error, and the bytes left allocated.
func readCorpusFile(path, reader string) (rows int64, leaked int, err error) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer func() { leaked = mem.CurrentAlloc() }()
	var src stages.Source
	switch reader {
	case "parquet":
		src, err = NewParquet(ParquetConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: 4096}, mem)
	case "ipc":
		src, err = NewIPC(IPCConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: 4096, MaxBatchBytes: defaultMaxBatchBytes}, mem)
	default:
		return 0, 0, fmt.Errorf("unknown reader %q", reader)
	}
	if err != nil {
		return 0, 0, err
	}
	defer src.Close()
	want, _ := src.(stages.RowCounter).TotalRows()
	for {
		rec, err := src.Next(context.Background())
		if err != nil {
			if err.Error() == "EOF" {
				if rows != want {
					return rows, 0, fmt.Errorf("read %d rows, metadata says %d", rows, want)
				}
				return rows, 0, nil
			}
			return rows, 0, err
		}
		rows += rec.NumRows()
		rec.Release()
	}
}

func TestCorpus(t *testing.T) {
	start := time.Now()
	files := corpusFiles(t)
	listed := readCorpusList(t)
	var update []string
	for _, f := range files {
		e, ok := listed[f.path]
		if !ok && !*corpusUpdate {
			t.Errorf("%s is not listed in %s: triage it (run with -corpus.update and review)", f.path, corpusList)
			continue
		}
		delete(listed, f.path)
		t.Run(f.path, func(t *testing.T) {
			rows, leaked, err := readCorpusFile(filepath.Join(corpusRoot, f.path), f.reader)
			if err != nil && !strings.Contains(err.Error(), filepath.Base(f.path)) {
				t.Errorf("error does not name the file: %v", err)
			}
			var pe *PanicError
			if errors.As(err, &pe) {
				t.Logf("recovered panic: %v", pe.Value)
			}
			if *corpusUpdate {
				exp := "ok:" + strconv.FormatInt(rows, 10)
				if err != nil {
					exp = "error:" + errorKey(err)
				}
				note := e.note
				if leaked > 0 && !strings.Contains(note, "arrow-go-leak") {
					note = strings.TrimSpace(note + " arrow-go-leak")
				}
				update = append(update, strings.Join([]string{f.path, f.reader, exp, note}, "\t"))
				return
			}
			if e.reader != f.reader {
				t.Errorf("listed reader %s, want %s", e.reader, f.reader)
			}
			switch {
			case strings.HasPrefix(e.expect, "ok:"):
				if err != nil {
					t.Fatalf("want %s, got error: %v", e.expect, err)
				}
				if got := "ok:" + strconv.FormatInt(rows, 10); got != e.expect {
					t.Errorf("got %s, want %s", got, e.expect)
				}
			case strings.HasPrefix(e.expect, "error"):
				if err == nil {
					t.Fatalf("want %s, read %d rows", e.expect, rows)
				}
				if sub := strings.TrimPrefix(strings.TrimPrefix(e.expect, "error"), ":"); sub != "" && !strings.Contains(err.Error(), sub) {
					t.Errorf("error %q does not contain %q", err, sub)
				}
			default:
				t.Fatalf("bad expectation %q", e.expect)
			}
			if leaked != 0 && !strings.Contains(e.note, "arrow-go-leak") {
				t.Errorf("%d bytes left allocated", leaked)
			}
		})
	}
	if *corpusUpdate {
		writeCorpusList(t, update)
		return
	}
	for p := range listed {
		t.Errorf("%s is listed in %s but not in the corpus", p, corpusList)
	}
	t.Logf("corpus: %d files in %v", len(files), time.Since(start).Round(time.Millisecond))
}

// errorKey picks a short stable part of an error message for the list:
// the text after the last ": ", cut at 60 bytes.
func errorKey(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	msg = strings.ReplaceAll(msg, "\t", " ")
	if len(msg) > 60 {
		msg = msg[:60]
	}
	return msg
}

func writeCorpusList(t *testing.T, lines []string) {
	t.Helper()
	head := "# Compatibility corpus for stages/source (see stages/source/corpus_test.go).\n" +
		"# path: relative to testdata/corpus (see its README); reader: parquet or ipc;\n" +
		"# expect: ok:<rows> | error | error:<substring>; note: free text (arrow-go-leak: arrow-go leaves\n" +
		"# bytes allocated in a checked allocator on this file, accepted).\n" +
		"path\treader\texpect\tnote\n"
	if err := os.WriteFile(corpusList, []byte(head+strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}
