// Package model implements the `model` stage: it runs a model (ONNX, or
// Core ML on Apple backends) over the rows of its input.
//
// # Data path
//
// Rows arriving in batches of any size are regrouped by a [batcher.Batcher]
// (coalescing small batches, slicing large ones without copying, padding for
// a static batch dimension); the stage's loop owns the batcher's deadline
// timer. Each batch becomes one tensor per model input: a column whose
// element type is the model's is handed over without copying (the tensor
// borrows the column's buffer until the call returns), other columns are
// converted. Output tensors are allocated from the stage's allocator and
// become the output columns' buffers without another copy.
//
// # Memory
//
// A batch may hold memory_budget / (instances + 1) bytes of model inputs
// and outputs (the executor's [executor.Executor.MemoryBudget]), so that
// the calls running and the batch packed behind them fit the budget
// together. [New] works
// out the bytes of a row from the plan's inputs and the model's declared
// outputs (all of them, mapped to columns or not) and cuts the batcher's
// max_rows to the rows that fit: the batcher then splits larger batches,
// in order. A row, or a static batch of pad_to rows, that cannot fit is a
// [*BudgetError] when the stage is built. When the model leaves an
// output's size per row open, batches run one row, one call at a time,
// until a call has measured it; a [batcher.Capped] sizer then caps the
// batches at what fits with the measure (a measure too large for one row
// ends the run with a *BudgetError). The tensor pool keeps at most one
// batch's share of freed buffers. [Stage.Estimate] says all this for
// `pipe validate`.
//
// # One path
//
// Every model call goes through the job's executor, the
// [*executor.Executor] the runtime passes in [stages.Env.Executor] (the
// type sets NeedsExecutor, so pipeline.Build creates one for any job with a
// model stage): it places the model (`backends` order, `auto`, formats,
// strict) and runs its calls with shared pools, admission control,
// retries, breakers and fallback. There is no other way to run a model:
// [New] without an executor fails with an error wrapping [ErrNoExecutor]
// that says the runtime must provide one. Tests build the stage the same
// way, registering fake backends (internal/backendtest) where they need
// faults.
//
// # Concurrency and ordering
//
// Up to `instances` model calls run at once, and one more full batch waits
// submitted behind them (the executor starts it when a call ends, so the
// backend does not wait for this goroutine to pack it); results are
// emitted in input order from a FIFO of calls. The adaptive sizer learns
// from [Call.Ran], the backend's own time. Run waits for every call it
// started before it returns, including when its context is cancelled.
//
// # Errors and bad rows
//
// Without a [stages.Rejecter] in the stage's env (on_error fail, the
// default) the first failure ends the run: a null in an input column is a
// [*RowError] naming the column and the row, a backend failure is wrapped
// with the batch's rows and keeps its [bridge.Class].
//
// With a Rejecter (on_error skip or dead_letter) the stage isolates bad
// rows instead. Rows with a null in an input column are rejected one by
// one, each with its *RowError, before the batch runs; the other rows run
// together (copied into one batch when the bad rows split them). A batch
// the backend refuses with [bridge.ClassInvalidInput] is bisected: each
// half runs again, recursively to at most ceil(log2 n)+1 levels, the parts
// that succeed are emitted, and a single row that still fails is rejected
// with the backend's error ("row 17: cpu backend: run: invalid_input ...").
// Parts are padded to the batch's pad_to like whole batches. Other error
// classes end the run as before, and so does the Rejecter's error when the
// max_errors budget is spent ([stages.ErrTooManyErrors]). Output keeps the
// input order: bisection happens when the batch's turn to emit comes, so a
// bisected batch is emitted as several batches in row order. The run
// report counts rejected_rows and bisect_runs.
//
// # Ownership
//
// Input batches are owned by the stage once received and released when
// batched; batches handed to emit belong to the runtime. A record handed
// to the Rejecter is a slice of an input batch (all its columns), borrowed
// for the call.
package model
