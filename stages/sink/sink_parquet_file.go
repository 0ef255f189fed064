package sink

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/failpoint"
	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// fileBufferBytes sizes the buffer between the Parquet writer and the file,
// so that page headers and footers do not each cost a system call.
const fileBufferBytes = 1 << 20

// sinkState is where a sink is in its life.
type sinkState int

const (
	stateOpen sinkState = iota
	stateCommitted
	stateAborted
	stateClosed
)

// ParquetSink is the parquet_sink stage: it writes its input into a folder
// of Parquet part files and makes them visible atomically. It implements
// [stages.Sink], [stages.Aborter] and [stages.OutputDirer]. Build it with
// [NewParquet] or from a job through the registry.
type ParquetSink struct {
	conf       ParquetConfig
	dir        string
	obj        *objectDir // the folder on object storage; nil for a local one
	staging    string
	prefix     string // Env.PartPrefix: names files prefix-NNNNN.parquet
	schema     *arrow.Schema
	mem        memory.Allocator
	props      *parquet.WriterProperties
	arrowProps pqarrow.ArrowWriterProperties
	old        []string // part files in dir when the sink was built
	holdFinal  bool     // completed files wait in staging until Commit
	prepared   bool     // dir and staging folder exist
	overwrite  bool     // may replace complete output (config or Env.Overwrite)
	complete   bool     // dir held complete output (_SUCCESS) when built
	crashed    bool     // dir held part files of a crashed run when built
	// removedSuccess is set when prepare removed the old output's success
	// marker; committing once Commit began to move files.
	removedSuccess, committing bool
	// keepStaging is set by an Abort after Commit.
	keepStaging bool
	state       sinkState

	cur      *partFile
	next     int            // index of the next part file
	produced []producedFile // the files this run completed, in order

	// rowsIn counts the rows received by Write, for error messages.
	rowsIn int64
	// fslCols are the top-level fixed_size_list columns, which the Parquet
	// writer cannot write with null entries.
	fslCols []int
	// limits are the rows of a row group and of a file for the schema.
	limits limits
	// rgBytes are the bytes of the rows given to the current row group
	// (written or carried), counted row by row when the schema has values
	// of variable size (varCols; fixedRow is the bytes of the others):
	// see byteRoom.
	rgBytes  int64
	varCols  []int
	fixedRow int64

	// parts routes rows to one writer per partition (partition_by); nil
	// without. The sink itself then writes no file: it prepares, commits
	// and aborts the folder for them.
	parts *partitions

	// carry holds zero-copy slices (retained) of rows not yet handed to the
	// writer because they end off the WriteBatchRows grid.
	carry     []arrow.RecordBatch
	carryRows int64
}

// producedFile is a file the run completed.
type producedFile struct {
	name string            // part-00000.parquet
	info stages.OutputFile // its rows, size and digest; Path unset
}

// partFile is the file being written.
type partFile struct {
	name      string // part-00000.parquet
	tmp       string // its path in the staging folder while written
	f         *os.File
	wb        *writebackWriter
	up        output.Upload // on object storage, instead of tmp, f and wb
	dg        *digestWriter // hashes what goes to up
	bw        *bufio.Writer
	fw        *pqarrow.FileWriter
	rows      int64 // rows handed to fw
	rgRows    int64 // rows handed to fw in the current row group
	newRG     bool  // start a row group before the next write
	wroteRows bool
}

// Schema returns nil: a sink emits nothing.
func (s *ParquetSink) Schema() *arrow.Schema { return nil }

// OutputDir returns the output folder.
func (s *ParquetSink) OutputDir() string { return s.dir }

// Files returns the final paths of the files completed so far, in order.
// Before Commit they may still wait in the staging folder (overwrite).
func (s *ParquetSink) Files() []string {
	if s.parts != nil {
		return s.parts.files()
	}
	out := make([]string, len(s.produced))
	for i, pf := range s.produced {
		out[i] = s.join(pf.name)
	}
	return out
}

// OutputFiles returns the files this run completed, with their rows, in
// order; after Commit they are all under their final names. It implements
// [stages.FileLister].
func (s *ParquetSink) OutputFiles() []stages.OutputFile {
	if s.parts != nil {
		return s.parts.outputFiles()
	}
	out := make([]stages.OutputFile, len(s.produced))
	for i, pf := range s.produced {
		out[i] = pf.info
		out[i].Path = s.join(pf.name)
	}
	return out
}

// ReplacesOutput reports whether the sink may replace complete output found
// in its folder: its overwrite setting, or [stages.Env.Overwrite].
func (s *ParquetSink) ReplacesOutput() bool { return s.overwrite }

// Write writes the rows of rec, which is borrowed for the call. A tail of
// rec that ends off the row grid is retained until the next Write or
// Commit. Failures are [*FileError] values naming the file.
func (s *ParquetSink) Write(ctx context.Context, rec arrow.RecordBatch) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if s.state != stateOpen {
		return fmt.Errorf("write after %s", s.stateName())
	}
	if s.schema == nil {
		if err := checkSchema(rec.Schema(), s.props, s.arrowProps); err != nil {
			return err
		}
		if err := checkColumns(s.conf, rec.Schema()); err != nil {
			return err
		}
		s.schema = rec.Schema()
		s.fslCols = fixedSizeListColumns(s.schema)
		s.limits = limitsOf(s.conf, s.schema)
		s.varCols, s.fixedRow = rowShape(s.schema)
	} else if !rec.Schema().Equal(s.schema) {
		return fmt.Errorf("batch schema differs from the sink's input schema:\nbatch: %s\nsink:  %s", rec.Schema(), s.schema)
	}
	for _, i := range s.fslCols {
		if col := rec.Column(i); col.NullN() > 0 {
			row := 0
			for col.IsValid(row) {
				row++
			}
			return &stages.ColumnError{Column: s.schema.Field(i).Name, Msg: fmt.Sprintf(
				"null fixed_size_list entry in input row %d (row %d of the batch): the Parquet writer cannot store null fixed-size lists (fill or filter them first)",
				s.rowsIn+int64(row), row)}
		}
	}
	if s.parts != nil {
		return s.parts.write(ctx, rec)
	}
	n := rec.NumRows()
	s.rowsIn += n
	for off := int64(0); off < n; {
		if s.cur == nil {
			if err := s.openFile(ctx); err != nil {
				return err
			}
		}
		f := s.cur
		room := s.limits.rowGroup - (f.rgRows + s.carryRows)
		endsFile := false
		if s.limits.file > 0 {
			if left := s.limits.file - (f.rows + s.carryRows); left <= room {
				room, endsFile = left, true
			}
		}
		bytesRoom, taken := s.byteRoom(rec, off, min(room, n-off), f.rgRows+s.carryRows == 0, room)
		if bytesRoom < room {
			room, endsFile = bytesRoom, false // the row group is full before the file
		}
		take := min(room, n-off)
		atCut := take == room
		if err := s.feed(rec, off, take, atCut); err != nil {
			return s.fail("write", err)
		}
		off += take
		s.rgBytes += taken
		if !atCut {
			continue
		}
		s.rgBytes = 0
		if endsFile {
			if err := s.finishFile(); err != nil {
				return err
			}
		} else {
			f.rgRows, f.newRG = 0, true
		}
	}
	return nil
}

// feed hands rows [off, off+k) of rec to the writer in runs aligned to the
// WriteBatchRows grid of the current row group. With atCut the rows end the
// row group (or file), so nothing is carried.
func (s *ParquetSink) feed(rec arrow.RecordBatch, off, k int64, atCut bool) error {
	if s.carryRows > 0 {
		t := min(WriteBatchRows-s.carryRows, k)
		if t > 0 {
			s.carry = append(s.carry, rec.NewSlice(off, off+t))
			s.carryRows += t
			off, k = off+t, k-t
		}
		if s.carryRows == WriteBatchRows || (atCut && k == 0) {
			if err := s.flushCarry(); err != nil {
				return err
			}
		}
		if s.carryRows > 0 {
			return nil
		}
	}
	body := k
	if !atCut {
		body -= k % WriteBatchRows
	}
	if body > 0 {
		if err := s.writeRange(rec, off, body); err != nil {
			return err
		}
	}
	if rest := k - body; rest > 0 {
		s.carry = append(s.carry, rec.NewSlice(off+body, off+k))
		s.carryRows += rest
	}
	return nil
}

// writeRange writes rows [off, off+k) of rec, slicing only when needed.
func (s *ParquetSink) writeRange(rec arrow.RecordBatch, off, k int64) error {
	if off == 0 && k == rec.NumRows() {
		return s.writeRun(rec)
	}
	part := rec.NewSlice(off, off+k)
	defer part.Release()
	return s.writeRun(part)
}

// flushCarry writes the carried rows as one run.
func (s *ParquetSink) flushCarry() error {
	if s.carryRows == 0 {
		return nil
	}
	defer s.releaseCarry()
	if len(s.carry) == 1 {
		return s.writeRun(s.carry[0])
	}
	cols := make([]arrow.Array, s.schema.NumFields())
	defer func() {
		for _, c := range cols {
			if c != nil {
				c.Release()
			}
		}
	}()
	parts := make([]arrow.Array, len(s.carry))
	for i := range cols {
		for j, r := range s.carry {
			parts[j] = r.Column(i)
		}
		c, err := array.Concatenate(parts, s.mem)
		if err != nil {
			return fmt.Errorf("column %q: %w", s.schema.Field(i).Name, err)
		}
		cols[i] = c
	}
	run := array.NewRecordBatch(s.schema, cols, s.carryRows)
	defer run.Release()
	return s.writeRun(run)
}

func (s *ParquetSink) releaseCarry() {
	for _, r := range s.carry {
		r.Release()
	}
	clear(s.carry)
	s.carry, s.carryRows = s.carry[:0], 0
}

// writeRun hands one aligned run to the writer.
func (s *ParquetSink) writeRun(rec arrow.RecordBatch) error {
	f := s.cur
	if f.newRG {
		if err := f.fw.NewBufferedRowGroupChecked(); err != nil {
			return err
		}
		f.newRG = false
	}
	rec = rebaseLists(rec, s.fslCols)
	defer rec.Release()
	if err := f.fw.WriteBuffered(rec); err != nil {
		return err
	}
	f.rows += rec.NumRows()
	f.rgRows += rec.NumRows()
	f.wroteRows = true
	return nil
}

// openFile starts the next part file in the staging folder.
func (s *ParquetSink) openFile(ctx context.Context) error {
	name := fmt.Sprintf("part-%05d.parquet", s.next)
	if s.prefix != "" {
		name = fmt.Sprintf("%s-%05d.parquet", s.prefix, s.next)
	}
	final := s.join(name)
	if err := s.prepare(ctx); err != nil {
		return &FileError{Op: "create", Path: final, Err: err}
	}
	if s.obj != nil {
		return s.openObject(ctx, name)
	}
	tmp := filepath.Join(s.staging, name+inProgressSuffix)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return &FileError{Op: "create", Path: final, Err: err}
	}
	wb := newWritebackWriter(f, s.conf.skipSync)
	bw := bufio.NewWriterSize(wb, fileBufferBytes)
	fw, err := pqarrow.NewFileWriter(s.schema, bw, s.props, s.arrowProps)
	if err != nil {
		_ = f.Close()
		_ = os.Remove(tmp)
		return &FileError{Op: "create", Path: final, Err: err}
	}
	s.next++
	s.cur = &partFile{name: name, tmp: tmp, f: f, wb: wb, bw: bw, fw: fw}
	return nil
}

// finishFile completes the current file: pending rows, footer, fsync, and
// a rename to its final name (or, with holdFinal, to its completed name in
// the staging folder), then fsyncs the folder.
func (s *ParquetSink) finishFile() error {
	f := s.cur
	if err := s.flushCarry(); err != nil {
		return s.fail("write", err)
	}
	if err := f.fw.Close(); err != nil {
		return s.fail("close", err)
	}
	if err := f.bw.Flush(); err != nil {
		return s.fail("write", err)
	}
	if f.up != nil {
		return s.finishObject()
	}
	if err := failpoint.Inject("sink/beforeSync"); err != nil {
		return s.fail("sync", err)
	}
	if !s.conf.skipSync {
		if err := f.f.Sync(); err != nil {
			return s.fail("sync", err)
		}
	}
	err := f.f.Close()
	f.f = nil
	if err != nil {
		return s.fail("close", err)
	}
	dst, dstDir := filepath.Join(s.dir, f.name), s.dir
	if s.holdFinal {
		dst, dstDir = filepath.Join(s.staging, f.name), s.staging
	}
	if err := failpoint.Inject("sink/beforeRename"); err != nil {
		return s.fail("rename", err)
	}
	if err := os.Rename(f.tmp, dst); err != nil {
		return s.fail("rename", err)
	}
	sum, size := f.wb.digest()
	s.produced = append(s.produced, producedFile{name: f.name, info: stages.OutputFile{Rows: f.rows, Bytes: size, SHA256: sum}})
	s.cur = nil
	if err := s.syncDir(dstDir); err != nil {
		return &FileError{Op: "sync", Path: dstDir, Err: err}
	}
	if err := failpoint.Inject("sink/afterRename"); err != nil {
		return &FileError{Op: "rename", Path: dst, Err: err}
	}
	return nil
}

// fail wraps err as a [*FileError] on the current file and discards the file.
func (s *ParquetSink) fail(op string, err error) error {
	path := s.dir
	if s.cur != nil {
		path = s.join(s.cur.name)
	}
	s.discardFile()
	return &FileError{Op: op, Path: path, Err: err}
}

// discardFile releases the current file's writer and deletes the file.
func (s *ParquetSink) discardFile() {
	f := s.cur
	if f == nil {
		return
	}
	s.cur = nil
	s.releaseCarry()
	// Closing the writer releases its buffered row group; what it flushes
	// goes nowhere.
	f.bw.Reset(io.Discard)
	_ = f.fw.Close()
	if f.up != nil {
		_ = f.up.Abort()
		return
	}
	if f.f != nil {
		_ = f.f.Close()
	}
	_ = os.Remove(f.tmp)
}

func (s *ParquetSink) stateName() string {
	switch s.state {
	case stateCommitted:
		return "commit"
	case stateAborted:
		return "abort"
	case stateClosed:
		return "close"
	}
	return "open"
}

// fixedSizeListColumns returns the indexes of the top-level
// fixed_size_list columns of s (none for a nil s, not yet known).
func fixedSizeListColumns(s *arrow.Schema) []int {
	if s == nil {
		return nil
	}
	var out []int
	for i, f := range s.Fields() {
		if f.Type.ID() == arrow.FIXED_SIZE_LIST {
			out = append(out, i)
		}
	}
	return out
}

var (
	_ stages.Sink        = (*ParquetSink)(nil)
	_ stages.Aborter     = (*ParquetSink)(nil)
	_ stages.OutputDirer = (*ParquetSink)(nil)
	_ stages.FileLister  = (*ParquetSink)(nil)
)
