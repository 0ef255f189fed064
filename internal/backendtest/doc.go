// Package backendtest provides a fault-injecting [bridge.Backend] for tests
// of the executor and of model stages. Nothing registers it from init: a
// test builds one with [New], registers it with [Backend.Register] (which
// unregisters it when the test ends) and turns its knobs.
//
// The backend opens any file whose extension is in its formats. Its
// sessions describe one float32 input "x" [N, k] and one float32 output "y"
// [N, k] and compute y = 2x + 1, so results are easy to check. Knobs fail
// the first calls or every call with a chosen [bridge.Class], fail Open, add
// latency, hold calls at a gate, and reject rows that contain a marker value
// (NaN by default) as invalid input naming the row, so bad-row isolation can
// be tested. Counters record calls, opens, closes, the peak number of
// concurrent runs and the row count of every run.
//
// # Ownership
//
// Run borrows its input tensors for the call and allocates the output
// tensor's Data from the allocator it is given; the caller frees it.
//
// # Concurrency
//
// A Backend and its sessions are safe for concurrent use. Knobs may be
// turned while runs are in flight; a run reads them once when it starts.
//
// # Errors
//
// Injected failures are [*bridge.Error] values with Backend set to the
// backend's name, Op "run" or "load", Code 1000+class and Msg "injected".
// Bad rows are [*bridge.Error] with Class [bridge.ClassInvalidInput] and a
// message naming the first bad row.
package backendtest
