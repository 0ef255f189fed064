package source

import (
	"bytes"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// buildLogged builds a source whose logger writes into the returned
// buffer, at debug level.
func buildLogged(t *testing.T, typ, with, dir string) (stages.Source, *bytes.Buffer, error) {
	t.Helper()
	var log bytes.Buffer
	env := &stages.Env{ID: "read", Mem: stagetest.Mem(t), JobDir: dir,
		Log: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	s, err := stagetest.BuildEnv(t, nil, typ, with, env)
	if err != nil {
		return nil, &log, err
	}
	return s.(stages.Source), &log, nil
}

// TestEmptyTextFiles checks that empty files, and CSV files that hold only
// a header, read as 0 rows with a warning naming them, and that a schema
// that cannot be inferred is an error naming the file and the setting.
func TestEmptyTextFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "id,s\n1,x\n2,y\n")
	writeFile(t, filepath.Join(dir, "empty.csv"), "")
	writeFile(t, filepath.Join(dir, "head.csv"), "id,s\n")
	writeFile(t, filepath.Join(dir, "head2.csv"), "\uFEFFid,s\r\n")
	writeFile(t, filepath.Join(dir, "b.csv"), "id,s\n3,z\n")
	writeFile(t, filepath.Join(dir, "other.csv"), "x,y,z\n")
	writeBytes(t, filepath.Join(dir, "nothing.csv.gz"), gz(t, ""))
	writeFile(t, filepath.Join(dir, "zero.csv.gz"), "")
	writeFile(t, filepath.Join(dir, "a.jsonl"), "{\"id\": 1}\n{\"id\": 2}\n")
	writeFile(t, filepath.Join(dir, "empty.jsonl"), "")
	writeFile(t, filepath.Join(dir, "blank.jsonl"), "\n  \n\n")
	writeBytes(t, filepath.Join(dir, "nothing.jsonl.zst"), zst(t, ""))
	const schema = ", schema: [{name: id, type: int64}, {name: s, type: string}]"
	tests := []struct {
		name, typ, with string
		rows            int64
		warn            string // "|"-separated files warned about, with their reason
		err             string
	}{
		{"csv empty among files", "csv_source", "{paths: [empty.csv, a.csv, nothing.csv.gz, zero.csv.gz, b.csv]}", 3,
			"empty.csv|nothing.csv.gz|zero.csv.gz|file is empty", ""},
		{"csv header only among files", "csv_source", "{paths: [head.csv, a.csv, head2.csv]}", 2, "head.csv|head2.csv|only a header", ""},
		{"csv header only with schema", "csv_source", "{paths: [head.csv]" + schema + "}", 0, "head.csv|only a header", ""},
		{"csv empty with schema", "csv_source", "{paths: [empty.csv]" + schema + "}", 0, "empty.csv|file is empty", ""},
		{"csv empty no header with schema", "csv_source", "{paths: [empty.csv], header: false" + schema + "}", 0, "empty.csv|file is empty", ""},
		{"csv header only alone", "csv_source", "{paths: [head.csv]}", 0, "",
			"head.csv: cannot infer a schema: the file holds no rows, only a header; set `schema`"},
		{"csv header only files", "csv_source", "{paths: [head.csv, empty.csv, head2.csv]}", 0, "",
			"head.csv: cannot infer a schema: this file and the 2 others hold no rows, only a header; set `schema`"},
		{"csv empty alone", "csv_source", "{paths: [empty.csv]}", 0, "", "empty.csv: cannot infer a schema: the file is empty; set `schema`"},
		{"csv empty first then mismatch", "csv_source", "{paths: [empty.csv, head.csv, other.csv]}", 0, "", "other.csv: schema differs from the first file " + filepath.Join(dir, "head.csv")},
		{"jsonl empty among files", "jsonl_source", "{paths: [empty.jsonl, a.jsonl, blank.jsonl, nothing.jsonl.zst]}", 2,
			"empty.jsonl|nothing.jsonl.zst|file is empty|blank.jsonl|only blank lines", ""},
		{"jsonl empty with schema", "jsonl_source", "{paths: [empty.jsonl]" + schema + "}", 0, "empty.jsonl|file is empty", ""},
		{"jsonl empty alone", "jsonl_source", "{paths: [empty.jsonl, blank.jsonl]}", 0, "",
			"empty.jsonl: cannot infer a schema: this file and the 1 others are empty or blank; set `schema`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, log, err := buildLogged(t, tt.typ, tt.with, dir)
			if err == nil {
				var rows int64
				rows, err = drain(t, src, 0)
				if err == nil && rows != tt.rows {
					t.Errorf("rows %d, want %d", rows, tt.rows)
				}
			}
			wantErr(t, err, tt.err)
			if tt.err != "" {
				if !errors.Is(err, ErrNeedSchema) && !errors.Is(err, ErrSchemaMismatch) {
					t.Errorf("error %v wraps neither ErrNeedSchema nor ErrSchemaMismatch", err)
				}
				return
			}
			warns := warnLines(log.String())
			for _, part := range strings.Split(tt.warn, "|") {
				if !strings.Contains(warns, part) {
					t.Errorf("warnings %q do not mention %q", warns, part)
				}
			}
			if strings.Contains(warns, "a.csv") || strings.Contains(warns, "a.jsonl") {
				t.Errorf("warnings %q name a file that has rows", warns)
			}
		})
	}
}

// warnLines returns the WARN lines of a text log.
func warnLines(log string) string {
	var out []string
	for _, l := range strings.Split(log, "\n") {
		if strings.Contains(l, "level=WARN") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestInputFiles checks which files the text sources list as matched and
// skipped for a folder and a glob, and that the run logs them.
func TestInputFiles(t *testing.T) {
	dir := t.TempDir()
	for name, content := range map[string]string{
		"in/a.csv": "id\n1\n", "in/b.csv": "id\n2\n", "in/notes.txt": "x", "in/_SUCCESS": "",
		"in/.hidden.csv": "id\n3\n", "in/sub/d.tsv": "id\n4\n", "in/_tmp/e.csv": "id\n5\n",
		"j/a.jsonl": "{\"id\": 1}\n", "j/b.json": "{\"id\": 2}\n", "j/c.csv": "id\n1\n",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, content)
	}
	writeBytes(t, filepath.Join(dir, "in/c.csv.gz"), gz(t, "id\n6\n"))
	writeBytes(t, filepath.Join(dir, "j/d.ndjson.zst"), zst(t, "{\"id\": 3}\n"))
	tests := []struct {
		name, typ, paths string
		matched, skipped string
		rows             int64
	}{
		{"csv folder", "csv_source", "[in]", "in/a.csv in/b.csv in/c.csv.gz in/sub/d.tsv",
			"in/.hidden.csv (name starts with .) in/_SUCCESS (name starts with _) in/_tmp (name starts with _) in/notes.txt (extension)", 4},
		{"csv glob", "csv_source", `["in/*.csv*"]`, "in/a.csv in/b.csv in/c.csv.gz", "", 3},
		{"jsonl folder", "jsonl_source", "[j]", "j/a.jsonl j/b.json j/d.ndjson.zst", "j/c.csv (extension)", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, log, err := buildLogged(t, tt.typ, "{paths: "+tt.paths+"}", dir)
			if err != nil {
				t.Fatal(err)
			}
			matched, skipped := src.(stages.InputLister).InputFiles()
			var m, s []string
			for _, p := range matched {
				m = append(m, rel(t, dir, p))
			}
			for _, n := range skipped {
				s = append(s, rel(t, dir, n.Path)+" ("+n.Reason+")")
			}
			if got := strings.Join(m, " "); got != tt.matched {
				t.Errorf("matched %q, want %q", got, tt.matched)
			}
			if got := strings.Join(s, " "); got != tt.skipped {
				t.Errorf("skipped %q, want %q", got, tt.skipped)
			}
			for _, n := range skipped {
				if !logged(log.String(), "input file skipped", n.Path, n.Reason) {
					t.Errorf("log does not list skipped %s:\n%s", n.Path, log)
				}
			}
			if rows, err := drain(t, src, 0); err != nil || rows != tt.rows {
				t.Errorf("read %d rows (%v), want %d", rows, err, tt.rows)
			}
		})
	}
}

// logged reports whether a line of log holds every part.
func logged(log string, parts ...string) bool {
	for _, l := range strings.Split(log, "\n") {
		n := 0
		for _, p := range parts {
			if strings.Contains(l, p) {
				n++
			}
		}
		if n == len(parts) {
			return true
		}
	}
	return false
}

// rel returns path relative to dir, with forward slashes.
func rel(t *testing.T, dir, path string) string {
	t.Helper()
	r, err := filepath.Rel(dir, path)
	if err != nil {
		t.Fatal(err)
	}
	return filepath.ToSlash(r)
}
