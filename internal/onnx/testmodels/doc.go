// Package testmodels builds the ONNX models in testdata/models: the program
// testdata/gen/models writes them, and this package's test fails if the
// committed files differ by a single byte from what it builds (the go tool
// skips testdata folders in ./..., so the check lives here).
//
// Every weight comes from a fixed-seed splitmix64 generator and the encoder
// writes fields in a fixed order, so the bytes never change unless the
// model definitions do. The README in testdata/models lists each model,
// its inputs and outputs.
//
// # Concurrency
//
// [Files] and [Write] hold no shared state and may be called concurrently.
//
// # Errors
//
// A model that fails validation, the reference run or the encode round trip
// is reported by file name; that is a bug in this package.
package testmodels
