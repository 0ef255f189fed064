package source

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// CSVConfig is the `with:` block of a csv_source stage.
type CSVConfig struct {
	Paths      []stages.Path   `yaml:"paths" required:"true" doc:"CSV files, folders or glob patterns, read in the order written (each pattern's matches sorted). A folder gives its .csv and .tsv files (also .gz, .zst), recursively, skipping names that start with \".\" or \"_\"."`
	Header     bool            `yaml:"header" doc:"The first line of each file names the columns."`
	Delimiter  string          `yaml:"delimiter" doc:"The field separator: one character; \"tab\" or \"\\t\" for tabs."`
	Schema     []SchemaColumn  `yaml:"schema" doc:"Explicit columns as a list of {name, type}; matched by name against the header, or by position without one. Inferred when absent."`
	InferRows  int             `yaml:"infer_rows" doc:"Rows read to infer the schema when none is given."`
	NullValues []string        `yaml:"null_values" doc:"Texts that mean null."`
	BatchRows  int             `yaml:"batch_rows" doc:"Largest number of rows in one emitted batch."`
	BatchBytes stages.ByteSize `yaml:"batch_bytes" doc:"Largest size of one emitted batch, estimated from its column types and the bytes read: a wide schema gets fewer rows per batch than batch_rows. Up to 1GiB."`
	// MaxRecordBytes bounds one record, which encoding/csv holds whole.
	MaxRecordBytes stages.ByteSize `yaml:"max_record_bytes" doc:"Largest record (a line, or several when a quoted field holds line breaks); a longer one is an error naming the file and line. Up to 1GiB."`
	// Hive holds partitioning, partition_types and partitions.
	Hive HiveConfig `yaml:",inline"`
}

func init() {
	stages.MustRegister(stages.Type[CSVConfig]{
		Name: "csv_source",
		Kind: stages.KindSource,
		Spec: stages.Spec{
			Summary: "Reads CSV files.",
			Description: "Reads delimited text files with RFC 4180 quoting. Every file must have the same header " +
				"(or the same number of fields without one).\n\n" +
				"Without `schema`, each column's type is inferred from the first `infer_rows` rows: int64, " +
				"float64, bool, timestamp (RFC 3339 or `2006-01-02 15:04:05`, UTC when no zone), else string. " +
				"A later value that does not parse is an error naming the file, line and column; give a " +
				"`schema` (or more `infer_rows`) to fix it. Every column is nullable; `null_values` lists the " +
				"texts read as null. A value of a string column, or a header name, that is not valid UTF-8 is an " +
				"error naming the file, line and column.\n\n" +
				"Files: a name ending with .gz or .zst (`x.csv.gz`) is decompressed as it is read; its first " +
				"bytes must match its name, so a misnamed file, or a corrupt or truncated one, is an error naming " +
				"it. An empty file, or one holding only a header, is 0 rows and a warning; with no `schema` and " +
				"no rows in any file, there is nothing to infer the types from and building fails, naming the " +
				"file. `pipe validate` lists the files matched and those skipped in folders (and why).\n\n" +
				"Memory: a record longer than `max_record_bytes` is an error naming the file and line; a batch " +
				"holds at most `batch_rows` rows and about `batch_bytes` bytes, so a wide file gets smaller batches.\n\n" +
				"Work units (resumable and sharded runs): one per file (compressed or not), of unknown size until read. The " +
				"schema is inferred once, from the first files, whatever unit is read.",
			Example: "- id: read\n  type: csv_source\n  with:\n    paths: [data/tx.csv]\n    schema:\n" +
				"      - {name: id, type: int64}\n      - {name: amount, type: float32}\n      - {name: country, type: string}\n",
		},
		Defaults: func() CSVConfig {
			return CSVConfig{Header: true, Delimiter: ",", InferRows: 1000,
				NullValues: []string{"", "NA", "NULL", "null"}, BatchRows: defaultBatchRows,
				BatchBytes: defaultBatchBytes, MaxRecordBytes: defaultMaxRecordBytes}
		},
		New: func(c CSVConfig, env *stages.Env) (stages.Stage, error) {
			s, err := NewCSV(c, env.Mem)
			if err != nil {
				return nil, err
			}
			s.keyBase = env.JobDir
			s.reject = env.Reject
			s.log = env.Log
			logInputs(env.Log, s.paths, s.skipped)
			return s, nil
		},
		// With on_error skip or dead_letter, records whose values do not
		// parse or whose field count is wrong are set aside.
		RejectsRows: true,
	})
}

// CSV is the csv_source stage. It implements [stages.Source] and
// [stages.Sharder].
type CSV struct {
	mem      memory.Allocator
	conf     CSVConfig
	comma    rune
	paths    []string
	skipped  []stages.FileNote      // files in the folders of paths not read
	versions []stages.ObjectVersion // of the s3:// objects in paths
	header   []string               // column names of the files (generated without a header); nil when all are empty
	schema   *arrow.Schema
	cols     []int // cols[i] is the field index in a record of schema column i
	inferred bool
	keyBase  string // the job folder, for unit keys
	nulls    map[string]bool
	hive     *hiveLayout // partitioning hive; nil when off
	partCols partCache   // the partition columns last built

	next int // index of the next file to open
	fi   int // index of the open file; -1 when none
	cf   *csvFile
	// closedBytes counts the bytes read from the files closed so far.
	closedBytes int64
	broken      error
	// reject receives undecodable records (on_error); nil: they fail.
	reject stages.Rejecter
	// log receives the warnings about files that hold no rows; nil: none.
	log *slog.Logger
}

// SetRejecter implements [stages.RejecterTaker].
func (s *CSV) SetRejecter(r stages.Rejecter) { s.reject = r }

// InputFiles implements [stages.InputLister].
func (s *CSV) InputFiles() (matched []string, skipped []stages.FileNote) { return s.paths, s.skipped }

// NewCSV builds a CSV source. It reads the header of every file and, when
// the schema is to be inferred, the first infer_rows records.
func NewCSV(c CSVConfig, mem memory.Allocator) (*CSV, error) {
	if err := checkBatchRows(c.BatchRows); err != nil {
		return nil, err
	}
	bb, err := sizeSetting("batch_bytes", c.BatchBytes, defaultBatchBytes, maxBatchBytes)
	if err != nil {
		return nil, err
	}
	mr, err := sizeSetting("max_record_bytes", c.MaxRecordBytes, defaultMaxRecordBytes, maxRecordBytes)
	if err != nil {
		return nil, err
	}
	c.BatchBytes, c.MaxRecordBytes = stages.ByteSize(bb), stages.ByteSize(mr)
	comma, err := parseDelimiter(c.Delimiter)
	if err != nil {
		return nil, err
	}
	if c.InferRows < 1 && len(c.Schema) == 0 {
		return nil, fmt.Errorf("infer_rows must be at least 1, got %d", c.InferRows)
	}
	list, hive, err := listSource(c.Paths, withCompressed(".csv", ".tsv"), c.Hive)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	s := &CSV{mem: mem, conf: c, comma: comma, paths: list.matched, skipped: list.skipped, versions: list.versions(), hive: hive, fi: -1, nulls: map[string]bool{}}
	for _, v := range c.NullValues {
		s.nulls[v] = true
	}
	if err := s.readHeaders(); err != nil {
		return nil, err
	}
	if len(c.Schema) > 0 {
		err = s.useSchema(c.Schema)
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

func parseDelimiter(d string) (rune, error) {
	switch d {
	case "tab", `\t`:
		return '\t', nil
	}
	r, n := utf8.DecodeRuneInString(d)
	if n == 0 || n != len(d) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
		return 0, fmt.Errorf("delimiter must be one character other than a quote or line break, got %q", d)
	}
	return r, nil
}

// csvBuf is the read buffer of a CSV file.
const csvBuf = 1 << 16

// csvFile is an open CSV file whose records are bounded by max_record_bytes.
type csvFile struct {
	path string
	f    *textFile
	r    *csv.Reader
	lim  *readLimiter
	max  int64
	skip int64 // bytes of a byte order mark, read before r
	off  int64 // r's input offset at the start of the next record
	// records counts the records read, the header included.
	records int64
}

// openCSV opens path (decompressing it, see [openText]) and returns a
// reader past any UTF-8 byte order mark.
func (s *CSV) openCSV(path string) (*csvFile, error) {
	f, err := openText(path)
	if err != nil {
		return nil, err
	}
	c := &csvFile{path: path, f: f, max: int64(s.conf.MaxRecordBytes)}
	c.lim = &readLimiter{r: f}
	c.grant()
	br := bufio.NewReaderSize(c.lim, csvBuf)
	if b, err := br.Peek(3); err == nil && string(b) == "\uFEFF" {
		_, _ = br.Discard(3)
		c.skip = 3
		c.grant()
	}
	c.r = csv.NewReader(br)
	c.r.Comma = s.comma
	c.r.FieldsPerRecord = -1
	c.r.ReuseRecord = true
	return c, nil
}

// grant lets the limiter pass the next record: max_record_bytes past its
// start, and the read buffer's worth more that bufio may hold ahead.
func (c *csvFile) grant() {
	c.lim.limit = c.skip + c.off + c.max + csvBuf
}

// read returns the next record as csv.Reader.Read does. A record longer than
// max_record_bytes is a [*FileError] wrapping a [*LimitError].
func (c *csvFile) read() ([]string, error) {
	rec, err := c.r.Read()
	if c.lim.tripped {
		return nil, c.tooLong(0)
	}
	end := c.r.InputOffset()
	if size := end - c.off; size > c.max && err == nil {
		return nil, c.tooLong(size)
	}
	c.off = end
	c.grant()
	if rec != nil {
		c.records++
	}
	return rec, err
}

// tooLong is the error of a record above max_record_bytes that starts at
// c.off.
func (c *csvFile) tooLong(size int64) error {
	return &FileError{Path: c.path, RowGroup: -1, Batch: -1, Line: lineAt(c.path, c.skip+c.off),
		Err: &LimitError{What: "record", Size: size, Limit: c.max, Setting: "max_record_bytes"}}
}

func (c *csvFile) close() { _ = c.f.Close() }

// readHeaders reads the header of every file: the first file that is not
// empty sets the columns, and the others must match it.
func (s *CSV) readHeaders() error {
	first := ""
	for _, p := range s.paths {
		h, err := s.readHeader(p)
		if err != nil {
			return err
		}
		if s.header == nil {
			s.header, first = h, p
			continue
		}
		if d := headerDiff(s.header, h, s.conf.Header); d != "" {
			return fileErr(p, fmt.Errorf("%w %s: %s", ErrSchemaMismatch, first, d))
		}
	}
	return nil
}

// readHeader returns the column names of path: its header, or c0, c1, ...
// for the fields of its first record; nil for an empty file (0 bytes, or
// compressed nothing).
func (s *CSV) readHeader(path string) ([]string, error) {
	cf, err := s.openCSV(path)
	if err != nil {
		return nil, err
	}
	defer cf.close()
	rec, err := cf.read()
	if errors.Is(err, io.EOF) {
		return nil, nil // an empty file fits any header; read, it warns
	}
	if err != nil {
		return nil, csvErr(path, err)
	}
	if !s.conf.Header {
		names := make([]string, len(rec))
		for i := range names {
			names[i] = fmt.Sprintf("c%d", i)
		}
		return names, nil
	}
	names := append([]string(nil), rec...)
	if i := checkNamesUTF8(names); i >= 0 {
		return nil, &FileError{Path: path, RowGroup: -1, Batch: -1, Line: 1,
			Err: fmt.Errorf("header: name of column %d %q is %w", i, truncate(names[i]), ErrInvalidUTF8)}
	}
	seen := map[string]bool{}
	for i, n := range names {
		if seen[n] {
			return nil, &FileError{Path: path, RowGroup: -1, Batch: -1, Line: 1, Column: n, Err: fmt.Errorf("header names column %d like an earlier one", i)}
		}
		seen[n] = true
	}
	return names, nil
}

// headerDiff describes how header got differs from want.
func headerDiff(want, got []string, named bool) string {
	if want == nil || got == nil {
		return "" // an empty file without a header fits anything
	}
	if len(want) != len(got) {
		return fmt.Sprintf("has %d columns, the first file has %d", len(got), len(want))
	}
	if named {
		for i := range want {
			if want[i] != got[i] {
				return fmt.Sprintf("column %d is %q, in the first file %q", i, got[i], want[i])
			}
		}
	}
	return ""
}

// useSchema maps an explicit schema onto the files' columns.
func (s *CSV) useSchema(cols []SchemaColumn) error {
	sc, err := explicitSchema(cols)
	if err != nil {
		return err
	}
	s.schema = sc
	s.cols = make([]int, len(cols))
	if !s.conf.Header || s.header == nil {
		// Without a header, or when every file is empty (nothing to
		// map), columns are taken by position.
		if s.header != nil && len(s.header) != len(cols) {
			return fileErr(s.paths[0], fmt.Errorf("schema lists %d columns, the file has %d fields per line", len(cols), len(s.header)))
		}
		for i := range s.cols {
			s.cols[i] = i
		}
		return nil
	}
	hs := arrow.NewSchema(func() []arrow.Field {
		fs := make([]arrow.Field, len(s.header))
		for i, n := range s.header {
			fs[i] = arrow.Field{Name: n, Type: arrow.Null}
		}
		return fs
	}(), nil)
	for i, c := range cols {
		idx, err := stages.Column(hs, c.Name)
		if err != nil {
			return fmt.Errorf("%s: %w", s.paths[0], err)
		}
		s.cols[i] = idx
	}
	return nil
}

// infer reads up to infer_rows records across the files and sets the schema.
// Files that hold no record (empty, or only a header) give no type: when no
// file holds one, inferring fails, naming the files and the schema setting.
func (s *CSV) infer() error {
	if s.header == nil {
		return noRowsErr(s.paths, "are empty")
	}
	kinds := make([]inferKind, len(s.header))
	for i := range kinds {
		kinds[i] = newInferKind()
	}
	left := s.conf.InferRows
	for _, p := range s.paths {
		if left == 0 {
			break
		}
		if err := s.inferFile(p, kinds, &left); err != nil {
			return err
		}
	}
	if left == s.conf.InferRows {
		return noRowsErr(s.paths, "hold no rows, only a header")
	}
	fields := make([]arrow.Field, len(s.header))
	s.cols = make([]int, len(s.header))
	for i, n := range s.header {
		fields[i] = arrow.Field{Name: n, Type: kinds[i].result(), Nullable: true}
		s.cols[i] = i
	}
	s.schema = arrow.NewSchema(fields, nil)
	s.inferred = true
	return nil
}

// inferFile observes up to *left records of path into kinds, decrementing
// *left.
func (s *CSV) inferFile(path string, kinds []inferKind, left *int) error {
	cf, err := s.openCSV(path)
	if err != nil {
		return err
	}
	defer cf.close()
	cf.r.FieldsPerRecord = len(s.header)
	if s.conf.Header {
		if _, err := cf.read(); errors.Is(err, io.EOF) {
			return nil // an empty file
		} else if err != nil {
			return csvErr(path, err)
		}
	}
	for ; *left > 0; *left-- {
		rec, err := cf.read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return csvErr(path, err)
		}
		for i, v := range rec {
			if !s.nulls[v] {
				kinds[i].observe(v)
			}
		}
	}
	return nil
}

// noRowsErr is the error of inferring a schema from files that hold no
// rows; what says what they hold.
func noRowsErr(paths []string, what string) error {
	if len(paths) == 1 {
		what = strings.NewReplacer("are ", "is ", "hold ", "holds ").Replace(what)
		return fileErr(paths[0], fmt.Errorf("%w: the file %s; set `schema` to read it", ErrNeedSchema, what))
	}
	return fileErr(paths[0], fmt.Errorf("%w: this file and the %d others %s; set `schema` to read them", ErrNeedSchema, len(paths)-1, what))
}

// csvErr converts an encoding/csv error into a [*FileError].
func csvErr(path string, err error) error {
	var fe *FileError
	if errors.As(err, &fe) {
		return err
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &FileError{Path: path, RowGroup: -1, Batch: -1, Line: int64(pe.Line), Err: fmt.Errorf("column %d: %w", pe.Column, pe.Err)}
	}
	return fileErr(path, err)
}

// Schema returns the schema of every batch.
func (s *CSV) Schema() *arrow.Schema { return s.hive.outSchema(s.schema) }

// Next returns the next batch of at most batch_rows rows of one file, owned
// by the caller, or io.EOF after the last file.
func (s *CSV) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		if s.cf == nil {
			if s.next >= len(s.paths) {
				return nil, io.EOF
			}
			s.fi = s.next
			s.next++
			cf, err := s.openCSV(s.paths[s.fi])
			if err != nil {
				return nil, s.fail(openErr(s.paths[s.fi], err))
			}
			s.cf = cf
			if s.conf.Header {
				if _, err := cf.read(); err != nil && !errors.Is(err, io.EOF) {
					return nil, s.fail(csvErr(s.paths[s.fi], err))
				}
			}
			if s.header != nil {
				cf.r.FieldsPerRecord = len(s.header)
			}
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
// record besides its header: a file with no rows is not an error.
func (s *CSV) endFile() {
	switch {
	case s.cf.records == 0:
		warnNoRows(s.log, s.cf.path, "the file is empty")
	case s.conf.Header && s.cf.records == 1:
		warnNoRows(s.log, s.cf.path, "the file holds only a header")
	}
	s.closeFile()
}

// readBatch reads up to batch_rows records of the open file; nil at its end.
func (s *CSV) readBatch(ctx context.Context) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(s.mem, s.schema)
	defer b.Release()
	apps := make([]appender, len(s.cols))
	for i := range apps {
		apps[i] = newAppender(b.Field(i))
	}
	path := s.paths[s.fi]
	rows := 0
	// A batch ends at batch_rows rows or at about batch_bytes: its columns'
	// fixed widths times its rows, plus the bytes of its records.
	width, budget := schemaRowBytes(s.schema), int64(s.conf.BatchBytes)
	start := s.cf.off
records:
	for rows < s.conf.BatchRows && int64(rows)*width+s.cf.off-start < budget {
		rec, err := s.cf.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if s.reject != nil && errors.Is(err, csv.ErrFieldCount) && rec != nil {
				line, _ := s.cf.r.FieldPos(0)
				if rerr := stages.RejectRaw(ctx, s.reject, s.mem, path, int64(line), strings.Join(rec, string(s.comma)), csvErr(path, err)); rerr != nil {
					return nil, rerr
				}
				continue
			}
			return nil, csvErr(path, err)
		}
		for i, idx := range s.cols {
			v := rec[idx]
			if s.nulls[v] {
				b.Field(i).AppendNull()
				continue
			}
			if !apps[i](v) {
				line, _ := s.cf.r.FieldPos(idx)
				ferr := &FileError{Path: path, RowGroup: -1, Batch: -1, Line: int64(line),
					Column: s.schema.Field(i).Name, Err: s.valueErr(v, i)}
				if s.reject == nil {
					return nil, ferr
				}
				if rerr := stages.RejectRaw(ctx, s.reject, s.mem, path, int64(line), strings.Join(rec, string(s.comma)), ferr); rerr != nil {
					return nil, rerr
				}
				// Columns before i took a value of this record: the batch
				// ends with the rows before it.
				if rows > 0 {
					return cutRecord(b, s.schema, rows), nil
				}
				for j := range s.cols {
					b.Field(j).NewArray().Release()
				}
				continue records
			}
		}
		rows++
	}
	if rows == 0 {
		return nil, nil
	}
	return b.NewRecordBatch(), nil
}

// cutRecord builds the first rows rows of b's columns into a batch, for a
// builder whose last record was appended only in part; b is reset.
func cutRecord(b *array.RecordBuilder, schema *arrow.Schema, rows int) arrow.RecordBatch {
	cols := make([]arrow.Array, schema.NumFields())
	for i := range cols {
		cols[i] = finishColumn(b.Field(i), rows)
	}
	rec := array.NewRecordBatch(schema, cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// valueErr describes a value of column i that does not parse.
func (s *CSV) valueErr(v string, i int) error {
	if s.schema.Field(i).Type.ID() == arrow.STRING {
		return invalidUTF8(v) // the only text a string column refuses
	}
	e := &ValueError{Value: truncate(v), Type: s.schema.Field(i).Type.String()}
	if s.inferred {
		e.Hint = fmt.Sprintf("type inferred from the first %d rows; give a schema or raise infer_rows", s.conf.InferRows)
	}
	return e
}

func (s *CSV) fail(err error) error {
	s.broken = err
	s.closeFile()
	return err
}

func (s *CSV) closeFile() {
	if s.cf != nil {
		s.closedBytes += s.cf.f.raw.n
		s.cf.close()
		s.cf = nil
	}
}

// Close closes the open file.
func (s *CSV) Close() error {
	s.closeFile()
	s.partCols.release()
	if s.broken == nil {
		s.broken = errors.New("csv_source: closed")
	}
	return nil
}

// describeCSV infers the schema of a CSV file and counts its records.
func describeCSV(path string) (*Info, error) {
	c := CSVConfig{Paths: []stages.Path{stages.Path(path)}, Header: true, Delimiter: ",", InferRows: 1000,
		NullValues: []string{"", "NA", "NULL", "null"}, BatchRows: defaultBatchRows,
		BatchBytes: defaultBatchBytes, MaxRecordBytes: defaultMaxRecordBytes}
	if _, name := compressionOf(path); strings.HasSuffix(strings.ToLower(name), ".tsv") {
		c.Delimiter = "\t"
	}
	s, err := NewCSV(c, memory.DefaultAllocator)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	cf, err := s.openCSV(path)
	if err != nil {
		return nil, err
	}
	defer cf.close()
	info := &Info{Path: path, Format: FormatCSV, Schema: s.schema, Compression: cf.f.compressed()}
	for {
		_, err := cf.read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, csvErr(path, err)
		}
		info.Rows++
	}
	if info.Rows > 0 {
		info.Rows-- // the header
	}
	return info, nil
}
