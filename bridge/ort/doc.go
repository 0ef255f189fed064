// Package ort runs ONNX models through ONNX Runtime's C API. It registers
// the `cpu` backend (ONNX Runtime's CPU execution provider) from init, and
// [NewBackend] builds other backends on the same bridge with an execution
// provider in front, which is how the Apple bridge runs .onnx models on the
// Neural Engine and the GPU through the CoreML provider:
//
//	ort.NewBackend("ane", map[string]string{
//		"ep": "CoreML", "ep.MLComputeUnits": "CPUAndNeuralEngine",
//	}, caps)
//
// # Loading
//
// Nothing links against ONNX Runtime: the library is opened with dlopen on
// the first Available or Open (init does no work). The search order is
// $PIPE_ORT_LIB, then ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/onnxruntime/1.30.0/
// (where scripts/install-ort.sh puts it), then the system library path
// (libonnxruntime.so.1, libonnxruntime.so; libonnxruntime.dylib on macOS).
// When nothing loads, Available's error wraps [bridge.ErrUnavailable] and
// lists every place tried with the loader's reason. The library must serve
// C API version 13 (ONNX Runtime 1.13 or later); pipe pins [Version].
// One process-wide OrtEnv, logging at the level PIPE_ORT_LOG_LEVEL sets (fatal by default), is created with the
// first load and lives until the process exits.
//
// Options map to ONNX Runtime's session options: IntraOpThreads,
// InterOpThreads, GraphOpt (disable, basic, extended, all) and Spinning
// (session.intra_op.allow_spinning and session.inter_op.allow_spinning).
// Options.Extra may name an execution provider with "ep" and give its
// options as "ep.<key>"; they are passed to
// SessionOptionsAppendExecutionProvider. "ort.disable_cpu_ep_fallback" =
// "1" sets session.disable_cpu_ep_fallback, so session creation fails when
// a node would fall back from the provider to the CPU; "strict" = "1" (the
// executor's strict placement) implies it on a backend with a provider.
// "dim.<name>" = "<size>" pins every dimension named name to size
// (AddFreeDimensionOverrideByName): the session then reports, and
// accepts, only that size.
//
// # Ownership
//
// Session.Run borrows its inputs: numeric Data is wrapped in place, without
// a copy, for the length of the call. Data from C memory (arrow's
// mallocator) is passed as is; Go memory is pinned with [runtime.Pinner]
// until Run returns, and ONNX Runtime keeps no pointer to it afterwards.
// String inputs are copied. Outputs are copied into buffers from the
// allocator given to Run and belong to the caller, who frees each non-nil
// Data with it; outputs that are not tensors (a scikit-learn sequence of
// maps) are returned as zero tensors and are never read.
//
// A session must be closed. A finalizer only reports (through log/slog) and
// releases a session that was garbage-collected while open. [LiveObjects]
// counts the native sessions and values alive, for leak tests.
//
// # Concurrency
//
// Backends and sessions are safe for concurrent use: ONNX Runtime allows
// concurrent Run calls on one session. Close waits for running Runs and a
// Run after Close fails with [ErrClosed].
//
// Run executes the C call on the calling goroutine. When its context can be
// cancelled, Run creates run options for the call and starts one watcher
// goroutine that sets their terminate flag if the context is done; Run stops
// and waits for the watcher before it returns, so no goroutine outlives it.
// A terminated run returns an error of class [bridge.ClassCanceled] that
// wraps ctx.Err(). Loading a model cannot be interrupted.
//
// # Errors
//
// Every ONNX Runtime status becomes a [*bridge.Error] that keeps the
// OrtErrorCode in Code, the runtime's message in Msg, the operation in Op
// ("load library", "session options", "load", "model info", "create input",
// "run", "read output"), and a Class chosen from the operation, code and
// message: invalid arguments at run time are invalid input; a missing,
// unparsable or invalid model file is model corrupt; NOT_IMPLEMENTED and
// EP_FAIL are unsupported; allocation failures are resource exhausted; a
// terminated run is canceled. Inputs are checked against the model before
// the call, and a wrong count, element type, rank, fixed dimension or data
// length is an invalid-input error naming the input.
//
// # Build
//
// The cgo files carry `//go:build cgo` and link only -ldl. The C shim
// (shim.c, shim.h) is the only code that calls ONNX Runtime; it includes a
// reduced copy of onnxruntime_c_api.h (include/, MIT licence). Without cgo,
// stub.go registers the same backends, whose Available explains that pipe
// was built without cgo.
package ort
