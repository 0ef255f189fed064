package metal

import (
	"fmt"
	"strconv"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
)

// ExtraK is the Options.Extra key holding topk's k.
const ExtraK = "k"

// backend is the metal backend; the platform files add Available and Open.
type backend struct {
	platform
}

func init() { bridge.Register(&backend{}) }

// Name returns "metal".
func (b *backend) Name() string { return apple.BackendMetal }

// Capabilities describes the backend: built-in kernels over float32. It
// opens no model format and so has no place in `backends: [auto]`.
func (b *backend) Capabilities() bridge.Capabilities {
	c := bridge.Capabilities{
		ElemTypes:          []bridge.ElemType{bridge.Float32},
		Kernels:            []string{Normalize.String(), MatMul.String(), Softmax.String(), TopK.String()},
		Accelerator:        true,
		DefaultConcurrency: 2,
	}
	if caps, err := apple.Probe(); err == nil {
		for _, d := range caps.Devices() {
			if d.Kind == "gpu" {
				c.Devices = append(c.Devices, d)
			}
		}
	}
	return c
}

// spec is a validated kernel request.
type spec struct {
	kernel Kernel
	k      int // topk only
}

func parseSpec(path string, opts bridge.Options) (spec, error) {
	kern, ok := ParseKernel(path)
	if !ok {
		return spec{}, &bridge.Error{Backend: apple.BackendMetal, Op: apple.OpLoad, Class: bridge.ClassUnsupported,
			Msg: fmt.Sprintf("unknown kernel %q (want normalize, matmul, softmax or topk)", path)}
	}
	s := spec{kernel: kern}
	if kern == TopK {
		k, err := strconv.Atoi(opts.Extra[ExtraK])
		if err != nil || k < 1 || k > MaxTopK {
			return spec{}, &bridge.Error{Backend: apple.BackendMetal, Op: apple.OpLoad, Class: bridge.ClassUnsupported,
				Msg: fmt.Sprintf("topk needs Extra %q between 1 and %d, got %q", ExtraK, MaxTopK, opts.Extra[ExtraK])}
		}
		s.k = k
	}
	return s, nil
}

// info describes a kernel as a model.
func (s spec) info() bridge.ModelInfo {
	row := func(name string, t bridge.ElemType, d string) bridge.TensorInfo {
		return bridge.TensorInfo{Name: name, Type: t, Kind: "tensor", Shape: bridge.Shape{{Size: -1, Name: "batch"}, {Size: -1, Name: d}}}
	}
	mi := bridge.ModelInfo{Format: "metal-kernel", Description: s.kernel.String(), Inputs: []bridge.TensorInfo{row("x", bridge.Float32, "k")}}
	switch s.kernel {
	case MatMul:
		mi.Inputs = append(mi.Inputs, bridge.TensorInfo{Name: "w", Type: bridge.Float32, Kind: "tensor",
			Shape: bridge.Shape{{Size: -1, Name: "k"}, {Size: -1, Name: "m"}}})
		mi.Outputs = []bridge.TensorInfo{row("y", bridge.Float32, "m")}
	case TopK:
		v, i := row("values", bridge.Float32, ""), row("indices", bridge.Int32, "")
		v.Shape[1], i.Shape[1] = bridge.Dim{Size: int64(s.k)}, bridge.Dim{Size: int64(s.k)}
		mi.Outputs = []bridge.TensorInfo{v, i}
	default:
		mi.Outputs = []bridge.TensorInfo{row("y", bridge.Float32, "k")}
	}
	return mi
}

// dims checks Run's inputs and returns n, k and m (matmul's columns).
func (s spec) dims(in []bridge.Tensor) (n, k, m int64, err error) {
	bad := func(format string, args ...any) error {
		return &bridge.Error{Backend: apple.BackendMetal, Op: apple.OpKernel, Class: bridge.ClassInvalidInput, Msg: fmt.Sprintf(format, args...)}
	}
	want := 1
	if s.kernel == MatMul {
		want = 2
	}
	if len(in) != want {
		return 0, 0, 0, bad("%s takes %d inputs, got %d", s.kernel, want, len(in))
	}
	for i, t := range in {
		if t.Type != bridge.Float32 || len(t.Shape) != 2 || int64(len(t.Data)) != t.NumElements()*4 {
			return 0, 0, 0, bad("%s input %d: want a 2-D float32 tensor, got %s %v over %d bytes", s.kernel, i, t.Type, t.Shape, len(t.Data))
		}
	}
	n, k = in[0].Shape[0], in[0].Shape[1]
	if s.kernel == MatMul {
		if in[1].Shape[0] != k {
			return 0, 0, 0, bad("matmul: x has %d columns but the matrix has %d rows", k, in[1].Shape[0])
		}
		m = in[1].Shape[1]
	}
	if s.kernel == TopK && int64(s.k) > k {
		return 0, 0, 0, bad("topk: k = %d but rows have %d values", s.k, k)
	}
	return n, k, m, nil
}
