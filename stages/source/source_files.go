package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// FilesConfig is the `with:` block of a files_source stage.
type FilesConfig struct {
	Paths        []stages.Path   `yaml:"paths" required:"true" doc:"Files, folders (every file inside, recursively, skipping names that start with \".\" or \"_\") or glob patterns, read in the order written (each pattern's and folder's files sorted)."`
	Extensions   []string        `yaml:"extensions" doc:"Keep only files whose name ends with one of these extensions, compared without case (\".jpg\" or \"jpg\"). Every file when absent."`
	BatchRows    int             `yaml:"batch_rows" doc:"Largest number of rows (files) in one emitted batch."`
	BatchBytes   stages.ByteSize `yaml:"batch_bytes" doc:"Largest size of one emitted batch: the files' bytes plus their paths and fixed-width columns. A file larger than this is a batch of its own. Up to 1GiB."`
	MaxFileBytes stages.ByteSize `yaml:"max_file_bytes" doc:"Largest file read; a larger one is an error naming the file and both sizes (set aside with on_error skip or dead_letter). Up to 1GiB."`
}

const (
	// defaultFilesBatchBytes is the default of files_source's batch_bytes.
	defaultFilesBatchBytes = 64 << 20
	// defaultMaxFileBytes is the default of max_file_bytes.
	defaultMaxFileBytes = 64 << 20
	// maxFileBytes bounds max_file_bytes: binary offsets are 32-bit.
	maxFileBytes = 1 << 30
	// fileRowBytes is what one row takes besides the file's bytes and
	// path: the binary and string offsets, size and modified.
	fileRowBytes = 4 + 4 + 8 + 8
)

// Errors about a file read by files_source, wrapped in a [*FileError].
var (
	// ErrNotRegular: a listed path is not a regular file (a device, a
	// pipe, or a folder that replaced the file after listing).
	ErrNotRegular = errors.New("not a regular file")
	// ErrFileChanged: a file's size changed between its stat and the end
	// of its read.
	ErrFileChanged = errors.New("file changed while it was read")
)

// FilesSchema is the schema of files_source's batches.
var FilesSchema = arrow.NewSchema([]arrow.Field{
	{Name: "path", Type: arrow.BinaryTypes.String},
	{Name: "size", Type: arrow.PrimitiveTypes.Int64},
	{Name: "modified", Type: arrow.FixedWidthTypes.Timestamp_us},
	{Name: "bytes", Type: arrow.BinaryTypes.Binary},
}, nil)

func init() {
	stages.MustRegister(stages.Type[FilesConfig]{
		Name: "files_source",
		Kind: stages.KindSource,
		// With on_error skip or dead_letter, files that are too large, or
		// that vanished or cannot be read after listing, are set aside.
		RejectsRows: true,
		Spec: stages.Spec{
			Summary: "Reads files (such as images) as rows: path, size, modified time and content.",
			Description: "Emits one row per file: `path` (string: relative to the job folder when the file is inside " +
				"it, with forward slashes, else as listed), `size` (int64 bytes), `modified` (timestamp[us, UTC]) " +
				"and `bytes` (binary: the whole content). `extensions` keeps only the files with those name " +
				"endings. Files are listed when the job is built and read as batches are built, in order; a " +
				"file that vanished, changed size or cannot be read when its turn comes is an error naming " +
				"it, as is a path that is not a regular file.\n\n" +
				"Memory: a batch holds at most `batch_rows` files and about `batch_bytes` bytes (a larger file " +
				"is a batch of its own); a file larger than `max_file_bytes` is an error naming the file and " +
				"both sizes. With on_error skip or dead_letter, such files are set aside (the dead-letter row " +
				"names the file) and the others read. parquet_sink sizes row groups assuming 32 bytes per binary " +
				"value and buffers a row group whole: give it a `row_group_rows` of about 64MiB divided by the typical file size.\n\n" +
				"Work units (resumable and sharded runs): runs of consecutive files, grouped until they hold " +
				"`unit_rows` files, keyed by the first and last file (\"imgs/a.jpg..imgs/k.jpg\").",
			Example: "- id: images\n  type: files_source\n  with:\n    paths: [photos/]\n    extensions: [.jpg, .png]\n" +
				"    batch_bytes: 32MiB\n",
		},
		Defaults: func() FilesConfig {
			return FilesConfig{BatchRows: defaultBatchRows, BatchBytes: defaultFilesBatchBytes, MaxFileBytes: defaultMaxFileBytes}
		},
		New: func(c FilesConfig, env *stages.Env) (stages.Stage, error) {
			s, err := NewFiles(c, env.Mem)
			if err != nil {
				return nil, err
			}
			s.reject = env.Reject
			s.keyBase = env.JobDir
			return s, nil
		},
	})
}

// Files is the files_source stage. It implements [stages.Source],
// [stages.Sharder] and [stages.RejecterTaker].
//
// Ownership: a batch returned by Next belongs to the caller, which releases
// it; its buffers come from the source's allocator and the source keeps no
// reference to them. The files' bytes are read straight into the batch's
// binary value buffer (no other copy is held).
type Files struct {
	mem     memory.Allocator
	conf    FilesConfig           // checked: sizes set, extensions normalized
	paths   []string              // the files, listed once, read in order
	objects map[string]objectInfo // what the listing saw of the s3:// paths; read-only, shared with shards
	keyBase string                // the job folder, for paths and unit keys
	units   unitCache

	next   int // index in paths of the next file to read
	broken error

	// reject receives the files that cannot be read (on_error); nil: they
	// fail the source.
	reject stages.Rejecter
}

var (
	_ stages.Sharder       = (*Files)(nil)
	_ stages.RejecterTaker = (*Files)(nil)
)

// SetRejecter implements [stages.RejecterTaker].
func (s *Files) SetRejecter(r stages.Rejecter) { s.reject = r }

// NewFiles builds a files source: it checks the settings and lists the
// files (reading none of them).
func NewFiles(c FilesConfig, mem memory.Allocator) (*Files, error) {
	if err := checkBatchRows(c.BatchRows); err != nil {
		return nil, err
	}
	bb, err := sizeSetting("batch_bytes", c.BatchBytes, defaultFilesBatchBytes, maxBatchBytes)
	if err != nil {
		return nil, err
	}
	mf, err := sizeSetting("max_file_bytes", c.MaxFileBytes, defaultMaxFileBytes, maxFileBytes)
	if err != nil {
		return nil, err
	}
	c.BatchBytes, c.MaxFileBytes = stages.ByteSize(bb), stages.ByteSize(mf)
	exts, err := normalizeExtensions(c.Extensions)
	if err != nil {
		return nil, err
	}
	c.Extensions = exts
	paths, objects, err := listFiles(c.Paths, exts)
	if err != nil {
		return nil, err
	}
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	return &Files{mem: mem, conf: c, paths: paths, objects: objects}, nil
}

// normalizeExtensions lower-cases the extensions and gives each a leading
// dot.
func normalizeExtensions(exts []string) ([]string, error) {
	out := make([]string, 0, len(exts))
	for _, e := range exts {
		e = strings.ToLower(strings.TrimSpace(e))
		if e == "" || e == "." {
			return nil, errors.New("extensions: empty extension")
		}
		if !strings.HasPrefix(e, ".") {
			e = "." + e
		}
		out = append(out, e)
	}
	return out, nil
}

// listFiles expands paths as the other file sources do (see expandPaths)
// and keeps the files whose name ends with one of exts (all when exts is
// empty), with the size and ETag the listing saw of each s3:// object. An
// entry left with no file is an error wrapping [ErrNoMatch].
func listFiles(paths []stages.Path, exts []string) ([]string, map[string]objectInfo, error) {
	if len(paths) == 0 {
		return nil, nil, errors.New("paths: at least one file or pattern is required")
	}
	walk := exts
	if len(walk) == 0 {
		walk = []string{""} // every name ends with ""
	}
	var out []string
	seen := map[string]bool{}
	objects := map[string]objectInfo{}
	for _, p := range paths {
		l, err := listPaths([]stages.Path{p}, walk)
		if err != nil {
			return nil, nil, err
		}
		n := 0
		for _, f := range l.matched {
			if o, ok := l.objects[f]; ok {
				objects[f] = o
			}
			if !hasExtension(f, walk) {
				continue
			}
			n++
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
		if n == 0 {
			return nil, nil, fmt.Errorf("paths: %q has no file ending with %s: %w", string(p), strings.Join(exts, ", "), ErrNoMatch)
		}
	}
	return out, objects, nil
}

// hasExtension reports whether the name of path ends with one of exts,
// compared without case.
func hasExtension(path string, exts []string) bool {
	name := strings.ToLower(path)
	for _, e := range exts {
		if strings.HasSuffix(name, e) {
			return true
		}
	}
	return false
}

// Schema returns [FilesSchema].
func (s *Files) Schema() *arrow.Schema { return FilesSchema }

// Next returns the next batch of at most batch_rows files and about
// batch_bytes bytes, owned by the caller, or io.EOF after the last file.
// Files are opened and read here, one after the other.
func (s *Files) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	b := newFilesBatch(s.mem)
	defer b.release()
	for s.next < len(s.paths) && b.rows < s.conf.BatchRows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		full, err := s.add(ctx, b, s.paths[s.next])
		if err != nil {
			return nil, s.fail(err)
		}
		if full {
			break
		}
		s.next++
	}
	if b.rows == 0 {
		return nil, io.EOF
	}
	return b.finish(), nil
}

// add reads the file path into b; full reports that it does not fit in b
// (which holds rows) and must start the next batch. A file that cannot be
// read goes to the Rejecter; the error returned is one that ends the run.
func (s *Files) add(ctx context.Context, b *filesBatch, path string) (full bool, err error) {
	if isObjectURL(path) {
		return s.addObject(ctx, b, path)
	}
	f, err := os.Open(path)
	if err != nil {
		return false, s.setAside(ctx, path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return false, s.setAside(ctx, path, err)
	}
	if !st.Mode().IsRegular() {
		return false, s.setAside(ctx, path, fmt.Errorf("%w (%s)", ErrNotRegular, st.Mode().Type()))
	}
	size, limit := st.Size(), int64(s.conf.MaxFileBytes)
	if size > limit {
		return false, s.setAside(ctx, path, &LimitError{What: "file", Size: size, Limit: limit, Setting: "max_file_bytes"})
	}
	key := unitPath(s.keyBase, path)
	cost := size + fileRowBytes + int64(len(key))
	if b.rows > 0 && b.bytes+cost > int64(s.conf.BatchBytes) {
		return true, nil
	}
	if err := b.read(f, size, int64(s.conf.BatchBytes)); err != nil {
		return false, s.setAside(ctx, path, err)
	}
	b.appendMeta(key, size, arrow.Timestamp(st.ModTime().UnixMicro()), cost)
	return false, nil
}

// setAside hands the file that failed with err to the Rejecter, or returns
// the error naming the file when there is none.
func (s *Files) setAside(ctx context.Context, path string, err error) error {
	ferr := fileErr(path, err)
	if s.reject == nil {
		return ferr
	}
	return stages.RejectRaw(ctx, s.reject, s.mem, path, 0, "", ferr)
}

func (s *Files) fail(err error) error {
	s.broken = err
	return err
}

// Close ends the source; it holds no open file nor buffer between calls.
func (s *Files) Close() error {
	if s.broken == nil {
		s.broken = errors.New("files_source: closed")
	}
	return nil
}

// Units lists runs of consecutive files, each of unitRows files (the last
// one fewer; one file per unit when unitRows <= 0), keyed by its first and
// last file ("imgs/a.jpg..imgs/k.jpg", or the one file's path). Rows is
// the unit's file count: its rows, less the files set aside.
func (s *Files) Units(unitRows int64) []stages.Unit {
	spans := s.spans(unitRows)
	out := make([]stages.Unit, len(spans))
	for i, sp := range spans {
		key := unitPath(s.keyBase, s.paths[sp.from])
		if sp.to-sp.from > 1 {
			key += ".." + unitPath(s.keyBase, s.paths[sp.to-1])
		}
		out[i] = stages.Unit{Key: key, Rows: sp.rows, Files: slices.Clone(s.paths[sp.from:sp.to])}
	}
	return out
}

// spans cuts the file list into units; from and to index s.paths.
func (s *Files) spans(unitRows int64) []span {
	return s.units.get(unitRows, func() []span {
		n := int(min(max(unitRows, 1), int64(len(s.paths))+1))
		var out []span
		for i := 0; i < len(s.paths); i += n {
			to := min(i+n, len(s.paths))
			out = append(out, span{file: i, from: i, to: to, rows: int64(to - i)})
		}
		return out
	})
}

// Shard returns a files source that reads only the files of the listed
// units of Units(unitRows), in the order given, with no file listed
// again. It shares nothing mutable with s.
func (s *Files) Shard(unitRows int64, units []int) (stages.Source, error) {
	spans := s.spans(unitRows)
	if err := pickUnits("files_source", len(spans), unitRows, units); err != nil {
		return nil, err
	}
	out := &Files{mem: s.mem, conf: s.conf, keyBase: s.keyBase, objects: s.objects}
	for _, k := range units {
		out.paths = append(out.paths, s.paths[spans[k].from:spans[k].to]...)
	}
	return out, nil
}

// filesBatch collects the rows of one batch. The file bytes go straight
// into data, the binary column's value buffer.
type filesBatch struct {
	mem      memory.Allocator
	rows     int
	bytes    int64 // the estimate batch_bytes bounds
	paths    *array.StringBuilder
	sizes    *array.Int64Builder
	modified *array.TimestampBuilder
	offsets  []int32
	data     *memory.Buffer
}

func newFilesBatch(mem memory.Allocator) *filesBatch {
	return &filesBatch{
		mem:      mem,
		paths:    array.NewStringBuilder(mem),
		sizes:    array.NewInt64Builder(mem),
		modified: array.NewTimestampBuilder(mem, arrow.FixedWidthTypes.Timestamp_us.(*arrow.TimestampType)),
		offsets:  []int32{0},
		data:     memory.NewResizableBuffer(mem),
	}
}

// read appends the size bytes of f to the value buffer, growing it by
// doubling up to about budget. It fails with [ErrFileChanged] when f holds
// fewer or more bytes than size, leaving the buffer as it was.
func (b *filesBatch) read(f io.Reader, size, budget int64) error {
	cur := b.data.Len()
	need := cur + int(size)
	if need > b.data.Cap() {
		b.data.Reserve(max(need, min(2*b.data.Cap(), int(budget))))
	}
	b.data.ResizeNoShrink(need)
	n, err := io.ReadFull(f, b.data.Bytes()[cur:need])
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = fmt.Errorf("%w: read %d bytes, its size was %d", ErrFileChanged, n, size)
	}
	if err == nil {
		var one [1]byte
		m, rerr := f.Read(one[:])
		switch {
		case m > 0:
			err = fmt.Errorf("%w: it holds more than its size of %d bytes", ErrFileChanged, size)
		case rerr != nil && !errors.Is(rerr, io.EOF):
			err = rerr
		}
	}
	if err != nil {
		b.data.ResizeNoShrink(cur)
		return err
	}
	return nil
}

// appendMeta ends the row of the file just read.
func (b *filesBatch) appendMeta(path string, size int64, mod arrow.Timestamp, cost int64) {
	b.paths.Append(path)
	b.sizes.Append(size)
	b.modified.Append(mod)
	b.offsets = append(b.offsets, int32(b.data.Len()))
	b.rows++
	b.bytes += cost
}

// finish builds the batch, owned by the caller. b is spent; release still
// frees its builders.
func (b *filesBatch) finish() arrow.RecordBatch {
	off := memory.NewResizableBuffer(b.mem)
	off.Resize(len(b.offsets) * arrow.Int32SizeBytes)
	copy(arrow.Int32Traits.CastFromBytes(off.Bytes()), b.offsets)
	data := array.NewData(arrow.BinaryTypes.Binary, b.rows, []*memory.Buffer{nil, off, b.data}, nil, 0, 0)
	off.Release()
	b.data.Release()
	b.data = nil
	bin := array.NewBinaryData(data)
	data.Release()
	cols := []arrow.Array{b.paths.NewArray(), b.sizes.NewArray(), b.modified.NewArray(), bin}
	rec := array.NewRecordBatch(FilesSchema, cols, int64(b.rows))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// release frees what the batch still holds.
func (b *filesBatch) release() {
	b.paths.Release()
	b.sizes.Release()
	b.modified.Release()
	if b.data != nil {
		b.data.Release()
		b.data = nil
	}
}
