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
// # Concurrency and ordering
//
// Up to `instances` model calls run at once; results are emitted in input
// order from a FIFO of calls. Calls go through the job's executor when the
// runtime offers one under [executor.ServiceKey] (shared pools, admission
// control, retries, fallback); otherwise through a plain session of the
// first usable backend. Run waits for every call it started before it
// returns, including when its context is cancelled.
//
// # Ownership
//
// Input batches are owned by the stage once received and released when
// batched; batches handed to emit belong to the runtime.
package model
