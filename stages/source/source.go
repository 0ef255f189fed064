package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/stages"
)

// defaultBatchRows is the default of every source's batch_rows key.
const defaultBatchRows = 65536

// Sentinel errors that callers can test with errors.Is.
var (
	// ErrNoMatch: a path or pattern in `paths` matches no file.
	ErrNoMatch = errors.New("matches no file")
	// ErrNeedSchema: a text source (CSV, JSON lines) has no rows to infer
	// its schema from (its files are empty, or CSV files only a header)
	// and none is declared.
	ErrNeedSchema = errors.New("cannot infer a schema")
	// ErrSchemaMismatch: a file's schema differs from the first file's.
	ErrSchemaMismatch = errors.New("schema differs from the first file")
	// ErrCorruptInput: a reader panicked on a malformed file; the panic was
	// recovered and the reader abandoned.
	ErrCorruptInput = errors.New("corrupt input")
	// ErrLimit: a file declares a size above a safety limit (an Arrow IPC
	// buffer whose uncompressed length cannot be true, a body larger than
	// the file or than max_batch_bytes).
	ErrLimit = errors.New("exceeds a safety limit")
)

// FileError is an error about one input file, with the position of the
// problem where it is known.
type FileError struct {
	Path     string
	RowGroup int    // Parquet row group; -1 when not applicable
	Line     int64  // 1-based line (CSV, JSON lines); 0 when unknown
	Batch    int    // 0-based Arrow IPC record batch; -1 when not applicable
	Column   string // empty when not about one column
	Err      error
}

func (e *FileError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.RowGroup >= 0 {
		fmt.Fprintf(&b, ": row group %d", e.RowGroup)
	}
	if e.Batch >= 0 {
		fmt.Fprintf(&b, ": record batch %d", e.Batch)
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	b.WriteString(": ")
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }

// fileErr wraps err as a [*FileError] about path with no position.
func fileErr(path string, err error) *FileError {
	return &FileError{Path: path, RowGroup: -1, Batch: -1, Err: err}
}

// ValueError is a value that does not parse as its column's type.
type ValueError struct {
	Value string // the offending text, truncated to 64 bytes
	Type  string // the column's type
	Hint  string // optional advice
}

func (e *ValueError) Error() string {
	msg := fmt.Sprintf("cannot parse %q as %s", e.Value, e.Type)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// PanicError is a panic recovered from a reader, with its stack. It wraps
// [ErrCorruptInput].
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string {
	return fmt.Sprintf("%v: reader panicked: %v", ErrCorruptInput, e.Value)
}

// Unwrap returns [ErrCorruptInput].
func (e *PanicError) Unwrap() error { return ErrCorruptInput }

// guard runs f and turns a panic inside it into a [*PanicError].
func guard(f func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &PanicError{Value: r, Stack: debug.Stack()}
		}
	}()
	return f()
}

// checkBatchRows validates a batch_rows value.
func checkBatchRows(n int) error {
	if n < 1 {
		return fmt.Errorf("batch_rows must be at least 1, got %d", n)
	}
	return nil
}

// expandPaths turns the `paths` of a file source into the list of files to
// read, in a stable order: each entry in the order written; a glob pattern
// expands to its matches sorted; a folder to the files under it whose
// extension is one of exts, sorted, skipping names that start with "." or
// "_". A file is listed once even when several entries match it.
func expandPaths(paths []stages.Path, exts []string) ([]string, error) {
	l, err := listPaths(paths, exts)
	if err != nil {
		return nil, err
	}
	return l.matched, nil
}

// pathList is what the `paths` of a file source expand to.
type pathList struct {
	matched []string
	// skipped are the files inside the folders that are not read.
	skipped []stages.FileNote
	seen    map[string]bool
	// objects holds the size and ETag of the matched s3:// objects, by URL.
	objects map[string]objectInfo
}

func (l *pathList) add(p string) {
	if !l.seen[p] {
		l.seen[p] = true
		l.matched = append(l.matched, p)
	}
}

// listPaths is expandPaths that also returns the files it skipped inside
// folders, with the reason.
func listPaths(paths []stages.Path, exts []string) (*pathList, error) {
	if len(paths) == 0 {
		return nil, errors.New("paths: at least one file or pattern is required")
	}
	l := &pathList{seen: map[string]bool{}}
	for _, p := range paths {
		s := string(p)
		if s == "" {
			return nil, errors.New("paths: empty path")
		}
		if isObjectURL(s) {
			// Sources are built without a context; the SDK's retryer bounds
			// each request.
			n, err := l.addObjects(context.Background(), s, exts)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, fmt.Errorf("paths: %q %w", s, ErrNoMatch)
			}
			continue
		}
		matches, err := globPath(s)
		if err != nil {
			return nil, err
		}
		n := 0
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				if len(matches) == 1 && m == s {
					return nil, fmt.Errorf("paths: %w", err)
				}
				continue
			}
			if !st.IsDir() {
				l.add(m)
				n++
				continue
			}
			files, err := dataFiles(m, exts, &l.skipped)
			if err != nil {
				return nil, fmt.Errorf("paths: %w", err)
			}
			for _, f := range files {
				l.add(f)
				n++
			}
		}
		if n == 0 {
			return nil, fmt.Errorf("paths: %q %w", s, ErrNoMatch)
		}
	}
	return l, nil
}

// globPath returns the matches of s, sorted, when it is a glob pattern
// ("*" not matching a leading dot, as shells do), else s itself.
func globPath(s string) ([]string, error) {
	if !strings.ContainsAny(s, "*?[") {
		return []string{s}, nil
	}
	m, err := filepath.Glob(s)
	if err != nil {
		return nil, fmt.Errorf("paths: pattern %q: %w", s, err)
	}
	sort.Strings(m)
	var matches []string
	dot := strings.HasPrefix(filepath.Base(s), ".")
	for _, x := range m {
		if dot || !strings.HasPrefix(filepath.Base(x), ".") {
			matches = append(matches, x)
		}
	}
	return matches, nil
}

// dataFiles lists the files under dir with one of the extensions, sorted,
// and appends the files (and folders) it leaves out to skipped.
func dataFiles(dir string, exts []string, skipped *[]stages.FileNote) ([]string, error) {
	var out []string
	var left []stages.FileNote
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if p != dir && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			left = append(left, stages.FileNote{Path: p, Reason: "name starts with " + name[:1]})
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		if hasExtension(p, exts) {
			out = append(out, p)
		} else {
			left = append(left, stages.FileNote{Path: p, Reason: "extension"})
		}
		return nil
	})
	sort.Strings(out)
	sort.Slice(left, func(i, j int) bool { return left[i].Path < left[j].Path })
	*skipped = append(*skipped, left...)
	return out, err
}

// schemaDiff describes how got differs from want, or returns "" when they
// have the same column names and types. Nullability and metadata are
// ignored.
func schemaDiff(want, got *arrow.Schema) string {
	if want.NumFields() != got.NumFields() {
		return fmt.Sprintf("has %d columns (%s), the first file has %d (%s)",
			got.NumFields(), fieldNames(got), want.NumFields(), fieldNames(want))
	}
	for i := range want.NumFields() {
		w, g := want.Field(i), got.Field(i)
		if w.Name != g.Name {
			return fmt.Sprintf("column %d is %q, in the first file %q", i, g.Name, w.Name)
		}
		if !arrow.TypeEqual(w.Type, g.Type) {
			return fmt.Sprintf("column %q has type %s, in the first file %s", g.Name, g.Type, w.Type)
		}
	}
	return ""
}

func fieldNames(s *arrow.Schema) string {
	names := make([]string, s.NumFields())
	for i, f := range s.Fields() {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

// unifySchemas checks that every schema matches the first (see schemaDiff)
// and returns the first one with each field made nullable when it is
// nullable in any file. files names the schemas for errors.
func unifySchemas(files []string, schemas []*arrow.Schema) (*arrow.Schema, error) {
	first := schemas[0]
	fields := append([]arrow.Field(nil), first.Fields()...)
	changed := false
	for i, s := range schemas[1:] {
		if d := schemaDiff(first, s); d != "" {
			return nil, fileErr(files[i+1], fmt.Errorf("%w %s: %s", ErrSchemaMismatch, files[0], d))
		}
		for j, f := range s.Fields() {
			if f.Nullable && !fields[j].Nullable {
				fields[j].Nullable, changed = true, true
			}
		}
	}
	if !changed {
		return first, nil
	}
	md := first.Metadata()
	return arrow.NewSchema(fields, &md), nil
}

// withSchema returns rec under schema s when their fields differ only in
// nullability or metadata; the columns are shared, not copied. It takes
// ownership of rec.
func withSchema(s *arrow.Schema, rec arrow.RecordBatch) arrow.RecordBatch {
	if rec.Schema() == s || rec.Schema().Equal(s) {
		return rec
	}
	out := array.NewRecordBatch(s, rec.Columns(), rec.NumRows())
	rec.Release()
	return out
}
