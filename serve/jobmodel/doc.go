// Package jobmodel serves a job's graph as [serve.Model]s: `pipe serve`
// answers requests with the very graph `pipe run` runs on files.
//
// [Open] cuts the job between its input stage (by default its only source)
// and its output stage (by default what its only sink reads) with
// [pipeline.Job.Cut]: the input becomes a source emitting requests, and a
// sink that hands rows back replaces the job's sinks. The endpoint named
// after the job answers with the whole graph (chained models, zip of
// parallel branches, transforms between them), like a Triton ensemble;
// with Options.Models every model stage is also an endpoint of its own.
//
// # Batching across clients
//
// Each request becomes a batch of the request schema (see tensors.go for
// how tensors map to columns). The request source emits one request, or
// several joined when more are queued, and the model stages' batchers join
// rows of many clients into one model call (`batch.max_rows`,
// `max_delay`, preferred sizes, adaptive), exactly as in a batch run.
//
// # Who gets which rows
//
// A served graph holds only stages that emit every row they receive, once
// and in order (Cut refuses filter, merge and on_error other than fail).
// The source records each call it emits in a FIFO; the response sink hands
// the oldest call its next rows until it has as many as it sent. A call
// whose client left before the source took it is dropped unrun.
//
// # Failures
//
// A failing row fails its graph run, as in `pipe run` with on_error: fail.
// Every call in flight is answered with the error ([ErrPassFailed]), the
// endpoint turns not ready, builds its graph again after Options.Restart
// and turns ready; queued calls wait for the new graph.
//
// # Ownership
//
// A request's batch is owned by its call until the source emits it; the
// response rows are retained slices of the sink's batches, released once
// copied into the response's tensors.
package jobmodel
