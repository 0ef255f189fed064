// Package onnx reads and writes ONNX model files without generated code:
// plain Go structs for the part of onnx.proto pipe needs ([Model], [Graph],
// [Node], [Attribute], [Tensor], [ValueInfo], [Type]), an encoder and a
// decoder over google.golang.org/protobuf/encoding/protowire, a small
// builder API for graphs and initializers, a plausibility check
// ([Validate]), and helpers that describe a model file without running it
// ([ReadOpset], [ReadInfo]).
//
// Field numbers follow onnx/onnx's onnx.proto (checked against the file).
// Fields the structs do not hold (sparse tensors, graph-valued attributes,
// training info, external data) are skipped when decoding and so are lost
// on re-encoding.
//
// # Encoding
//
// [Model.Marshal] writes fields in field-number order, packed where
// onnx.proto says packed, so the same model gives the same bytes every
// time; testdata/models relies on that.
//
// # Decoding
//
// [Decode] never panics on arbitrary bytes (FuzzDecode checks it), accepts
// packed and unpacked repeated scalars, bounds type nesting, and allocates
// in proportion to the input size. The returned model does not alias the
// input.
//
// # Ownership and concurrency
//
// The structs are plain values with no hidden state; a [Model] may be read
// from several goroutines at once, and callers that modify one must not
// share it meanwhile.
//
// # Errors
//
// Malformed bytes give a [*DecodeError] (path of the field, byte offset)
// that unwraps to [ErrMalformed]; [ReadFile] adds the file path. [Validate]
// joins one error per problem, each wrapping [ErrInvalid]. Tensor data that
// does not match its dims or type wraps [ErrTensorData].
package onnx
