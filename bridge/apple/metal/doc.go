// Package metal provides the metal backend: pipe's own vector kernels
// (normalize, matmul with a constant matrix, softmax, top-k) on the Apple
// GPU. Importing it registers the backend with package bridge.
//
// The kernels are Metal Shading Language source embedded in the binary
// (kernels.metal) and compiled at run time with newLibraryWithSource, so no
// Xcode toolchain is needed to build. A "model" is a kernel: Open takes its
// name ("normalize", "matmul", "softmax", "topk") as the path, and
// Options.Extra "k" for topk. Run takes x, an [N, K] float32 tensor, plus
// the [K, M] matrix for matmul, and returns [N, K] (normalize, softmax),
// [N, M] (matmul), or values [N, k] float32 and indices [N, k] int32 (topk).
//
// Only darwin builds with cgo run kernels; every other build registers the
// backend as unavailable with the reason.
//
// # Ownership
//
// Run borrows its inputs for the call and copies them into shared Metal
// buffers; outputs are copied back into memory from the allocator passed to
// Run, owned by the caller. A session owns its device, queue and pipelines,
// released by Close.
//
// # Concurrency
//
// Sessions serialise Run with a mutex (command buffers and encoders are not
// thread-safe). Run waits for the command buffer with a timeout inside the
// shim; a cancelled context is checked before the GPU work starts.
//
// # Errors
//
// Command buffer failures (MTLCommandBufferErrorDomain) become
// [*bridge.Error] through [apple.Classify]: out of memory is retried,
// access revoked or device removed take the GPU out for the process.
package metal
