// Package apple holds the pure-Go half of pipe's Apple silicon backends: the
// tables and planning logic that the Core ML, ONNX Runtime CoreML execution
// provider and Metal bridges (packages bridge/apple/coreml and
// bridge/apple/metal) share, and the host's capability and health signals.
//
// Nothing here needs a Mac: error mapping ([Classify], [ClassifyORT]),
// compute-unit choice ([UnitsFor]), static-shape planning for the Neural
// Engine ([PlanShapes]), model cache keys ([CacheKey], [CacheDir]) and the
// CoreML execution provider option map ([EPOptions]) are plain functions,
// unit-tested on Linux. [Probe] and [ReadMemoryPressure] read sysctl values
// through golang.org/x/sys/unix on darwin (no cgo); their parsing is
// separated from the syscalls and tested with recorded values. [ReadThermal]
// and [ReadGPUMemory] need a small Objective-C shim and so darwin with cgo;
// every other build returns an error wrapping [ErrNotMac] or
// [ErrNoCgo].
//
// # Ownership
//
// The package holds no native resources: every value it returns is a plain
// Go value owned by the caller. The Objective-C health shim returns POD
// values only and keeps no object past a call.
//
// # Concurrency
//
// Every function is safe for concurrent use. [Probe] caches its result
// after the first successful call; the health readers do a fresh read each
// time and are cheap enough to poll every few seconds from a ticker.
//
// # Errors
//
// Native statuses become [*bridge.Error] values that keep the native code
// and carry a [bridge.Class]: [Classify] maps (domain, code, message) from
// the Objective-C shims, [ClassifyORT] maps ONNX Runtime messages. Planning
// functions return plain errors naming the model input and dimension at
// fault; those that mean "this backend cannot run this model" wrap
// [bridge.ErrUnsupported] so that the executor moves on.
//
// # Health signals for the executor
//
// [ReadHealth] gathers thermal state, memory pressure and the GPU working
// set; [Health.Advice] turns them into the policy of the design brief:
// serious heat halves accelerator concurrency and batch size, critical heat
// pauses accelerated work, memory warning shrinks batches and evicts cached
// models, critical memory stops admitting new batches.
package apple
