package testmodels

import (
	"errors"
	"fmt"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// DeepDims are the layer widths of the serving benchmark's deep MLP:
// 32 -> 2048 -> 2048 -> 2048 -> 8, about 8.5 million weights (34 MB), so
// that one one-row call costs more than a request's HTTP and JSON handling.
var DeepDims = []int64{32, 2048, 2048, 2048, 8}

// ErrDeepDims is returned by [DeepMLP] for fewer than two widths or a width
// that is not positive.
var ErrDeepDims = errors.New("deep mlp: dims")

// DeepMLP builds a multi-layer perceptron with the given layer widths
// (dims[0] inputs, dims[len-1] outputs): x [N, dims[0]] -> Gemm+Relu for
// each hidden width -> Gemm -> Softmax -> probs [N, dims[len-1]]. Weights
// are uniform in ±1/sqrt(fan-in) from a splitmix64 generator seeded with
// seed, so the same arguments give the same bytes. It is not one of the
// committed models (testdata/models): the benchmark writes it at bench time.
// The model is validated and survives a decode and re-encode; the reference
// run of [Files] is left to the caller (it takes seconds at full size).
func DeepMLP(dims []int64, seed uint64) ([]byte, error) {
	if len(dims) < 2 {
		return nil, fmt.Errorf("%w: need at least 2 widths, got %v", ErrDeepDims, dims)
	}
	for i, d := range dims {
		if d <= 0 {
			return nil, fmt.Errorf("%w: width %d is %d, want > 0", ErrDeepDims, i, d)
		}
	}
	r := &rng{s: seed}
	g := onnx.NewGraph("deep_mlp")
	g.AddInput(onnx.TensorValue("x", onnx.Float, n, onnx.Fix(dims[0])))
	x := "x"
	last := len(dims) - 2
	for i := 0; i < last; i++ {
		fc := "fc" + itoa(i+1)
		gemm(g, r, fc, x, fc, dims[i], dims[i+1])
		x = "relu" + itoa(i+1)
		g.AddNode("Relu", []string{fc}, []string{x})
	}
	gemm(g, r, "fc"+itoa(last+1), x, "logits", dims[last], dims[last+1])
	g.AddNode("Softmax", []string{"logits"}, []string{"probs"}, onnx.IntAttr("axis", -1))
	g.AddOutput(onnx.TensorValue("probs", onnx.Float, n, onnx.Fix(dims[last+1])))
	m := model(g, fmt.Sprintf("deep perceptron %v with softmax output", dims))
	m.MetadataProps = []onnx.StringStringEntry{{Key: "generator", Value: "internal/cmd/deepmlp"}}
	if err := onnx.Validate(m); err != nil {
		return nil, fmt.Errorf("deep mlp: %w", err)
	}
	b := m.Marshal()
	if _, err := onnx.Decode(b); err != nil {
		return nil, fmt.Errorf("deep mlp: decode: %w", err)
	}
	return b, nil
}
