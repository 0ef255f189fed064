// Package vector provides the `vector` transform: row-wise operations on a
// fixed_size_list<float32>[k] column — L2 normalisation, multiplication by
// a constant matrix, softmax and top-k — run by Go kernels on the CPU or by
// the metal backend's kernels on the Apple GPU.
//
// Metal kernels run through the job's executor ([stages.Env.Executor], an
// [executor.ModelSpec] with a Kernel instead of a model file), so they
// share the backend's lanes, admission, retries, breaker and health with
// model stages' calls.
//
// # Ownership
//
// Process borrows its input batch for the call and returns a new batch
// owned by the caller; the input's other columns are shared with it
// (retained). The vector column's values are read in place; outputs are
// built from the stage's allocator.
//
// # Concurrency
//
// The runtime calls Process from one goroutine at a time. The stage starts
// no goroutines; its Metal calls wait for the executor's result.
//
// # Errors
//
// Configuration and schema problems are reported by the constructor, naming
// the key or column. A null element inside a non-null vector is an error
// naming the column and row; null vectors give null outputs. With backend
// metal, a GPU failure is the backend's [*bridge.Error] once the
// executor's retries are spent; backend auto falls back to the CPU kernels
// when the executor cannot place the kernel on Metal here.
package vector
