// Package transform holds the stages that reshape batches without leaving
// the process: the transforms select, cast, filter, vectorize and
// unvectorize, and the multi-input operators merge and zip. Each registers
// itself by YAML type name into [stages.Default] from init; see the Spec of
// each type (printed by `pipe docs`) for its keys and an example.
//
// Every constructor checks its config against the input schemas in
// [stages.Env.Inputs] and computes the output schema before any data moves:
// a missing column or a wrong type is a [*stages.ColumnError], and a bad
// filter expression is a [*ExprError] that gives the position in the
// expression.
//
// # Ownership
//
// The Arrow convention of package stages holds. Process borrows its input
// batch and returns a new batch owned by the caller (or nil when a filter
// keeps no row). Columns that pass through unchanged are the input's arrays,
// retained, not copies; new buffers come from [stages.Env.Mem]. Operators own
// every batch they receive from their input channels: they release it, or
// hand it (or a zero-copy slice of it) to emit, which takes ownership.
//
// # Concurrency and cancellation
//
// Transforms are called from one goroutine at a time and keep only small
// per-stage state (a count of rows seen, for error messages, and scratch
// buffers). Operators start no goroutine: Run reads every input channel
// eagerly in one select loop, so that two inputs fed by the same upstream
// (fan-out then fan-in) cannot deadlock it, and returns promptly with the
// context's error when the run is cancelled, releasing every batch it still
// holds.
//
// # Errors
//
// Build-time problems name the column (or the input, for operators) and what
// is wrong, and suggest the nearest column name. Errors on data name the
// column and the row, counted from 0 over the stage's whole input stream:
// a value that does not survive a safe cast, a null in a packed vector, a zip
// whose inputs disagree on an id or on their row counts.
package transform
