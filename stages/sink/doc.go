// Package sink holds the stages that write batches out of a job. It
// registers the `parquet_sink` type into the default [stages.Registry] from
// init; the binary links it with a blank import.
//
// # Parquet writer
//
// The parquet_sink is a thin layer over arrow-go's [pqarrow.FileWriter]
// (WriteBuffered into buffered row groups). The writer was chosen over
// github.com/parquet-go/parquet-go by measurement: see the BenchmarkWriter*
// benchmarks in this package and the README for the figures. The writer
// settings the sink uses are exported by [ParquetWriterProperties], so that a
// baseline loop elsewhere can write with exactly the same settings.
//
// # Files and commit protocol
//
// A sink writes part-00000.parquet, part-00001.parquet, ... into its output
// folder. A file being written lives in <path>/_pipe_staging/ under a name
// ending in .inprogress; when it is complete (max_rows_per_file reached, or
// Commit) the writer is closed, the file fsynced, renamed to its final name
// and the folder fsynced. No file under a final name is ever partial.
// [stages.Aborter.Abort] deletes the staging folder and the files this run
// already completed, leaving the output of earlier runs alone. When
// `overwrite: true` replaces earlier output, completed files wait in the
// staging folder until Commit, so a failed run leaves the old output intact.
//
// The sink implements [stages.FileLister]: after Commit the runtime writes
// the folder's manifest and then its success marker ([stages.SuccessFile]).
// The staging folder, empty after Commit, is removed by Close, so that until
// the manifest exists, part files without a success marker are always
// beside a staging folder: that is how the sink recognises the output of a
// crashed run, which it replaces without `overwrite`. Complete output (with
// the marker) is replaced only with `overwrite: true` or
// [stages.Env.Overwrite]; a sink used on its own removes the marker
// before the first file moves, and Abort writes it back when the old files
// were not touched. In a job the runtime does better: each unit's sink gets
// a part prefix ([stages.Env.PartPrefix]) in the folder's next generation,
// so no name it writes is one the committed manifest lists, and the old
// output stays whole, marker included, until the runtime replaces the
// manifest (see package pipeline). Such a sink replaces only its own
// prefix's files of an unfinished attempt.
// Failpoints (failpoint.Inject) mark each step for crash tests.
//
// # Determinism
//
// The bytes written depend only on the rows and their order, never on the
// batch boundaries: row groups are cut every row_group_rows rows, and rows are
// handed to the column writers in runs aligned to a fixed grid of
// [WriteBatchRows] rows from the start of each row group (the column writers
// decide page cuts and dictionary fallback only at the end of such a run). A
// batch that ends off the grid leaves its tail retained (zero-copy) until the
// next batch completes the run; only then are the pieces, at most
// WriteBatchRows-1 rows in all, concatenated. Batches whose sizes are
// multiples of WriteBatchRows are never copied. No timestamp is written in
// the file metadata. Sliced fixed_size_list columns are rebased to offset 0
// (zero-copy) before they reach the writer, which otherwise writes the
// values of the wrong rows (arrow-go v18.8.0).
//
// # Ownership
//
// Write borrows its batch for the call. A tail off the grid is kept with a
// zero-copy slice (which retains the buffers) and released once written.
// Every buffer is allocated from [stages.Env.Mem], including the writer's
// buffered row group, which is released when the file is closed.
//
// # Concurrency
//
// A sink is used from one goroutine at a time, as the runtime guarantees; it
// starts no goroutines.
//
// # Errors
//
// Problems with the config or the input schema are returned by the
// constructor, naming the key or column. An output folder that already holds
// part files with no trace of pipe is an error wrapping [ErrOutputExists]
// unless overwrite is set; complete output without overwrite is refused with
// that error at the first Write.
// Failures while writing are [*FileError] values naming the output file.
package sink
