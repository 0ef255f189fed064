// Package pipeline turns a job file into a running graph of stages.
//
// # Loading and building
//
// [LoadFile] (or [Load]) parses a job strictly: unknown keys, wrong types,
// duplicate keys, anchors and aliases, a second document and an empty file
// are errors positioned FILE:LINE:COL, all reported at once in a
// [*ValidationError]. `${VAR}` and `${VAR:-default}` are substituted after
// parsing; [LoadOptions.Set] applies `--set ID.KEY=VALUE` overrides. The
// settings of a stage come, lowest precedence first, from the stage type's
// defaults, the job's `defaults:` block, the stage's `with:`, the PIPE_*
// variables (PIPE_BACKENDS, PIPE_MEMORY_BUDGET, ...: see the README) and
// the overrides; [Pipeline.Explain] shows where each came from.
//
// [Build] checks the graph (ids, inputs, cycles, arity), decodes every
// stage's config into its typed struct, and constructs the stages in
// topological order, handing each the schemas arriving on its inputs, so
// that a missing column or a wrong type is found before any data moves.
// When any stage runs a model, Build creates the job's executor from the
// `resources:` block and offers it to the stages.
//
//	job, err := pipeline.LoadFile("job.yaml", pipeline.LoadOptions{})
//	if job == nil {
//		return err
//	}
//	p, err := pipeline.Build(job, pipeline.BuildOptions{})
//	if err != nil {
//		return err // every problem of the job, positioned
//	}
//	report, err := p.Run(ctx)
//
// Stage types come from a [stages.Registry]: the default one, filled by the
// stage packages' init functions (import stages/all), or one of your own
// with extra types (see the examples).
//
// # Running
//
// [Pipeline.Run] starts one goroutine per stage, connected by bounded queues
// limited in batches and in bytes (BuildOptions.MaxBytesInFlight or
// resources.max_bytes_in_flight), so a slow stage slows its producers
// instead of growing memory. A queue holds 4 batches, or up to 256 small
// ones while they hold at most 4 MiB, so a stream of one-row batches does
// not hand off between goroutines at every few rows, and a stage emitting
// small batches runs on while its consumer is busy for a while (a sink
// writing out a row group). Fan-out retains each batch once per consumer.
// The first error cancels every stage and is returned as a [*StageError]
// naming the stage; a panic inside a stage becomes such an error with its
// stack. Sinks commit only when every stage succeeded, and are aborted
// otherwise. Run returns after every goroutine it started has exited and
// every stage is closed, with a [Report] of per-stage figures, also written
// as metrics.json beside each sink's output.
//
// Cancelling Run's context is the hard stop: in-flight backend calls are
// interrupted. [Pipeline.Stop] is the soft stop: sources stop reading, what
// is in flight drains, the unit in progress is not committed, and Run
// returns [ErrInterrupted].
//
// # Work units, resume and shards
//
// A job whose one source splits ([stages.Sharder]) runs as one pass of the
// graph per work unit, each over freshly built stages (a unit's pass starts
// when the previous one has read its input, so at most two overlap), and
// each unit is committed on its own: part-UUUUU-NNNNN.parquet files and a
// record in _pipe_units/ ([output.UnitRecord]). A rerun skips the units
// recorded with the job's fingerprint ([Pipeline.Fingerprint]) whose files
// are intact. BuildOptions.Shard runs one shard of the units
// ([AssignUnits]); each shard writes an [output.ShardManifest], and the last
// one to finish, or [output.CommitOutput], writes the folder's
// [output.Manifest] and _SUCCESS. Package output holds the protocol; this
// package decides which units run and when a folder is committed. Stages with
// on_error skip or dead_letter get a [stages.Rejecter]; the runtime bisects
// failing transform batches itself.
//
// # Ownership
//
// Batches move between stages under Arrow's reference counting: a batch
// sent on an edge belongs to its consumer; the runtime releases what a
// stage leaves unread when the run ends. Every buffer is allocated from
// BuildOptions.Mem; tests pass a checked allocator and assert it is empty
// after Run.
package pipeline
