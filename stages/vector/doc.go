// Package vector provides the `vector` transform: row-wise operations on a
// fixed_size_list<float32>[k] column — L2 normalisation, multiplication by
// a constant matrix, softmax and top-k — run by Go kernels on the CPU or by
// the metal backend's kernels on the Apple GPU.
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
// no goroutines; a Metal session, when used, serialises its own calls.
//
// # Errors
//
// Configuration and schema problems are reported by the constructor, naming
// the key or column. A null element inside a non-null vector is an error
// naming the column and row; null vectors give null outputs. With backend
// metal, a GPU failure is the backend's [*bridge.Error]; backend auto falls
// back to the CPU kernels when Metal is not available here.
package vector
