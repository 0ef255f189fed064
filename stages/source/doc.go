// Package source holds the stages that read data into a job: the file
// sources parquet_source, csv_source, jsonl_source and ipc_source, the
// files_source that reads whole files (images) as rows, and the synthetic
// generate source. Each registers itself into the default
// [stages.Registry] from init; a blank import of this package (or of
// stages/all) makes them available to job files. [Inspect] describes one
// data file for `pipe inspect`.
//
// # Files
//
// Every file source takes `paths`: files, folders (every data file inside,
// recursively, skipping names that start with "." or "_") and glob patterns.
// Patterns expand in sorted order and the files are read in the order
// written, so a job reads the same rows in the same order on every run. A
// pattern that matches nothing is an error naming it. Constructors check that
// every file has the schema of the first one (nullability may differ; the
// stage reports a field as nullable when any file has it nullable) and read
// metadata only: Parquet footers, Arrow IPC message headers, the header line
// of CSV files. CSV and JSON lines sources without an explicit schema also
// read the first infer_rows records of the first file to infer one.
//
// # Whole files
//
// files_source emits one row per listed file: path (relative to the job
// folder when inside it, like unit keys), size, modified and bytes, the
// content read straight into the batch's binary value buffer. `paths`
// expands as above, except that a folder lists every file (or those with
// the `extensions`). Files are listed in the constructor and read one at a
// time as Next builds a batch of at most batch_rows files and about
// batch_bytes bytes, so a folder of many images is never held at once. A
// file over max_file_bytes, one that vanished, changed size or is not a
// regular file when its turn comes is a [*FileError] naming it, or, with
// on_error skip or dead_letter, a raw row handed to the Rejecter. Its work
// units are runs of unitRows consecutive files. Image bytes already in a
// table (a binary column, or the Hugging Face struct<bytes, path>) are read
// by parquet_source as they are.
//
// # Work units
//
// Every source implements [stages.Sharder]. A Parquet unit is a run of
// consecutive row groups of one file, an Arrow IPC file-format unit a run of
// consecutive record batches, both grouped until they hold at least the
// unit size in rows; an Arrow IPC stream, a CSV or a JSON lines file is one
// unit; a generator unit is a range of row numbers. Unit keys name files
// relative to the job folder when they are inside it ("data/a.parquet#rg0-3"),
// so they do not depend on where the folder sits. Shard builds a new source
// that shares the parent's footers, layouts and schema (never re-read nor
// re-inferred): several shards of one source may be read at once, each by
// its own goroutine, while the parent stays open. Shard rejects an index
// outside the unit list, or listed twice, with [ErrUnit].
//
// # Ownership
//
// A batch returned by Next belongs to the caller, which releases it. Batches
// are built from the allocator of the stage's [stages.Env]; the sources keep
// no reference to a batch after returning it, except the Arrow IPC source,
// whose returned batches may be zero-copy slices of a batch it decoded (the
// slices retain the shared buffers, so releasing them in any order is safe).
// Parquet batches are passed through from pqarrow without copying.
//
// # Concurrency
//
// A source is used by one goroutine at a time, as [stages.Source] requires.
// The file sources start no goroutines of their own: the Parquet reader runs
// with Parallel false (see below), though pqarrow still opens the children of
// a struct column on goroutines when a row group is opened. The generator fills the columns of a large
// batch on GOMAXPROCS goroutines that have all returned before Next does.
// Next checks its context before reading and returns the context's error
// when it is cancelled.
//
// # Errors
//
// Every error about a file is a [*FileError] naming the file and, where
// known, the row group, line and column. A value that does not parse as its
// column's type is a [*FileError] whose Err is a [*ValueError]. A file whose
// schema differs from the first file's wraps [ErrSchemaMismatch]; a pattern
// that matches nothing wraps [ErrNoMatch].
//
// arrow-go panics on some malformed files. Every call into its readers runs
// behind a recover boundary that turns a panic into an error wrapping
// [ErrCorruptInput] (with the stack, see [*PanicError]); a source never uses
// a reader again after it panicked. The Parquet reader runs with Parallel
// false because a panic in one of pqarrow's own goroutines cannot be
// recovered and ends the process; before pqarrow opens a row group (struct
// children on goroutines), the source opens every column chunk it will read
// itself, behind the boundary.
//
// An allocation the machine cannot satisfy aborts the Go runtime, which no
// recover catches, and arrow-go sizes allocations from what a file declares.
// So what it would trust is checked first, against the bytes that hold it
// and against limits the stages' settings name (see [ErrLimit]):
//   - Arrow IPC (ipc_validate.go): every vector length and count in the
//     schema, message and footer flatbuffers, the strings and entries
//     arrow-go would copy out of them, each compressed buffer's declared
//     uncompressed length and zstd window, and what a batch and the
//     dictionaries decode to (max_batch_bytes).
//   - Parquet: the leading and trailing PAR1, every column chunk's place in
//     the file, the Arrow schema stored in the footer (ARROW:schema, an IPC
//     schema message, checked as above), each page's declared sizes
//     (max_page_bytes), the pages held at once (max_page_memory) and what a
//     batch allocates (max_batch_bytes), counted by allocators that refuse
//     past the limit. The zstd and snappy codecs arrow-go registers for
//     Parquet are wrapped (for the whole process) so that a page never
//     decompresses past the size its header declares. A logical type arrow-go
//     does not know is dropped from the footer before it parses it, and the
//     column read as its physical type.
package source
