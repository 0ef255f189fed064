package source

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// IPCConfig is the `with:` block of an ipc_source stage.
type IPCConfig struct {
	Paths         []stages.Path   `yaml:"paths" required:"true" doc:"Arrow IPC files (file or stream format), folders or glob patterns, read in the order written."`
	BatchRows     int             `yaml:"batch_rows" doc:"Largest number of rows in one emitted batch; larger record batches are sliced without copying."`
	MaxBatchBytes stages.ByteSize `yaml:"max_batch_bytes" doc:"Largest size a record batch may decode to: its body, or the total uncompressed size its compressed buffers declare. Also bounds the dictionaries a file holds at once. A file with a larger batch fails at once naming this key; raise it to read the file (a batch is held in memory whole while its slices are in flight)."`
	// Hive holds partitioning, partition_types and partitions.
	Hive HiveConfig `yaml:",inline"`
}

// defaultMaxBatchBytes is the default of max_batch_bytes. A decoded batch
// lives until its last slice is released downstream, so two can be live
// when the source moves to the next, and the Go heap holds up to twice the
// live bytes between collections: a job reading batches of the limit peaks
// at about 4.5 times it (measured: 0.84 GB resident for batches of 190 MiB,
// 1.08 GB for 250 MiB, ipc_source -> select -> parquet_sink).
const defaultMaxBatchBytes = 192 << 20

func init() {
	stages.MustRegister(stages.Type[IPCConfig]{
		Name: "ipc_source",
		Kind: stages.KindSource,
		Spec: stages.Spec{
			Summary: "Reads Arrow IPC files and streams (Feather v2), plain or lz4/zstd compressed.",
			Description: "Reads Arrow IPC data in the file format (`ARROW1` magic; `.arrow`, `.feather`) or the " +
				"stream format (`.arrows`), detected from each file's first bytes. Record batches larger than " +
				"`batch_rows` are sliced without copying.\n\n" +
				"Before a file is decoded its message headers are walked: the row count comes from them, and " +
				"every length and count in the schema, message and footer metadata is checked against the " +
				"bytes that hold it. A compressed buffer whose declared uncompressed length exceeds what its " +
				"codec can produce, or a batch (or the dictionaries held at once) decoding to more than " +
				"`max_batch_bytes`, is rejected with an error instead of an allocation that would abort " +
				"the process. A job reading batches of `max_batch_bytes` peaks at about 4.5 times it in " +
				"resident memory (two decoded batches while the source moves on, and the Go heap's " +
				"headroom).\n\n" +
				"Work units (resumable and sharded runs): in the file format, consecutive record batches of " +
				"one file grouped until they hold at least the unit's rows; a stream-format file is one unit, " +
				"since reaching a batch means decoding every batch before it.",
			Example: "- id: read\n  type: ipc_source\n  with:\n    paths: [\"data/*.arrow\"]\n    batch_rows: 4096\n",
		},
		Defaults: func() IPCConfig { return IPCConfig{BatchRows: defaultBatchRows, MaxBatchBytes: defaultMaxBatchBytes} },
		New: func(c IPCConfig, env *stages.Env) (stages.Stage, error) {
			s, err := NewIPC(c, env.Mem)
			if err != nil {
				return nil, err
			}
			s.keyBase = env.JobDir
			return s, nil
		},
	})
}

// ipcFile is what construction learns about one input file.
type ipcFile struct {
	path   string
	layout *ipcLayout
	schema *arrow.Schema
	stat   os.FileInfo // when its metadata was checked; nil for an object
	obj    *objectInfo // the object an s3:// path names; nil for a file
}

// IPC is the ipc_source stage. It implements [stages.Source],
// [stages.RowCounter] and [stages.Sharder].
type IPC struct {
	mem       memory.Allocator
	batchRows int
	maxBody   int64
	files     []ipcFile // shared with shards: read-only after construction
	schema    *arrow.Schema
	parts     []span            // what to read, in order: every file whole unless sharded
	keyBase   string            // the job folder, for unit keys
	units     unitCache         // see Units
	hive      *hiveLayout       // partitioning hive; nil when off
	partCols  partCache         // the partition columns last built
	skipped   []stages.FileNote // files in the folders of paths not read

	next   int             // index in parts of the next part to open
	fi     int             // index in files of the open file; -1 when none
	end    int             // record batch index where the open part ends; -1: the file's end
	in     io.Closer       // the open file, object reader or object body; nil when none
	fr     *ipc.FileReader // file format
	sr     *ipc.Reader     // stream format
	batch  int             // index of the next record batch of the open file
	cur    arrow.RecordBatch
	off    int64 // rows of cur already emitted
	broken error
}

// NewIPC builds an Arrow IPC source, walking the message headers of every
// file and reading its schema, but no data. Batches come from mem.
func NewIPC(c IPCConfig, mem memory.Allocator) (*IPC, error) {
	if err := checkBatchRows(c.BatchRows); err != nil {
		return nil, err
	}
	if c.MaxBatchBytes <= 0 {
		return nil, fmt.Errorf("max_batch_bytes must be positive, got %d", c.MaxBatchBytes)
	}
	list, hive, err := listSource(c.Paths, []string{".arrow", ".arrows", ".feather", ".ipc", ".arrow_file", ".stream"}, c.Hive)
	if err != nil {
		return nil, err
	}
	paths := list.matched
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	s := &IPC{mem: mem, batchRows: c.BatchRows, maxBody: int64(c.MaxBatchBytes), fi: -1, hive: hive, skipped: list.skipped}
	schemas := make([]*arrow.Schema, len(paths))
	for i, p := range paths {
		f, err := openIPCMeta(p, list.object(p), mem, s.maxBody)
		if err != nil {
			return nil, err
		}
		s.files = append(s.files, f)
		s.parts = append(s.parts, span{file: i, from: 0, to: -1, rows: -1})
		schemas[i] = f.schema
	}
	if s.schema, err = unifySchemas(paths, schemas); err != nil {
		return nil, err
	}
	if hive != nil {
		if err := hive.bind(s.schema); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// openIPCMeta walks the messages of the file at path, or of the object obj
// when it is not nil, and reads its schema.
func openIPCMeta(path string, obj *objectInfo, mem memory.Allocator, maxBody int64) (ipcFile, error) {
	out := ipcFile{path: path, obj: obj}
	f, size, err := out.openAt()
	if err != nil {
		return out, fileErr(path, err)
	}
	defer f.Close()
	if st, ok := f.(*os.File); ok {
		if out.stat, err = st.Stat(); err != nil {
			return out, fileErr(path, err)
		}
	}
	if out.layout, err = scanIPC(f, size, maxBody); err != nil {
		return out, fileErr(path, err)
	}
	err = guard(func() error {
		if out.layout.file {
			r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem), ipc.WithBodySizeLimit(maxBody))
			if err != nil {
				return err
			}
			defer r.Close()
			out.schema = r.Schema()
			return nil
		}
		r, err := ipc.NewReader(bufio.NewReader(io.NewSectionReader(f, 0, size)), ipc.WithAllocator(mem), ipc.WithBodySizeLimit(maxBody))
		if err != nil {
			return err
		}
		defer r.Release()
		out.schema = r.Schema()
		return nil
	})
	if err == nil && out.schema == nil {
		err = errors.New("no schema")
	}
	if err != nil {
		return out, fileErr(path, err)
	}
	return out, nil
}

// Schema returns the schema of every batch.
func (s *IPC) Schema() *arrow.Schema { return s.hive.outSchema(s.schema) }

// InputFiles implements [stages.InputLister].
func (s *IPC) InputFiles() (matched []string, skipped []stages.FileNote) {
	matched = make([]string, len(s.files))
	for i, f := range s.files {
		matched[i] = f.path
	}
	return matched, s.skipped
}

// TotalRows returns the row count of all files (for a shard, of its
// units), from their message headers.
func (s *IPC) TotalRows() (int64, bool) {
	var n int64
	for _, pt := range s.parts {
		lay := s.files[pt.file].layout
		if pt.to < 0 {
			n += lay.rows
			continue
		}
		for _, r := range lay.batchRows[pt.from:pt.to] {
			n += r
		}
	}
	return n, true
}

// Next returns the next batch of at most batch_rows rows, owned by the
// caller, or io.EOF after the last file. A returned batch may be a slice of
// a larger decoded batch; it holds its own references to the buffers.
func (s *IPC) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if s.broken != nil {
		return nil, s.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		if s.cur != nil {
			n := s.cur.NumRows()
			if s.off < n {
				end := min(n, s.off+int64(s.batchRows))
				var out arrow.RecordBatch
				if s.off == 0 && end == n {
					out = s.cur
					s.cur = nil
				} else {
					out = s.cur.NewSlice(s.off, end)
					s.off = end
				}
				rec, err := s.hive.extend(withSchema(s.schema, out), s.files[s.fi].path, s.mem, &s.partCols)
				if err != nil {
					return nil, s.fail(err)
				}
				return rec, nil
			}
			s.cur.Release()
			s.cur = nil
		}
		if s.in == nil {
			if s.next >= len(s.parts) {
				return nil, io.EOF
			}
			s.fi = s.parts[s.next].file
			s.next++
			if err := s.open(s.parts[s.next-1]); err != nil {
				return nil, s.fail(err)
			}
		}
		rec, err := s.read()
		if err != nil {
			return nil, s.fail(err)
		}
		if rec == nil {
			s.closeFile()
			continue
		}
		s.batch++
		s.cur, s.off = rec, 0
	}
}

// open opens file (or object) s.fi and its arrow-go reader, positioned at
// the first record batch of part pt: a file-format one for reads at
// offsets, a stream-format one to be read from its start.
func (s *IPC) open(pt span) error {
	s.batch, s.end = 0, -1
	f := &s.files[s.fi]
	if !f.layout.file {
		body, err := f.openStream()
		if err != nil {
			return err
		}
		s.in = body
		return guard(func() error {
			r, err := ipc.NewReader(bufio.NewReaderSize(body, 1<<16), ipc.WithAllocator(s.mem), ipc.WithBodySizeLimit(s.maxBody))
			s.sr = r
			return err
		})
	}
	in, _, err := f.openAt()
	if err != nil {
		return err
	}
	s.in = in
	return guard(func() error {
		r, err := ipc.NewFileReader(in, ipc.WithAllocator(s.mem), ipc.WithBodySizeLimit(s.maxBody))
		s.fr = r
		if err != nil {
			return err
		}
		if want := len(f.layout.batchRows); r.NumRecords() != want {
			return fmt.Errorf("has %d record batches, %d when the job was validated: was it modified?", r.NumRecords(), want)
		}
		s.batch, s.end = pt.from, pt.to
		return nil
	})
}

// read returns the next record batch of the open file (owned), or nil at
// its end.
func (s *IPC) read() (arrow.RecordBatch, error) {
	var rec arrow.RecordBatch
	err := guard(func() error {
		if s.fr != nil {
			if s.batch >= s.fr.NumRecords() || (s.end >= 0 && s.batch >= s.end) {
				return nil
			}
			r, err := s.fr.RecordBatchAt(s.batch)
			rec = r
			return err
		}
		if s.sr.Next() {
			rec = s.sr.RecordBatch()
			rec.Retain()
			return nil
		}
		return s.sr.Err()
	})
	if err != nil && rec != nil {
		rec.Release()
		rec = nil
	}
	return rec, err
}

// fail records err against the open file and batch, abandons the readers
// and returns the error to give from now on.
func (s *IPC) fail(err error) error {
	fe := &FileError{Path: s.files[s.fi].path, RowGroup: -1, Batch: s.batch, Err: err}
	if s.in == nil {
		fe.Batch = -1
	}
	s.broken = fe
	s.closeFile()
	return fe
}

func (s *IPC) closeFile() {
	if s.cur != nil {
		s.cur.Release()
		s.cur = nil
	}
	if s.fr != nil {
		_ = guard(func() error { return s.fr.Close() })
		s.fr = nil
	}
	if s.sr != nil {
		_ = guard(func() error { s.sr.Release(); return nil })
		s.sr = nil
	}
	if s.in != nil {
		_ = s.in.Close()
		s.in = nil
	}
}

// Close releases the open file, readers and pending batch.
func (s *IPC) Close() error {
	s.closeFile()
	s.partCols.release()
	if s.broken == nil {
		s.broken = errors.New("ipc_source: closed")
	}
	return nil
}

// describeIPC summarises an Arrow IPC file for [Inspect].
func describeIPC(path string) (*Info, error) {
	// Describing a file decodes no batch: no max_batch_bytes.
	f, err := openIPCMeta(path, nil, memory.DefaultAllocator, 1<<62)
	if err != nil {
		return nil, err
	}
	info := &Info{Path: path, Format: FormatIPCStream, Schema: f.schema, Rows: f.layout.rows,
		Batches: len(f.layout.batchRows), Compression: f.layout.compression}
	if f.layout.file {
		info.Format = FormatIPCFile
	}
	return info, nil
}
