package source

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/stages"
)

// ParquetConfig is the `with:` block of a parquet_source stage.
type ParquetConfig struct {
	Paths         []stages.Path   `yaml:"paths" required:"true" doc:"Parquet files, folders or glob patterns, read in the order written (each pattern's matches sorted)."`
	Columns       []string        `yaml:"columns" doc:"Top-level columns to read, in this order; all columns when empty."`
	BatchRows     int             `yaml:"batch_rows" doc:"Largest number of rows in one emitted batch. A batch never spans two row groups. 0 (the default) chooses it when the job is built, from the footers: the power of two nearest batch_bytes divided by the size of a row as read (fixed-width values at their width, strings and binaries at their average size), between 64 and 65536 and at most the largest row group; pipe validate and the run report say what was chosen and why."`
	BatchBytes    stages.ByteSize `yaml:"batch_bytes" doc:"Target size of one batch when batch_rows is 0. About 1 MiB keeps a batch in the CPU caches through the stages that follow: measured on 130-160 byte rows, 8192-row batches took 25-35% less CPU and half the peak memory of 65536-row ones."`
	MemoryMap     bool            `yaml:"memory_map" doc:"Map the files into memory instead of reading them. Reading costs less CPU: pages are read through a buffered stream straight into the page buffer, where a mapping first faults every page in (measured on 256 MiB of float columns: 0.39-0.47 s read, 0.66-0.74 s mapped). Only for files nothing modifies during the run: a file truncated while mapped crashes the process."`
	MaxPageBytes  stages.ByteSize `yaml:"max_page_bytes" doc:"Largest size one page may declare in its header, compressed or uncompressed. A larger page fails the file naming this key; raise it for files of very large values (a page holds at least one value)."`
	MaxPageMemory stages.ByteSize `yaml:"max_page_memory" doc:"Largest total size of the pages the reader holds at once: while it reads a row group it keeps, for every column read, its current data page and its dictionary page, compressed and decompressed. A file whose pages need more fails naming this key; raise it, or read fewer columns."`
	MaxBatchBytes stages.ByteSize `yaml:"max_batch_bytes" doc:"Largest number of bytes decoding one batch may allocate: its columns, and the dictionaries decoded on the way. A batch that needs more (long strings in every row, a dictionary value repeated in every row) fails naming this key; lower batch_rows or raise it."`
	// Hive holds partitioning, partition_types and partitions.
	Hive HiveConfig `yaml:",inline"`
}

// Defaults of max_page_bytes, max_page_memory and max_batch_bytes. Pages
// are rarely above a few MiB (writers cut them at about 1 MiB, unless one
// value is larger); 1 GiB of open pages reads 300 float columns written with
// dictionaries, whose pages and dictionary pages take about 1.7 MiB per
// column. The Go heap holds up to twice the live bytes between collections:
// a file that needs the whole of max_page_memory peaks near 2 GiB resident.
const (
	defaultMaxPageBytes         = 64 << 20
	defaultMaxPageMemory        = 1 << 30
	defaultParquetMaxBatchBytes = 256 << 20
)

func init() {
	stages.MustRegister(stages.Type[ParquetConfig]{
		Name: "parquet_source",
		Kind: stages.KindSource,
		Spec: stages.Spec{
			Summary: "Reads Parquet files row group by row group.",
			Description: "Reads one or more Parquet files with the same schema, in a stable order, " +
				"one row group at a time: a batch never spans two row groups, so the work can be " +
				"split into (file, row group) shards.\n\n" +
				"- `columns` projects and reorders top-level columns; an unknown name is an error " +
				"when the job is validated.\n" +
				"- The row count comes from the footers, so progress and ETA are exact.\n" +
				"- Unless `batch_rows` is set, the batch size is chosen from the footers: about " +
				"`batch_bytes` (1 MiB) of rows as read, a power of two; `pipe validate` and the run " +
				"report say what was chosen and why.\n" +
				"- Columns are decoded serially; malformed files give an error naming the file and " +
				"row group, never a crash.\n" +
				"- Memory is bounded: one page by `max_page_bytes`, the pages held while a row group " +
				"is read by `max_page_memory`, what one batch allocates by `max_batch_bytes`; a file " +
				"that needs more fails with an error naming the key. Compressed pages never " +
				"decompress past the size their header declares.\n" +
				"- A file must start and end with the `PAR1` magic. A column whose logical type this " +
				"reader does not know (one added to the format later) is read as its physical type, " +
				"as the format asks. The Arrow schema a writer stores in the footer (`ARROW:schema`) " +
				"is checked before it is decoded; a damaged one fails the file.\n" +
				"- Page checksums (CRC) are not verified.\n" +
				"- Work units (resumable and sharded runs): consecutive row groups of one file, grouped " +
				"until they hold at least the unit's rows; a unit never spans two files.",
			Example: "- id: read\n  type: parquet_source\n  with:\n    paths: [\"data/tx/*.parquet\"]\n    columns: [id, amount, f0, f1]\n    batch_rows: 8192\n",
		},
		Defaults: func() ParquetConfig {
			return ParquetConfig{BatchBytes: defaultParquetBatchBytes, MaxPageBytes: defaultMaxPageBytes,
				MaxPageMemory: defaultMaxPageMemory, MaxBatchBytes: defaultParquetMaxBatchBytes}
		},
		New: func(c ParquetConfig, env *stages.Env) (stages.Stage, error) {
			p, err := NewParquet(c, env.Mem)
			if err != nil {
				return nil, err
			}
			p.keyBase = env.JobDir
			if env.Log != nil {
				for _, f := range p.files {
					for _, name := range f.unknownTypes {
						env.Log.Warn("column's logical type is unknown to this reader: read as its physical type", "file", f.path, "column", name)
					}
				}
			}
			return p, nil
		},
	})
}

// RowGroup is one row group of one input file: the unit of work a job can be
// split into.
type RowGroup struct {
	File  string // the file's path
	Index int    // the row group's index in the file
	Rows  int64  // its row count, from the footer
}

// parquetFile is what construction learns about one input file.
type parquetFile struct {
	path         string
	size         int64
	obj          *objectInfo // the object of an s3:// path; nil for a file
	meta         *metadata.FileMetaData
	schema       *arrow.Schema // projected
	leaves       []int         // leaf column indexes of the projection, in output order
	unknownTypes []string      // schema elements whose unknown logical type was dropped
}

// parquetLimits are the memory limits of a Parquet source (max_page_bytes,
// max_page_memory, max_batch_bytes).
type parquetLimits struct {
	maxPage, maxPageMemory, maxBatch int64
}

// defaultParquetLimits are the limits by default.
var defaultParquetLimits = parquetLimits{maxPage: defaultMaxPageBytes, maxPageMemory: defaultMaxPageMemory, maxBatch: defaultParquetMaxBatchBytes}

// Parquet is the parquet_source stage. It implements [stages.Source],
// [stages.RowCounter] and [stages.Sharder].
type Parquet struct {
	mem       memory.Allocator
	mmap      bool // memory-map the files (memory_map)
	batchRows int
	choice    BatchChoice // how batchRows was set
	lim       parquetLimits
	files     []parquetFile
	schema    *arrow.Schema
	groups    []RowGroup
	fileIndex []int             // fileIndex[i] is the index in files of groups[i]
	keyBase   string            // the job folder, for unit keys
	units     unitCache         // see Units
	hive      *hiveLayout       // partitioning hive; nil when off
	partCols  partCache         // the partition columns last built
	skipped   []stages.FileNote // files in the folders of paths not read

	next   int // index in groups of the next row group to open
	cur    int // index in groups of the open row group; -1 when none
	pf     *file.Reader
	pfFile int         // index in files of pf; -1 when none
	pages  *limitAlloc // allocator of pf's pages (max_page_memory)
	batch  *limitAlloc // allocator of the batches (max_batch_bytes)
	fr     *pqarrow.FileReader
	rr     pqarrow.RecordReader
	broken error         // set after a panic or read error; returned by every Next
	obj    *objectReader // what pf reads through, for an object; nil for a file
}

// NewParquet builds a Parquet source from its config, reading the footer of
// every file but no data. Batches are allocated from mem. A zero
// BatchRows is chosen from the footers (see chooseBatchRows); a zero
// BatchBytes, MaxPageBytes, MaxPageMemory or MaxBatchBytes takes the
// default.
func NewParquet(c ParquetConfig, mem memory.Allocator) (*Parquet, error) {
	if c.BatchRows < 0 {
		return nil, fmt.Errorf("batch_rows must be 0 (chosen from the files) or positive, got %d", c.BatchRows)
	}
	if c.BatchBytes < 0 {
		return nil, fmt.Errorf("batch_bytes must be positive, got %d", c.BatchBytes)
	}
	batchBytes := int64(c.BatchBytes)
	if batchBytes == 0 {
		batchBytes = defaultParquetBatchBytes
	}
	// Zero (a config built in Go without them) takes the defaults.
	lim := defaultParquetLimits
	for _, v := range []struct {
		key string
		set stages.ByteSize
		to  *int64
	}{{"max_page_bytes", c.MaxPageBytes, &lim.maxPage}, {"max_page_memory", c.MaxPageMemory, &lim.maxPageMemory}, {"max_batch_bytes", c.MaxBatchBytes, &lim.maxBatch}} {
		if v.set < 0 {
			return nil, fmt.Errorf("%s must be positive, got %d", v.key, v.set)
		}
		if v.set > 0 {
			*v.to = int64(v.set)
		}
	}
	list, hive, err := listSource(c.Paths, []string{".parquet", ".parq", ".pq"}, c.Hive)
	if err != nil {
		return nil, err
	}
	paths := list.matched
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	p := &Parquet{mem: mem, mmap: c.MemoryMap, batchRows: c.BatchRows, lim: lim, cur: -1, pfFile: -1, hive: hive, skipped: list.skipped}
	schemas := make([]*arrow.Schema, len(paths))
	for i, path := range paths {
		f, err := openParquetMeta(path, list.object(path), mem, c.Columns, lim)
		if err != nil {
			return nil, err
		}
		p.files = append(p.files, f)
		schemas[i] = f.schema
		for rg := range f.meta.NumRowGroups() {
			p.groups = append(p.groups, RowGroup{File: path, Index: rg, Rows: f.meta.RowGroup(rg).NumRows()})
			p.fileIndex = append(p.fileIndex, i)
		}
	}
	if p.schema, err = unifySchemas(paths, schemas); err != nil {
		return nil, err
	}
	p.choice = chooseBatchRows(p.files, c.BatchRows, batchBytes)
	p.batchRows = p.choice.Rows
	if hive != nil {
		if err := hive.bind(p.schema); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// readerProps returns the Parquet reader properties every source uses.
// Column chunks are read through a buffered stream, page by page, instead
// of whole: a page body goes straight from the file (or the mapping) into
// the reader's page buffer, which saves one copy of every value and the
// allocation of each chunk (measured: 4-8% more rows/s on the model
// benchmark, whose reading competes with the model for memory bandwidth).
// Pages are allocated from pages; a page may declare at most maxPage bytes
// uncompressed, and at most the file's size compressed.
func readerProps(pages memory.Allocator, maxPage, fileSize int64) *parquet.ReaderProperties {
	props := parquet.NewReaderProperties(pages)
	props.BufferedStreamEnabled = true
	props.BufferSize = 64 << 10
	props.MaxUncompressedPageSize = maxPage
	props.MaxCompressedPageSize = max(1, min(maxPage, fileSize))
	return props
}

// newPageAlloc returns the allocator of one file reader's pages: it counts
// the bytes they hold and, while armed, refuses to hold more than
// maxPageMemory.
func newPageAlloc(mem memory.Allocator, maxPageMemory int64) *limitAlloc {
	return &limitAlloc{Allocator: mem, limit: maxPageMemory, live: true, msg: func(n, limit int64) error {
		return fmt.Errorf("%w: the pages the reader must hold at once (for every column read, its current data page and dictionary page, compressed and decompressed) need at least %s, more than max_page_memory (%s); raise parquet_source's max_page_memory, or read fewer columns",
			ErrLimit, sizeText(n), stages.ByteSize(limit))
	}}
}

// newBatchAlloc returns the allocator of a source's batches: it counts what
// is allocated between resets and, while armed, refuses more than maxBatch.
func newBatchAlloc(mem memory.Allocator, maxBatch int64) *limitAlloc {
	return &limitAlloc{Allocator: mem, limit: maxBatch, msg: func(n, limit int64) error {
		return fmt.Errorf("%w: decoding one batch needs more than max_batch_bytes (%s); lower parquet_source's batch_rows, or raise its max_batch_bytes",
			ErrLimit, stages.ByteSize(limit))
	}}
}

// pageLimitError names the setting in arrow-go's error for a page header
// that declares more than the limits readerProps sets.
func pageLimitError(err error) error {
	if err != nil && strings.Contains(err.Error(), "page size") && strings.Contains(err.Error(), "exceeds configured limit") {
		return fmt.Errorf("%w: %w (the limit is max_page_bytes, or the file's size for a compressed page); raise parquet_source's max_page_bytes to read it", ErrLimit, err)
	}
	return err
}

// Parquet magic numbers: a file starts and ends with PAR1, or with PARE
// when its footer is encrypted.
const (
	parquetMagic          = "PAR1"
	parquetMagicEncrypted = "PARE"
)

// readParquetFooter checks the magic numbers of the Parquet file f of size
// bytes and parses its footer, reading columns of logical types arrow-go
// does not know as their physical types (see dropUnknownLogicalTypes). It
// returns a nil FileMetaData for a file arrow-go must open itself (an
// encrypted one).
func readParquetFooter(f io.ReaderAt, size int64) (*metadata.FileMetaData, []string, error) {
	if size < 12 {
		return nil, nil, fmt.Errorf("%w: parquet: file of %d bytes is too small", ErrCorruptInput, size)
	}
	var head, tail [8]byte
	if _, err := f.ReadAt(head[:4], 0); err != nil {
		return nil, nil, err
	}
	if _, err := f.ReadAt(tail[:], size-8); err != nil {
		return nil, nil, err
	}
	switch {
	case string(head[:4]) == parquetMagicEncrypted || string(tail[4:]) == parquetMagicEncrypted:
		return nil, nil, nil
	case string(head[:4]) != parquetMagic:
		return nil, nil, fmt.Errorf("%w: parquet: does not start with the %s magic: not a Parquet file, or its beginning is damaged", ErrCorruptInput, parquetMagic)
	case string(tail[4:]) != parquetMagic:
		return nil, nil, fmt.Errorf("%w: parquet: does not end with the %s magic: not a Parquet file, or cut short", ErrCorruptInput, parquetMagic)
	}
	flen := int64(binary.LittleEndian.Uint32(tail[:4]))
	if flen > size-12 {
		return nil, nil, fmt.Errorf("%w: parquet: footer of %d bytes does not fit in the file of %d bytes", ErrCorruptInput, flen, size)
	}
	footer := make([]byte, flen)
	if _, err := f.ReadAt(footer, size-8-flen); err != nil {
		return nil, nil, err
	}
	patched, unknown, err := dropUnknownLogicalTypes(footer)
	if err != nil {
		patched, unknown = footer, nil // arrow-go's parser says what is wrong
	}
	var meta *metadata.FileMetaData
	err = guard(func() error {
		m, err := metadata.NewFileMetaData(patched, nil)
		if err != nil {
			return fmt.Errorf("parquet: could not read footer: %w", err)
		}
		meta = m
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	meta.SetSourceFileSize(size)
	if meta.IsSetEncryptionAlgorithm() { // encrypted columns, plaintext footer
		return nil, nil, nil
	}
	return meta, unknown, nil
}

// checkParquetChunks checks that the column chunks of the leaf columns
// read lie inside the file of size bytes, where arrow-go would read them.
func checkParquetChunks(meta *metadata.FileMetaData, size int64, leaves []int) error {
	for rg := range meta.NumRowGroups() {
		rgm := meta.RowGroup(rg)
		for _, c := range leaves {
			cc, err := rgm.ColumnChunk(c)
			if err != nil {
				return fmt.Errorf("row group %d: %w", rg, err)
			}
			// Where arrow-go starts reading the chunk (see
			// file.RowGroupReader.GetColumnPageReader).
			start := cc.DataPageOffset()
			if cc.HasDictionaryPage() && cc.DictionaryPageOffset() > 0 && start > cc.DictionaryPageOffset() {
				start = cc.DictionaryPageOffset()
			}
			n := cc.TotalCompressedSize()
			if start < 0 || n < 0 || start > size || n > size-start {
				return fmt.Errorf("%w: row group %d: column chunk %d (%s) of %d bytes at byte %d lies outside the file of %d bytes",
					ErrCorruptInput, rg, c, meta.Schema.Column(c).Path(), n, start, size)
			}
		}
	}
	return nil
}

// checkArrowSchema checks the Arrow schema a writer stored in a Parquet
// footer (key ARROW:schema), which pqarrow decodes with arrow-go's IPC
// reader: it must be one arrow-go can decode without allocating more than
// its bytes can describe. A damaged ARROW:schema fails the file rather than
// being ignored: reading the columns with the Parquet schema alone would
// silently change their types (time zones, dictionaries, large and view
// types), and the damage says the footer is not what the writer wrote.
func checkArrowSchema(meta *metadata.FileMetaData) error {
	kv := meta.KeyValueMetadata()
	if kv == nil {
		return nil
	}
	v := kv.FindValue("ARROW:schema")
	if v == nil {
		return nil
	}
	// Decoded as pqarrow decodes it.
	var decoded []byte
	var err error
	if len(*v)%4 == 0 {
		decoded, err = base64.StdEncoding.DecodeString(*v)
	}
	if len(decoded) == 0 || err != nil {
		decoded, err = base64.RawStdEncoding.DecodeString(*v)
	}
	if err != nil {
		return nil // pqarrow reports it
	}
	if err := checkIPCSchemaMessage(decoded); err != nil {
		return fmt.Errorf("the Arrow schema stored in the footer (key ARROW:schema) is damaged: %w", err)
	}
	return nil
}

// openParquetMeta reads the footer of path (of the object obj when it is
// not nil), checks it and resolves the projection.
func openParquetMeta(path string, obj *objectInfo, mem memory.Allocator, columns []string, lim parquetLimits) (parquetFile, error) {
	out := parquetFile{path: path, obj: obj}
	err := func() error {
		f, size, err := openParquetInput(path, obj)
		if err != nil {
			return err
		}
		defer f.Close()
		out.size = size
		if out.meta, out.unknownTypes, err = readParquetFooter(f, out.size); err != nil {
			return err
		}
		return guard(func() error {
			if out.meta == nil {
				pf, err := file.NewParquetReader(f, file.WithReadProps(readerProps(mem, lim.maxPage, out.size)))
				if err != nil {
					return err
				}
				out.meta = pf.MetaData()
				if err := pf.Close(); err != nil {
					return err
				}
			}
			if err := checkArrowSchema(out.meta); err != nil {
				return err
			}
			full, err := pqarrow.FromParquet(out.meta.Schema, &pqarrow.ArrowReadProperties{}, out.meta.KeyValueMetadata())
			if err != nil {
				return err
			}
			if out.schema, out.leaves, err = project(out.meta, full, columns); err != nil {
				return err
			}
			return checkParquetChunks(out.meta, out.size, out.leaves)
		})
	}()
	if err != nil {
		var ce *stages.ColumnError
		if errors.As(err, &ce) {
			return out, fmt.Errorf("%s: %w", path, ce)
		}
		return out, fileErr(path, err)
	}
	return out, nil
}

// project returns the schema of the named top-level columns of full (all
// when names is empty) and the leaf column indexes that hold them, in the
// order of names.
func project(md *metadata.FileMetaData, full *arrow.Schema, names []string) (*arrow.Schema, []int, error) {
	sc := md.Schema
	if len(names) == 0 {
		leaves := make([]int, sc.NumColumns())
		for i := range leaves {
			leaves[i] = i
		}
		return full, leaves, nil
	}
	// leaf indexes of each top-level field
	byField := make(map[int][]int)
	for leaf := range sc.NumColumns() {
		f := sc.Root().FieldIndexByField(sc.ColumnRoot(leaf))
		byField[f] = append(byField[f], leaf)
	}
	var (
		fields []arrow.Field
		leaves []int
		seen   = map[string]bool{}
	)
	for _, name := range names {
		if seen[name] {
			return nil, nil, &stages.ColumnError{Column: name, Msg: "listed twice in columns"}
		}
		seen[name] = true
		i, err := stages.Column(full, name)
		if err != nil {
			return nil, nil, err
		}
		fi := sc.Root().FieldIndexByName(name)
		if fi < 0 || len(byField[fi]) == 0 {
			return nil, nil, &stages.ColumnError{Column: name, Msg: "has no leaf columns"}
		}
		fields = append(fields, full.Field(i))
		leaves = append(leaves, byField[fi]...)
	}
	md2 := full.Metadata()
	return arrow.NewSchema(fields, &md2), leaves, nil
}

// Schema returns the schema of every batch.
func (p *Parquet) Schema() *arrow.Schema { return p.hive.outSchema(p.schema) }

// InputFiles implements [stages.InputLister].
func (p *Parquet) InputFiles() (matched []string, skipped []stages.FileNote) {
	return p.Files(), p.skipped
}

// TotalRows returns the row count of all files: the sum of their row
// groups' counts from the footers (some writers leave the file-level count
// at 0).
func (p *Parquet) TotalRows() (int64, bool) {
	var n int64
	for _, g := range p.groups {
		n += g.Rows
	}
	return n, true
}

// RowGroups returns every (file, row group) the source reads, in reading
// order: for a shard, those of its units. The slice is shared; callers must
// not modify it.
func (p *Parquet) RowGroups() []RowGroup { return p.groups }

// Files returns the expanded input files in reading order: for a shard,
// the files its units belong to.
func (p *Parquet) Files() []string {
	out := make([]string, len(p.files))
	for i, f := range p.files {
		out[i] = f.path
	}
	return out
}

// Next returns the next batch of at most batch_rows rows, owned by the
// caller, or io.EOF after the last row group.
func (p *Parquet) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if p.broken != nil {
		return nil, p.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for {
		if p.rr == nil {
			if p.next >= len(p.groups) {
				p.closeFile()
				return nil, io.EOF
			}
			p.cur = p.next
			p.next++
			if p.groups[p.cur].Rows == 0 {
				continue
			}
			if err := p.openGroup(ctx); err != nil {
				return nil, p.fail(err)
			}
		}
		var rec arrow.RecordBatch
		err := p.guardLimits(func() error {
			if p.rr.Next() {
				rec = p.rr.RecordBatch()
				rec.Retain()
				return nil
			}
			return p.rr.Err()
		})
		if err != nil {
			if rec != nil {
				rec.Release()
			}
			return nil, p.fail(err)
		}
		if rec == nil { // end of the row group
			p.rr.Release()
			p.rr = nil
			continue
		}
		if rec.NumRows() == 0 {
			rec.Release()
			continue
		}
		out, err := p.hive.extend(withSchema(p.schema, rec), p.groups[p.cur].File, p.mem, &p.partCols)
		if err != nil {
			return nil, p.fail(err)
		}
		return out, nil
	}
}

// guardLimits runs f, a read from the open row group, behind guard with
// the allocators armed: an allocation past max_page_memory or
// max_batch_bytes becomes the limit's error. Only reads in this goroutine
// are armed; pqarrow opens a struct column's children on goroutines of its
// own, where a refusal would be a panic nothing recovers.
func (p *Parquet) guardLimits(f func() error) error {
	p.batch.reset()
	p.pages.arm()
	p.batch.arm()
	err := guard(f)
	p.pages.disarm()
	p.batch.disarm()
	return pageLimitError(limitError(err))
}

// openGroup opens the reader of row group p.cur, reusing the open file.
func (p *Parquet) openGroup(ctx context.Context) error {
	fi := p.fileIndex[p.cur]
	f := &p.files[fi]
	if p.pfFile != fi {
		p.closeFile()
		pages := newPageAlloc(p.mem, p.lim.maxPageMemory)
		batch := newBatchAlloc(p.mem, p.lim.maxBatch)
		err := guard(func() error {
			pf, err := p.openReader(f, pages)
			if err != nil {
				return err
			}
			p.pf, p.pfFile, p.pages, p.batch = pf, fi, pages, batch
			fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{Parallel: false, BatchSize: int64(p.batchRows)}, batch)
			if err != nil {
				return err
			}
			p.fr = fr
			return nil
		})
		if err != nil {
			return err
		}
	}
	rg := p.groups[p.cur].Index
	p.prefetch(f, rg)
	// pqarrow opens the children of a struct column on goroutines of its
	// own (errgroup, even with Parallel false), where a panic ends the
	// process: open every column chunk here first, behind guard, so that
	// what those goroutines do has been done once on this file without a
	// panic.
	err := guard(func() error {
		rgr := p.pf.RowGroup(rg)
		for _, leaf := range f.leaves {
			if _, err := rgr.MetaData().ColumnChunk(leaf); err != nil {
				return err
			}
			pr, err := rgr.GetColumnPageReader(leaf)
			if err != nil {
				return err
			}
			if err := pr.Close(); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The previous row group's pages are released (or left to the
	// collector): count this one's from zero.
	p.pages.reset()
	return guard(func() error {
		rr, err := p.fr.GetRecordReader(ctx, f.leaves, []int{rg})
		if err != nil {
			return err
		}
		p.rr = rr
		return nil
	})
}

// fail records err against the current row group, abandons the readers and
// returns the error to give from now on.
func (p *Parquet) fail(err error) error {
	fe := &FileError{Path: p.groups[p.cur].File, RowGroup: p.groups[p.cur].Index, Batch: -1, Err: err}
	p.broken = fe
	p.closeFile()
	return fe
}

// closeFile releases the open readers.
func (p *Parquet) closeFile() {
	if p.rr != nil {
		_ = guard(func() error { p.rr.Release(); return nil })
		p.rr = nil
	}
	p.fr = nil
	if p.pf != nil {
		_ = p.pf.Close() // closes p.obj too
		p.pf, p.pfFile, p.obj = nil, -1, nil
	}
	p.pages, p.batch = nil, nil
}

// Close releases the open file and readers.
func (p *Parquet) Close() error {
	p.closeFile()
	p.partCols.release()
	if p.broken == nil {
		p.broken = errors.New("parquet_source: closed")
	}
	return nil
}

// describeParquet summarises a Parquet footer for [Inspect].
func describeParquet(path string) (*Info, error) {
	f, err := openParquetMeta(path, nil, memory.DefaultAllocator, nil, defaultParquetLimits)
	if err != nil {
		return nil, err
	}
	info := &Info{Path: path, Format: FormatParquet, Schema: f.schema}
	for rg := range f.meta.NumRowGroups() {
		n := f.meta.RowGroup(rg).NumRows()
		info.RowGroups = append(info.RowGroups, RowGroup{File: path, Index: rg, Rows: n})
		info.Rows += n
	}
	if v := f.meta.GetCreatedBy(); v != "" {
		info.CreatedBy = strings.TrimSpace(v)
	}
	return info, nil
}
