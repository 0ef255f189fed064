package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// JSONLConfig is the `with:` block of a jsonl_source stage.
type JSONLConfig struct {
	Paths        []stages.Path   `yaml:"paths" required:"true" doc:"JSON lines files, folders or glob patterns, read in the order written (each pattern's matches sorted). A folder gives its .jsonl, .ndjson and .json files (also .gz, .zst), recursively, skipping names that start with \".\" or \"_\"."`
	Schema       []SchemaColumn  `yaml:"schema" doc:"Explicit columns as a list of {name, type}. Inferred when absent."`
	InferRows    int             `yaml:"infer_rows" doc:"Lines read to infer the schema when none is given."`
	BatchRows    int             `yaml:"batch_rows" doc:"Largest number of rows in one emitted batch."`
	BatchBytes   stages.ByteSize `yaml:"batch_bytes" doc:"Largest size of one emitted batch, estimated from its column types and the bytes read: a wide schema gets fewer rows per batch than batch_rows. Up to 1GiB."`
	MaxLineBytes stages.ByteSize `yaml:"max_line_bytes" doc:"Longest line; a longer one is an error naming the file and line. Up to 1GiB."`
	// Hive holds partitioning, partition_types and partitions.
	Hive HiveConfig `yaml:",inline"`
}

func init() {
	stages.MustRegister(stages.Type[JSONLConfig]{
		Name: "jsonl_source",
		Kind: stages.KindSource,
		// With on_error skip or dead_letter, lines that are not JSON
		// objects or hold values of the wrong type are set aside.
		RejectsRows: true,
		Spec: stages.Spec{
			Summary: "Reads JSON lines files: one JSON object per line.",
			Description: "Reads files holding one JSON object per line (blank lines are skipped). A key missing " +
				"from a line, or `null`, is a null; keys not in the schema are ignored.\n\n" +
				"Without `schema`, columns are the keys of the first `infer_rows` lines in order of first " +
				"appearance, typed int64 (integers only), float64 (any other number), bool, timestamp " +
				"(strings that all read as RFC 3339 times), vector[n] (arrays of n numbers, the same n on every line: " +
				"fixed_size_list<float32>[n], what model stages take) or string. Objects, other arrays and mixed values " +
				"become string columns holding the JSON text. A value of the wrong type is an error naming the file, " +
				"line and column. A string value or key that is not valid UTF-8 is an error naming the file, line " +
				"and column.\n\n" +
				"Files: a name ending with .gz or .zst (`x.jsonl.gz`) is decompressed as it is read; its first " +
				"bytes must match its name, so a misnamed file, or a corrupt or truncated one, is an error naming " +
				"it. An empty file (or only blank lines) is 0 rows and a warning; with no `schema` and no object " +
				"in any file, building fails, naming the file. `pipe validate` lists the files matched and those " +
				"skipped in folders (and why).\n\n" +
				"Memory: a line longer than `max_line_bytes` is an error naming the file and line; a batch holds " +
				"at most `batch_rows` rows and about `batch_bytes` bytes, so a wide schema gets smaller batches.\n\n" +
				"Work units (resumable and sharded runs): one per file (compressed or not), of unknown size until read. The " +
				"schema is inferred once, from the first files, whatever unit is read.",
			Example: "- id: read\n  type: jsonl_source\n  with:\n    paths: [\"events/*.jsonl\"]\n    schema:\n" +
				"      - {name: id, type: int64}\n      - {name: text, type: string}\n",
		},
		Defaults: func() JSONLConfig {
			return JSONLConfig{InferRows: 1000, BatchRows: defaultBatchRows,
				BatchBytes: defaultBatchBytes, MaxLineBytes: defaultMaxRecordBytes}
		},
		New: func(c JSONLConfig, env *stages.Env) (stages.Stage, error) {
			s, err := NewJSONL(c, env.Mem)
			if err != nil {
				return nil, err
			}
			s.reject = env.Reject
			s.keyBase = env.JobDir
			s.log = env.Log
			logInputs(env.Log, s.paths, s.skipped)
			return s, nil
		},
	})
}

// JSONL is the jsonl_source stage. It implements [stages.Source] and
// [stages.Sharder].
type JSONL struct {
	mem      memory.Allocator
	conf     JSONLConfig
	paths    []string
	skipped  []stages.FileNote      // files in the folders of paths not read
	versions []stages.ObjectVersion // of the s3:// objects in paths
	schema   *arrow.Schema
	inferred bool
	keyBase  string      // the job folder, for unit keys
	hive     *hiveLayout // partitioning hive; nil when off
	partCols partCache   // the partition columns last built

	next    int
	fi      int
	f       *textFile
	sc      *bufio.Scanner
	line    int64
	objects int64 // non-blank lines of the open file
	broken  error
	// closedBytes counts the bytes read from the files closed so far.
	closedBytes int64

	// Kept across batches: a JSON-lines stream read one row per batch
	// would otherwise build 1 + (columns) builders per row. int64 and
	// float64 columns collect into num (their arrays share one buffer per
	// batch), the others into builders.
	builders []array.Builder // nil for num columns
	num      []*numColumn    // nil for builder columns
	apps     []appender
	index    map[string]int // field name -> position
	vals     [][]byte       // this line's raw value per field; nil: absent

	// reject receives undecodable lines (on_error); nil: they fail.
	reject stages.Rejecter
	// log receives the warnings about files that hold no rows; nil: none.
	log *slog.Logger
}

// SetRejecter implements [stages.RejecterTaker].
func (s *JSONL) SetRejecter(r stages.Rejecter) { s.reject = r }

// InputFiles implements [stages.InputLister].
func (s *JSONL) InputFiles() (matched []string, skipped []stages.FileNote) { return s.paths, s.skipped }

// NewJSONL builds a JSON lines source. Without an explicit schema it reads
// the first infer_rows lines to infer one.
func NewJSONL(c JSONLConfig, mem memory.Allocator) (*JSONL, error) {
	if err := checkBatchRows(c.BatchRows); err != nil {
		return nil, err
	}
	if c.InferRows < 1 && len(c.Schema) == 0 {
		return nil, fmt.Errorf("infer_rows must be at least 1, got %d", c.InferRows)
	}
	bb, err := sizeSetting("batch_bytes", c.BatchBytes, defaultBatchBytes, maxBatchBytes)
	if err != nil {
		return nil, err
	}
	ml, err := sizeSetting("max_line_bytes", c.MaxLineBytes, defaultMaxRecordBytes, maxRecordBytes)
	if err != nil {
		return nil, err
	}
	c.BatchBytes, c.MaxLineBytes = stages.ByteSize(bb), stages.ByteSize(ml)
	list, hive, err := listSource(c.Paths, withCompressed(".jsonl", ".ndjson", ".json"), c.Hive)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	s := &JSONL{mem: mem, conf: c, paths: list.matched, skipped: list.skipped, versions: list.versions(), hive: hive, fi: -1}
	if len(c.Schema) > 0 {
		s.schema, err = explicitSchema(c.Schema)
	} else {
		err = s.infer()
	}
	if err != nil {
		return nil, err
	}
	if s.hive != nil {
		if err := s.hive.bind(s.schema); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// newLineScanner returns a scanner of the lines of r, of at most max
// bytes each.
func newLineScanner(r io.Reader, max int64) *bufio.Scanner {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, min(1<<16, max+1)), int(max)+1) // +1: the newline
	return sc
}

// scanErr converts a scanner error into a [*FileError] at line.
func scanErr(path string, line, max int64, err error) error {
	if errors.Is(err, bufio.ErrTooLong) {
		err = &LimitError{What: "line", Limit: max, Setting: "max_line_bytes"}
	}
	return &FileError{Path: path, RowGroup: -1, Batch: -1, Line: line, Err: err}
}

// jsonErr rewords encoding/json's errors about the top-level value.
func jsonErr(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field == "" {
		return fmt.Errorf("expected a JSON object, got %s", te.Value)
	}
	return fmt.Errorf("invalid JSON: %w", err)
}

// infer reads up to infer_rows lines across the files and sets the schema.
func (s *JSONL) infer() error {
	in := newJSONInfer()
	left := s.conf.InferRows
	for _, p := range s.paths {
		if left == 0 {
			break
		}
		if err := in.file(p, &left, int64(s.conf.MaxLineBytes)); err != nil {
			return err
		}
	}
	if len(in.order) == 0 {
		if in.lines == 0 {
			return noRowsErr(s.paths, "are empty or blank")
		}
		return fileErr(s.paths[0], fmt.Errorf("%w: no object with keys in the first lines; set `schema`", ErrNeedSchema))
	}
	fields := make([]arrow.Field, len(in.order))
	for i, c := range in.order {
		fields[i] = arrow.Field{Name: c.name, Type: c.kind.result(), Nullable: true}
	}
	s.schema = arrow.NewSchema(fields, nil)
	s.inferred = true
	return nil
}

// Schema returns the schema of every batch.
func (s *JSONL) Schema() *arrow.Schema { return s.hive.outSchema(s.schema) }

// Next returns the next batch of at most batch_rows rows of one file, owned
// by the caller, or io.EOF after the last file.
func (s *JSONL) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		if s.sc == nil {
			if s.next >= len(s.paths) {
				return nil, io.EOF
			}
			s.fi = s.next
			s.next++
			f, err := openText(s.paths[s.fi])
			if err != nil {
				return nil, s.fail(openErr(s.paths[s.fi], err))
			}
			s.f, s.sc, s.line, s.objects = f, newLineScanner(f, int64(s.conf.MaxLineBytes)), 0, 0
		}
		rec, err := s.readBatch(ctx)
		if err != nil {
			return nil, s.fail(err)
		}
		if rec != nil {
			if rec, err = s.hive.extend(rec, s.paths[s.fi], s.mem, &s.partCols); err != nil {
				return nil, s.fail(err)
			}
			return rec, nil
		}
		s.endFile()
	}
}

// endFile closes the file read to its end, with a warning when it held no
// line but blank ones: a file with no rows is not an error.
func (s *JSONL) endFile() {
	switch {
	case s.line == 0:
		warnNoRows(s.log, s.paths[s.fi], "the file is empty")
	case s.objects == 0:
		warnNoRows(s.log, s.paths[s.fi], "the file holds only blank lines")
	}
	s.closeFile()
}

// readBatch reads up to batch_rows objects of the open file; nil at its end.
func (s *JSONL) readBatch(ctx context.Context) (arrow.RecordBatch, error) {
	s.initColumns()
	record := s.recordValue
	path := s.paths[s.fi]
	rows := 0
	// A batch ends at batch_rows rows or at about batch_bytes: its columns'
	// fixed widths times its rows, plus the bytes of its lines.
	width, budget, read := schemaRowBytes(s.schema), int64(s.conf.BatchBytes), int64(0)
	for rows < s.conf.BatchRows && int64(rows)*width+read < budget && s.sc.Scan() {
		s.line++
		line := bytes.TrimSpace(s.sc.Bytes())
		read += int64(len(line))
		if len(line) == 0 {
			continue
		}
		s.objects++
		clear(s.vals)
		if err := scanObject(line, record); err != nil {
			ferr := &FileError{Path: path, RowGroup: -1, Batch: -1, Line: s.line, Err: err}
			if _, _, err := s.setAside(ctx, line, ferr, false, rows); err != nil {
				return nil, err
			}
			continue
		}
		if ferr := s.appendValues(path); ferr != nil {
			rec, cut, err := s.setAside(ctx, line, ferr, true, rows)
			if err != nil {
				s.resetColumns()
				return nil, err
			}
			if cut {
				return rec, nil
			}
			continue
		}
		rows++
	}
	if err := s.sc.Err(); err != nil {
		return nil, scanErr(path, s.line+1, int64(s.conf.MaxLineBytes), err)
	}
	if rows == 0 {
		return nil, nil
	}
	return s.newRecord(rows), nil
}

// initColumns makes, on the first batch, the columns kept across batches:
// a numColumn or a builder and its appender per field, and the index of
// the fields by name.
func (s *JSONL) initColumns() {
	if s.apps != nil {
		return
	}
	fields := s.schema.Fields()
	s.builders = make([]array.Builder, len(fields))
	s.num = make([]*numColumn, len(fields))
	s.apps = make([]appender, len(fields))
	s.index = make(map[string]int, len(fields))
	for i, f := range fields {
		if isNumColumn(f.Type) {
			s.num[i] = newNumColumn(f.Type)
		} else {
			s.builders[i] = array.NewBuilder(s.mem, f.Type)
			s.apps[i] = newAppender(s.builders[i])
		}
		s.index[f.Name] = i
	}
	s.vals = make([][]byte, len(fields))
}

// recordValue keeps the raw JSON value of key when it names a column.
func (s *JSONL) recordValue(key, raw []byte) {
	if i, ok := s.index[string(key)]; ok {
		s.vals[i] = raw // a repeated key: the last one wins
	}
}

// appendValues appends the row's values in s.vals to the columns, null
// for a missing one. At the first value that does not fit its column it
// stops and returns the error, naming the file, line and column; the
// columns before it then hold part of the row.
func (s *JSONL) appendValues(path string) error {
	for i := range s.vals {
		f := s.schema.Field(i)
		raw := s.vals[i]
		nc := s.num[i]
		if raw == nil || string(raw) == "null" {
			if nc != nil {
				nc.appendNull()
			} else {
				s.builders[i].AppendNull()
			}
			continue
		}
		var err error
		if nc != nil {
			// A JSON number (or array of numbers, which appendText
			// checks), parsed as the text appenders do.
			c := raw[0]
			if nc.dim == 0 && c != '-' && (c < '0' || c > '9') || !nc.appendText(raw) {
				err = errors.New("wrong type")
			}
		} else {
			err = appendJSON(s.apps[i], f.Type, raw)
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrInvalidUTF8) {
			ve := &ValueError{Value: truncate(string(raw)), Type: f.Type.String()}
			if s.inferred {
				ve.Hint = fmt.Sprintf("type inferred from the first %d lines; give a schema or raise infer_rows", s.conf.InferRows)
			}
			err = ve
		}
		return &FileError{Path: path, RowGroup: -1, Batch: -1, Line: s.line, Column: f.Name, Err: err}
	}
	return nil
}

// setAside hands the line to the Rejecter (on_error) and, when partial,
// drops what columns before the failing one took of it. It returns the
// batch to emit (the rows rows before the line) with cut true, nil to go
// on reading, or the error: lineErr itself when there is no Rejecter.
func (s *JSONL) setAside(ctx context.Context, line []byte, lineErr error, partial bool, rows int) (rec arrow.RecordBatch, cut bool, err error) {
	if s.reject == nil {
		return nil, false, lineErr
	}
	if err := stages.RejectRaw(ctx, s.reject, s.mem, s.paths[s.fi], s.line, string(line), lineErr); err != nil {
		return nil, false, err
	}
	if !partial {
		return nil, false, nil
	}
	if rows > 0 {
		return s.newRecordCut(rows), true, nil
	}
	s.resetColumns()
	return nil, false, nil
}

// newRecord turns the collected rows into a batch owned by the caller.
func (s *JSONL) newRecord(rows int) arrow.RecordBatch {
	cols := make([]arrow.Array, len(s.builders))
	var nums []*numColumn
	for _, nc := range s.num {
		if nc != nil {
			nums = append(nums, nc)
		}
	}
	built := buildNumColumns(s.mem, nums, rows)
	k := 0
	for i, b := range s.builders {
		if b != nil {
			cols[i] = finishColumn(b, rows)
		} else {
			cols[i] = built[k]
			k++
		}
	}
	rec := array.NewRecordBatch(s.schema, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// newRecordCut is newRecord for the first rows rows, when columns took
// values of a line that was then set aside.
func (s *JSONL) newRecordCut(rows int) arrow.RecordBatch {
	for _, nc := range s.num {
		if nc != nil {
			nc.truncate(rows)
		}
	}
	return s.newRecord(rows)
}

// resetColumns drops the rows collected so far (after a bad line).
func (s *JSONL) resetColumns() {
	for i, b := range s.builders {
		if b != nil {
			if a := b.NewArray(); a != nil {
				a.Release()
			}
		} else {
			s.num[i].reset()
		}
	}
}

// appendJSON appends a non-null raw JSON value to a column of type dt.
func appendJSON(app appender, dt arrow.DataType, raw json.RawMessage) error {
	bad := errors.New("wrong type")
	switch dt.ID() {
	case arrow.STRING:
		if !utf8.Valid(raw) {
			return invalidUTF8(string(raw))
		}
		if raw[0] != '"' {
			app(string(raw)) // objects, arrays, numbers, bools: their JSON text
			return nil
		}
		fallthrough
	case arrow.TIMESTAMP, arrow.DATE32:
		if raw[0] != '"' {
			return bad
		}
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return err
		}
		if !app(str) {
			return bad
		}
		return nil
	case arrow.BOOL:
		if raw[0] != 't' && raw[0] != 'f' {
			return bad
		}
	case arrow.FIXED_SIZE_LIST:
		// The vector appender parses and does not keep the text: no copy.
		if raw[0] != '[' || !app(unsafe.String(unsafe.SliceData(raw), len(raw))) {
			return bad
		}
		return nil
	default: // numbers
		if c := raw[0]; c != '-' && (c < '0' || c > '9') {
			return bad
		}
	}
	if !app(string(raw)) {
		return bad
	}
	return nil
}

func (s *JSONL) fail(err error) error {
	s.broken = err
	s.closeFile()
	return err
}

func (s *JSONL) closeFile() {
	if s.f != nil {
		s.closedBytes += s.f.raw.n
		_ = s.f.Close()
		s.f, s.sc = nil, nil
	}
}

// Close closes the open file and releases the builder.
func (s *JSONL) Close() error {
	s.closeFile()
	s.partCols.release()
	for _, b := range s.builders {
		if b != nil {
			b.Release()
		}
	}
	s.builders = nil
	if s.broken == nil {
		s.broken = errors.New("jsonl_source: closed")
	}
	return nil
}

// describeJSONL infers the schema of a JSON lines file and counts its
// non-blank lines.
func describeJSONL(path string) (*Info, error) {
	s, err := NewJSONL(JSONLConfig{Paths: []stages.Path{stages.Path(path)}, InferRows: 1000, BatchRows: defaultBatchRows,
		BatchBytes: defaultBatchBytes, MaxLineBytes: defaultMaxRecordBytes}, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	f, err := openText(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info := &Info{Path: path, Format: FormatJSONL, Schema: s.schema, Compression: f.compressed()}
	sc := newLineScanner(f, defaultMaxRecordBytes)
	var line int64
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			info.Rows++
		}
	}
	if err := sc.Err(); err != nil {
		return nil, scanErr(path, line+1, defaultMaxRecordBytes, err)
	}
	return info, nil
}
