// Package onnxref is a small pure-Go ONNX interpreter, independent of ONNX
// Runtime, used as a reference in tests: it loads a model with
// internal/onnx and evaluates it on float32, float64, int64 and bool
// inputs.
//
//	ref, err := onnxref.Load("testdata/models/mlp.onnx")
//	outs, err := ref.Run(map[string]onnxref.Tensor{"x": {Shape: []int64{1, 32}, F32: x}})
//
// It implements the operators pipe's test models use, in the default
// domain: Add, Sub, Mul (numpy broadcasting, floats and integers), Div and
// Pow (floats; Pow's exponent may be an integer), Relu, Sigmoid, Sqrt, Erf,
// Tanh, Gemm (alpha, beta, transA, transB), MatMul (numpy semantics),
// Softmax (opset 13 axis semantics, and the 2-D coercion of earlier
// opsets), ReduceMean (axes as an attribute, or as an input from opset 18),
// Conv (2-D NCHW, pads, strides, dilations, group 1), GlobalAveragePool,
// Flatten, Cast, ArgMax, Unsqueeze, and the shape operators the text
// encoders use, on every type: Shape (start, end), Reshape (0 and -1,
// allowzero), Transpose, Gather (any axis, negative indices) and Slice
// (opset 10 inputs, negative steps, clamped bounds). ZipMap (ai.onnx.ml) is known but not evaluated: it
// produces a sequence of maps, which [Tensor] cannot hold; ask [Ref.Run]
// for the tensor outputs by name and the nodes behind ZipMap are skipped.
// Any other operator makes [New] fail with [ErrUnsupported].
//
// # Precision
//
// Floating-point values are computed in float64 throughout (initializers
// and float32 inputs are exact in float64) and rounded to float32 only on
// output and by Cast to float, so results are at least as accurate as any
// float32 runtime; compare with a tolerance of a few float32 ulps scaled
// by the magnitude.
//
// # Ownership and concurrency
//
// Run copies its inputs and returns fresh slices that belong to the caller.
// A [Ref] is immutable after [New], so Run may be called from several
// goroutines at once. Run is not cancellable; the reference is for small
// inputs.
//
// # Errors
//
// Inputs that do not match the model (missing, unknown, wrong type or
// shape, conflicting symbolic dimensions) wrap [ErrInput]; an unimplemented
// operator or type wraps [ErrUnsupported]; a failure inside a node is a
// [*NodeError] naming the node, wrapping [ErrEval] or [ErrUnsupported].
package onnxref
