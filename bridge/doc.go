// Package bridge is the contract between pipe and the native runtimes that
// execute models: ONNX Runtime on every platform (bridge/ort), Core ML, MPS
// and Metal on Apple silicon. It holds interfaces, the model description, a
// registry by backend name and the typed [*Error]; implementations live in
// sub-packages and register from init. The package imports no cgo and no
// other part of pipe.
//
// # Ownership
//
// [Session.Run] borrows its input tensors for the call: their Data must stay
// valid and unmodified until Run returns, and a backend never keeps a
// pointer to them afterwards. Input Data should come from C memory (arrow's
// mallocator); Go memory is pinned for the length of the call. Output tensor
// Data is allocated from the allocator passed to Run and belongs to the
// caller, who frees it with that allocator (or wraps it in an Arrow buffer).
//
// # Errors
//
// Backends return [*Error], which keeps the native status code and a
// [Class] that tells the executor what to do: retry (transient, resource
// exhausted), move to the next backend (unavailable, unsupported), or give
// up on the rows (invalid input). errors.Is(err, ErrUnavailable) and the
// other class sentinels work through it.
//
// # Concurrency
//
// A Backend is safe for concurrent use. A Session's Run may be called from
// several goroutines at once (ONNX Runtime and Core ML sessions are); Close
// must not race with Run. A cancelled context interrupts a running Run,
// which returns only after the native call has stopped.
package bridge
