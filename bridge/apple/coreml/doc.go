// Package coreml provides the ane and mps backends: Core ML with compute
// units CPU+Neural Engine and CPU+GPU. Importing it registers both with
// package bridge.
//
// A .onnx model runs through ONNX Runtime's CoreML execution provider
// (package bridge/ort, options from [apple.EPOptions]); a .mlpackage,
// .mlmodel or .mlmodelc model runs through a small Objective-C shim
// (shim_darwin.m, shim.h): compiled once into a stable, content-keyed cache
// folder ([apple.CacheKey]), loaded with the backend's compute units,
// described, prewarmed, then run on copies of the inputs. [ComputePlan]
// reports Core ML's expected per-operation devices (macOS 14.4+) for `pipe
// inspect --backend ane MODEL`.
//
// Only darwin builds with cgo run models. Every other build registers both
// backends as unavailable, with the reason.
//
// # Ownership
//
// Session.Run borrows its input tensors for the call only. Their Data is
// pinned while the shim copies it into malloc'd memory that each input
// MLMultiArray owns (its deallocator frees it, padding rows are zero-filled
// there), because Core ML may retain an input array after a prediction
// returns; so neither Core ML nor the shim refers to Go memory once Run
// returns. The copy costs one memcpy per input per prediction.
// Outputs are copied out of Core ML's buffers (honouring strides, widening
// float16 to float32) into memory from the allocator passed to Run, owned by
// the caller. Sessions own a retained MLModel, released by Close; a
// finalizer only reports sessions that were never closed.
//
// # Concurrency
//
// Backends are safe for concurrent use. Whether one MLModel takes
// concurrent predictions is undocumented, so a Session serialises its Run
// calls with a mutex; scale out with one session per worker. Calls block in
// the shim (asynchronous Core ML calls wait on a semaphore with a timeout);
// Core ML predictions cannot be interrupted, so a cancelled context is
// checked before each call and the call then runs to completion.
//
// # Errors
//
// The shim reports NSError domains and codes as POD; they become
// [*bridge.Error] through [apple.Classify]. ONNX Runtime errors are refined
// with [apple.Reclassify]. Models the Neural Engine cannot take fail with
// [bridge.ErrUnsupported] so that the executor moves to the next backend.
package coreml
