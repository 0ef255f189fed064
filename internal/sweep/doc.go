// Package sweep holds the parameter grid and the results of `pipe bench`:
// the combinations of batch size, instances, threads and backend to
// measure, the summary of repeated measurements (median throughput with
// its min-max spread, latency percentiles), the best combination, and the
// reports: an aligned table, JSON, and a self-contained HTML page with
// inline SVG charts.
//
// # Concurrency
//
// Nothing here starts goroutines; values are not safe for concurrent
// mutation.
//
// # Errors
//
// [ParseInts] and [Grid.Validate] return errors naming the flag; an empty
// sweep is [ErrEmptySweep].
package sweep
