// Package observe watches a running job from the outside: Prometheus
// metrics, live progress and the HTTP endpoint that serves the metrics.
//
// The framework records every figure; stages do not count for themselves.
// Per-stage counters come from the runtime's [pipeline.StageStats], read
// at scrape time by a [StageCollector]. The runtime records each model
// batch into [pipeline.BatchStats], the same figures the run report reads;
// a [BatchCollector] exports them as batch-size, latency and queue-wait
// histograms and flush counters. The executor
// registers its own pipe_backend_* metrics on the same registry.
//
// Every collector is registered on a registry the caller injects, never on
// the global one. Label values come only from the job (stage ids, stage
// types, backend names, flush reasons), never from data.
//
// # Concurrency
//
// Collectors are safe for concurrent use: scrapes read atomics while the
// job runs. [Progress] owns one goroutine (and, on a terminal, mpb's
// rendering goroutines) from [StartProgress] until [Progress.Stop]
// returns. [Server] owns its serving goroutine from [Listen] until
// [Server.Close] returns.
//
// # Errors
//
// [Listen] fails before any work starts when the address cannot be bound
// (already in use, not an address); registering collectors twice on one
// registry is an error from [Register].
package observe
