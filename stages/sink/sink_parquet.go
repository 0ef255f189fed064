package sink

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/output"
	"github.com/pipe-ml/pipe/stages"
)

// ParquetSinkType is the YAML type name of the Parquet sink.
const ParquetSinkType = "parquet_sink"

// WriteBatchRows is the number of rows the column writers take per step
// (parquet's write batch size). Rows are handed to the writer in runs aligned
// to this grid from the start of each row group, which makes the output
// bytes independent of batch boundaries.
const WriteBatchRows = 1024

// StagingDir is the name of the folder, inside the output folder, where
// files live while they are written. Its `_` prefix makes Spark, DuckDB and
// pandas skip it.
const StagingDir = stages.StagingDir

// inProgressSuffix ends the name of a file being written, so that
// `**/*.parquet` globs never match it.
const inProgressSuffix = ".inprogress"

// ErrOutputExists is wrapped by the error returned when the output folder
// already holds part files and overwrite is not set.
var ErrOutputExists = errors.New("output folder already holds part files")

// codecs maps the accepted compression names to arrow-go codecs.
var codecs = map[string]compress.Compression{
	"zstd":   compress.Codecs.Zstd,
	"snappy": compress.Codecs.Snappy,
	"gzip":   compress.Codecs.Gzip,
	"none":   compress.Codecs.Uncompressed,
}

// levelRange bounds compression_level per codec; codecs absent take none.
var levelRange = map[string][2]int{
	"zstd": {1, 22},
	"gzip": {0, 9},
}

// ParquetConfig is the `with:` block of a parquet_sink stage.
type ParquetConfig struct {
	Path             stages.Path     `yaml:"path" required:"true" doc:"Output folder; part-UUUUU-NNNNN.parquet files are written into it (created if missing)."`
	Compression      string          `yaml:"compression" doc:"Compression codec: zstd, snappy, gzip or none."`
	CompressionLevel *int            `yaml:"compression_level" doc:"Codec level: zstd 1-22, gzip 0-9; unset means the codec's default. Not allowed for snappy and none."`
	RowGroupRows     int64           `yaml:"row_group_rows" doc:"Rows per row group; row groups are cut by row count, whatever the incoming batch sizes. A row group is buffered in memory (compressed) until it is complete."`
	RowGroupBytes    stages.ByteSize `yaml:"row_group_bytes" doc:"Largest row group in bytes: fixed-width values count at their size, strings, binaries and lists (images, texts, token ids) at their actual size, row by row, so a wide schema or large values get fewer rows per row group than row_group_rows and the buffered row group stays within this (a single larger row gets a row group of its own). The cut depends on the rows only, not on how they arrived in batches. Files are also closed before they hold 65,536 column chunks (row groups x columns), whose metadata stays in memory until the file is complete."`
	MaxColumns       int             `yaml:"max_columns" doc:"Most Parquet columns (leaf fields) a schema may have: the writer keeps about 25 KiB of state per column whatever the rows, so a schema wider than this is refused before any data moves. Default 10000."`
	MaxRowsPerFile   int64           `yaml:"max_rows_per_file" doc:"Hard limit of rows per file; when reached the file is completed and the next one started. 0 means unlimited."`
	Dictionary       bool            `yaml:"dictionary" doc:"Dictionary-encode columns. Off by default: on the benchmark schema (unique float32 values) it writes about 5x slower and the files come out larger; turn it on for low-cardinality columns."`
	Overwrite        bool            `yaml:"overwrite" doc:"Replace part files already in the output folder, including complete output of another job. Old files are removed only at commit, so a failed run leaves them intact. Without it, existing part files are an error (those of a crashed run excepted)."`
	PartitionBy      []string        `yaml:"partition_by" doc:"Columns whose values route each row to a Hive-style folder, col=value/col2=value2/ (strings, integers, booleans and date32 as YYYY-MM-DD; values escaped as Hive does, null and empty values as __HIVE_DEFAULT_PARTITION__). The columns are left out of the files' schema, as Hive, Spark and pyarrow do: readers take them from the folder names."`
	PartSize         stages.ByteSize `yaml:"part_size" doc:"With a path on object storage (s3://bucket/prefix), the size of the parts in which each file is uploaded (a streaming multipart upload; the object appears under its name only once the file is complete). At least 5MiB (S3's smallest part). Each file being written holds at most three parts in memory; a file smaller than a part is sent in one request. Ignored for local paths."`
	MaxOpenFiles     int             `yaml:"max_open_files" doc:"With partition_by, the most part files open at once: a row for a new partition beyond it completes the least recently used partition's file, and a later row for that partition starts its next file. Each open file buffers up to a row group, so memory is bounded by max_open_files x row_group_bytes. Default 64."`

	// pageBytes overrides the data and dictionary page size limits; tests
	// set it to cut many pages from few rows. 0 keeps the writer's default.
	pageBytes int64
	// skipSync leaves out the fsyncs, for tests that write many files.
	skipSync bool
}

// DefaultParquetConfig returns the defaults of the parquet_sink keys. The
// compression and dictionary defaults come from BenchmarkWriter* (see the
// package README).
func DefaultParquetConfig() ParquetConfig {
	return ParquetConfig{
		Compression:   "snappy",
		RowGroupRows:  128 * 1024,
		RowGroupBytes: DefaultRowGroupBytes,
		MaxColumns:    DefaultMaxColumns,
		MaxOpenFiles:  DefaultMaxOpenFiles,
		PartSize:      DefaultPartSize,
	}
}

var parquetSpec = stages.Spec{
	Summary: "Write batches to a folder of Parquet files, committed atomically.",
	Description: `Writes every row it receives into Parquet files in the output folder ` + "`path`" + `, with arrow-go's
Parquet writer, named ` + "`part-UUUUU-NNNNN.parquet`" + `: work unit ` + "`UUUUU`" + ` of the job, file ` + "`NNNNN`" + ` of the unit (a new
file every ` + "`max_rows_per_file`" + ` rows). A run that replaces complete output names them
` + "`part-UUUUU-gG-NNNNN.parquet`" + `, G being the folder's generation (2, 3, ...).

**Atomic files.** A file being written lives in ` + "`<path>/_pipe_staging/part-UUUUU/part-UUUUU-NNNNN.parquet.inprogress`" + `
(the ` + "`_`" + ` prefix makes Spark, DuckDB and pandas skip it, and the name does not end in ` + "`.parquet`" + `).
When a file is complete (` + "`max_rows_per_file`" + ` reached, or the run commits) it is closed, fsynced and
renamed to its final name; no file under a final name is ever partial. A failed run removes the
staging folder and the files it completed.

**Existing output.** Complete output (with ` + "`_SUCCESS`" + `) is replaced only with ` + "`overwrite: true`" + ` or
` + "`pipe run --overwrite`" + `; ` + "`pipe run`" + ` first compares the job's fingerprint with the folder's manifest and does
nothing when they match. The output of a crashed run (part files beside ` + "`_pipe_staging/`" + ` or a manifest, no
` + "`_SUCCESS`" + `) is replaced. A folder holding files pipe did not write is refused unless ` + "`overwrite: true`" + `,
which writes beside them. In a job, a run that replaces complete output writes its files under new names
(` + "`part-UUUUU-gG-NNNNN.parquet`" + `, the folder's next generation) and leaves the old output, ` + "`_SUCCESS`" + ` included,
untouched until the runtime renames its ` + "`_manifest.json`" + ` (files, rows, SHA-256, fingerprint) over the old one;
then the old files are removed. Killed anywhere, the folder holds the old output or the new one, whole.
One run writes a folder at a time (` + "`_pipe_lock/`" + `).

**Deterministic bytes.** The same rows in the same order give byte-identical files whatever the batch
sizes: row groups are cut every ` + "`row_group_rows`" + ` rows and no timestamp is written. The Arrow schema is
stored in the file metadata, so types round-trip.

**Partitioned output.** With ` + "`partition_by: [dt, region]`" + ` each row goes to a Hive-style folder named by its values,
` + "`dt=2026-12-07/region=eu/part-UUUUU-NNNNN.parquet`" + `, which Spark, DuckDB (` + "`hive_partitioning`" + `) and pyarrow
read back as columns. The partition columns are left out of the files' schema, as Hive, Spark and pyarrow
write them: readers take them from the folder names. Values are strings, integers, booleans or date32
(` + "`YYYY-MM-DD`" + `), escaped as Hive does (control characters and ` + "`\"#%'*/:=?\\^{[]`" + ` become ` + "`%XX`" + `); null and
empty values go to ` + "`__HIVE_DEFAULT_PARTITION__`" + `. Other types are a config error. At most ` + "`max_open_files`" + `
files are open: a row for another partition completes the least recently used one's file, and that
partition's next rows start its next file (NNNNN + 1), so many partitions interleaved within batches give
many small files (sort or group the input by the partition columns to avoid it). Memory is bounded by
` + "`max_open_files`" + ` x ` + "`row_group_bytes`" + `. A unit's files, in all its partitions, wait in the staging folder and are
committed together; the manifest names them by their paths in the output folder. Bytes are deterministic
for the same rows in the same batches; when no file is closed by ` + "`max_open_files`" + ` they are the same
whatever the batch sizes. A run with no rows writes no file.

**Object storage.** ` + "`path: s3://bucket/prefix`" + ` writes to a bucket (endpoint, region and path-style addressing from
` + "`AWS_ENDPOINT_URL`" + `, ` + "`AWS_REGION`" + ` and ` + "`PIPE_S3_PATH_STYLE=1`" + `; credentials from the AWS SDK's standard chain, never
the job file). Each file is a streaming multipart upload to its final key, in parts of ` + "`part_size`" + ` (at most
three held in memory per open file): the object appears only once the file is complete and its SHA-256
computed, and a failed or cancelled file's upload is aborted. There is no staging file and no rename;
` + "`_pipe_staging/`" + ` holds empty marker objects while units are written. The commit protocol (unit records,
manifest, ` + "`_SUCCESS`" + `) and the lock (lease objects under ` + "`_pipe_lock/`" + `, created with ` + "`If-None-Match: *`" + `) work
as on a local folder; see the output package. A missing bucket or refused credentials fail when the job is
built, naming the URL. A run that is killed leaves open multipart uploads, which never appear as objects;
give the bucket a lifecycle rule that aborts incomplete multipart uploads.

**Limits.** A null entry in a top-level ` + "`fixed_size_list`" + ` column is an error naming the column
(arrow-go's writer cannot store it); nulls inside the lists are fine.

**Performance.** Defaults (snappy, dictionary off) were chosen by measurement: dictionary encoding
writes unique float values about 5x slower and gives larger files; snappy is the fastest codec that
compresses. Turn ` + "`dictionary`" + ` on for low-cardinality columns; use ` + "`zstd`" + ` for files about 15% smaller
at about 0.6x the write speed.`,
	Example: `- id: write
  type: parquet_sink
  inputs: [score]
  with:
    path: out/scores
    compression: zstd
    max_rows_per_file: 1000000
`,
}

func init() {
	stages.MustRegister(stages.Type[ParquetConfig]{
		Name:     ParquetSinkType,
		Kind:     stages.KindSink,
		Spec:     parquetSpec,
		Defaults: DefaultParquetConfig,
		New: func(conf ParquetConfig, env *stages.Env) (stages.Stage, error) {
			return NewParquet(conf, env)
		},
	})
}

// validate checks the keys of c that need no file system.
func (c ParquetConfig) validate() error {
	var errs []error
	if strings.TrimSpace(string(c.Path)) == "" {
		errs = append(errs, errors.New("path: must not be empty"))
	}
	if _, ok := codecs[c.Compression]; !ok {
		names := make([]string, 0, len(codecs))
		for n := range codecs {
			names = append(names, n)
		}
		slices.Sort(names)
		msg := fmt.Sprintf("compression: unknown codec %q", c.Compression)
		if s := stages.Nearest(c.Compression, names); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		}
		errs = append(errs, errors.New(msg+"; valid codecs: "+strings.Join(names, ", ")))
	} else if c.CompressionLevel != nil {
		r, ok := levelRange[c.Compression]
		switch lvl := *c.CompressionLevel; {
		case !ok:
			errs = append(errs, fmt.Errorf("compression_level: %s takes no level", c.Compression))
		case lvl < r[0] || lvl > r[1]:
			errs = append(errs, fmt.Errorf("compression_level: %d is out of range for %s (%d to %d)", lvl, c.Compression, r[0], r[1]))
		}
	}
	if c.MaxColumns < 0 {
		errs = append(errs, fmt.Errorf("max_columns: must be positive, got %d", c.MaxColumns))
	}
	if c.RowGroupBytes < 0 {
		errs = append(errs, fmt.Errorf("row_group_bytes: must be positive, got %d", c.RowGroupBytes))
	}
	if c.RowGroupRows < 1 {
		errs = append(errs, fmt.Errorf("row_group_rows: must be at least 1, got %d", c.RowGroupRows))
	}
	if c.PartSize < minPartSize {
		errs = append(errs, fmt.Errorf("part_size: must be at least 5MiB (S3's smallest part), got %d bytes", c.PartSize))
	}
	if c.MaxRowsPerFile < 0 {
		errs = append(errs, fmt.Errorf("max_rows_per_file: must be 0 (unlimited) or positive, got %d", c.MaxRowsPerFile))
	}
	errs = append(errs, c.validatePartitioning()...)
	return errors.Join(errs...)
}

// ParquetWriterProperties returns the Parquet and Arrow writer properties
// that a parquet_sink with config conf writes with, allocating from mem. A
// benchmark baseline that writes with the same settings uses these together
// with [pqarrow.FileWriter.WriteBuffered]. It fails on an invalid config.
func ParquetWriterProperties(conf ParquetConfig, mem memory.Allocator) (*parquet.WriterProperties, pqarrow.ArrowWriterProperties, error) {
	if err := conf.validate(); err != nil {
		return nil, pqarrow.ArrowWriterProperties{}, err
	}
	opts := []parquet.WriterProperty{
		parquet.WithAllocator(mem),
		parquet.WithCompression(codecs[conf.Compression]),
		parquet.WithDictionaryDefault(conf.Dictionary),
		parquet.WithMaxRowGroupLength(conf.RowGroupRows),
		parquet.WithBatchSize(WriteBatchRows),
		parquet.WithStats(true),
	}
	if conf.pageBytes > 0 {
		opts = append(opts, parquet.WithDataPageSize(conf.pageBytes), parquet.WithDictionaryPageSizeLimit(conf.pageBytes))
	}
	if conf.CompressionLevel != nil {
		opts = append(opts, parquet.WithCompressionLevel(*conf.CompressionLevel))
	}
	arrowProps := pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema())
	return parquet.NewWriterProperties(opts...), arrowProps, nil
}

// checkSchema reports the first column of s that Parquet cannot store.
func checkSchema(s *arrow.Schema, props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties) error {
	for _, f := range s.Fields() {
		one := arrow.NewSchema([]arrow.Field{f}, nil)
		if _, err := pqarrow.ToParquet(one, props, arrowProps); err != nil {
			return &stages.ColumnError{Column: f.Name, Msg: fmt.Sprintf("type %s cannot be written to Parquet: %v", f.Type, err)}
		}
	}
	return nil
}

// existingParts lists the file names in dir matching pattern (such as
// part-*.parquet), sorted; a missing dir has none.
func existingParts(dir, pattern string) ([]string, error) {
	return partsIn(localLister(dir), pattern)
}

// localLister lists the folders of local directory dir.
func localLister(dir string) lister {
	return func(rel string) ([]output.Entry, error) {
		ents, err := os.ReadDir(filepath.Join(dir, filepath.FromSlash(rel)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		out := make([]output.Entry, len(ents))
		for i, e := range ents {
			out[i] = output.Entry{Name: e.Name(), Type: e.Type()}
		}
		return out, err
	}
}

// partsIn lists the file names in the folder ls lists matching pattern,
// sorted.
func partsIn(ls lister, pattern string) ([]string, error) {
	ents, err := ls("")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if ok, _ := filepath.Match(pattern, e.Name); ok && !e.Type.IsDir() {
			out = append(out, e.Name)
		}
	}
	slices.Sort(out)
	return out, nil
}

// unitPartsIn lists the files prefix-NNNNN.parquet in the folder ls lists:
// a unit's part files, not those of other prefixes that begin with this
// one.
func unitPartsIn(ls lister, prefix string) ([]string, error) {
	all, err := partsIn(ls, prefix+"-*.parquet")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, n := range all {
		num := strings.TrimSuffix(strings.TrimPrefix(n, prefix+"-"), ".parquet")
		if num != "" && strings.Trim(num, "0123456789") == "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// joinLocal returns the path of name (slash-separated) in dir.
func joinLocal(dir, name string) string { return filepath.Join(dir, filepath.FromSlash(name)) }

// removeLocal removes the file name in dir.
func removeLocal(dir, name string) error { return os.Remove(joinLocal(dir, name)) }

// NewParquet builds a Parquet sink from a decoded config. It reads the
// output folder's listing but creates nothing: the folder is prepared at the
// first Write or Commit. The input schema is env.Input(); when nil, the
// schema of the first batch is used.
func NewParquet(conf ParquetConfig, env *stages.Env) (*ParquetSink, error) {
	mem := env.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	props, arrowProps, err := ParquetWriterProperties(conf, mem)
	if err != nil {
		return nil, err
	}
	if stages.IsObjectURL(string(conf.Path)) {
		return newObjectParquet(conf, env, props, arrowProps)
	}
	dir := filepath.Clean(string(conf.Path))
	if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return nil, fmt.Errorf("path: %s exists and is not a folder", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("path: %w", err)
	}
	overwrite := conf.Overwrite || env.Overwrite
	prefix := env.PartPrefix
	if prefix != "" && (!filepath.IsLocal(prefix) || strings.ContainsAny(prefix, `/\*?[`)) {
		return nil, fmt.Errorf("part prefix %q is not a plain file name", prefix)
	}
	if prefix != "" {
		// One work unit's sink: the runtime has checked the folder and
		// picked a prefix that no committed file has; the unit's own files
		// from an unfinished attempt (prefix-NNNNN.parquet) are replaced,
		// everything else is left alone.
		old, err := unitPartsIn(localLister(dir), prefix)
		if err == nil {
			old, err = partitionParts(conf, dir, prefix, old)
		}
		if err != nil {
			return nil, fmt.Errorf("path: %w", err)
		}
		return newParquetSink(conf, env, dir, filepath.Join(dir, StagingDir, prefix), prefix, old, true, false, false, props, arrowProps)
	}
	old, err := existingParts(dir, "part-*.parquet")
	if err == nil {
		old, err = partitionParts(conf, dir, "", old)
	}
	if err != nil {
		return nil, fmt.Errorf("path: %w", err)
	}
	staging := filepath.Join(dir, StagingDir)
	complete := exists(filepath.Join(dir, stages.SuccessFile))
	// Part files without the success marker but with a trace of pipe (the
	// staging folder, which lives until after the marker is written, a
	// manifest or the units journal) are what a crashed run left: they are
	// replaced.
	crashed := !complete && (exists(staging) || exists(filepath.Join(dir, stages.ManifestFile)) || exists(filepath.Join(dir, stages.UnitsDir)))
	if len(old) > 0 && !overwrite && !complete && !crashed {
		return nil, fmt.Errorf("%w: %s holds %d (%s ...); set overwrite: true to replace them", ErrOutputExists, dir, len(old), old[0])
	}
	if crashed && len(old) > 0 && env.Log != nil {
		// The runtime says what becomes of them (resumed or replaced).
		env.Log.Debug("output folder holds an incomplete earlier run", "path", dir, "files", len(old))
	}
	return newParquetSink(conf, env, dir, staging, "", old, overwrite, complete, crashed, props, arrowProps)
}

// newParquetSink checks the input schema and assembles the sink.
func newParquetSink(conf ParquetConfig, env *stages.Env, dir, staging, prefix string, old []string, overwrite, complete, crashed bool,
	props *parquet.WriterProperties, arrowProps pqarrow.ArrowWriterProperties) (*ParquetSink, error) {
	mem := env.Mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	schema := env.Input()
	if schema != nil {
		if err := checkSchema(schema, props, arrowProps); err != nil {
			return nil, err
		}
		if err := checkColumns(conf, schema); err != nil {
			return nil, err
		}
	}
	sk := &ParquetSink{
		fslCols:    fixedSizeListColumns(schema),
		limits:     limitsOf(conf, schema),
		conf:       conf,
		dir:        dir,
		staging:    staging,
		prefix:     prefix,
		overwrite:  overwrite,
		complete:   complete && len(old) > 0,
		crashed:    crashed && len(old) > 0,
		schema:     schema,
		mem:        mem,
		props:      props,
		arrowProps: arrowProps,
		old:        old,
		holdFinal:  len(old) > 0,
	}
	if schema != nil {
		sk.varCols, sk.fixedRow = rowShape(schema)
	}
	if len(conf.PartitionBy) > 0 {
		sk.parts = &partitions{root: sk}
		if schema != nil {
			if err := sk.parts.bind(schema); err != nil {
				return nil, err
			}
		}
	}
	return sk, nil
}

// exists reports whether path exists (any error but not-exist counts as
// existing, so that a folder that cannot be read is never written over).
func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, os.ErrNotExist)
}

// FileError is a failure to write, complete or move one output file.
type FileError struct {
	Op   string // what failed: create, write, close, sync, rename, remove
	Path string // the file's final path
	Err  error
}

func (e *FileError) Error() string { return fmt.Sprintf("%s %s: %v", e.Op, e.Path, e.Err) }

// Unwrap returns the underlying error.
func (e *FileError) Unwrap() error { return e.Err }
