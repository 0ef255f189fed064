// Package mempool provides the Arrow allocator that pipelines use unless
// they are given one: an [Allocator] that keeps the buffers Arrow frees, by
// size class (four per power of two), and hands them out again.
//
// arrow-go allocates every page buffer, values buffer and Parquet column
// chunk afresh, and its Go allocator leaves freed memory to the garbage
// collector. On the model benchmark (parquet_source -> model -> parquet_sink)
// that churn, not the copying, dominated the source's time: fresh pages
// must be faulted in and zeroed by the kernel, and a batch that cost 4 ms to
// read with the Go allocator costs 0.3 ms from the pool once it is warm.
//
// The pool is bounded: it keeps at most its limit of freed bytes and gives
// the rest back to the garbage collector. Buffers under 4 KiB come straight
// from the Go heap, whose small-object allocator already recycles them.
//
// Recycling turns a use after free, harmless with arrow-go's Go allocator,
// into reading another batch's data. [WithPoison] fills freed buffers with a
// pattern so that tests see such a bug as wrong values; the project's test
// allocator (internal/stagetest.Mem) is a checked, poisoning pool.
package mempool
