package metal

import _ "embed"

// kernelSource is the Metal Shading Language source of the kernels,
// compiled at run time (no Xcode toolchain is needed to build pipe).
//
//go:embed kernels.metal
var kernelSource string

// Kernel is one of the built-in vector kernels; the value is the shim's
// kernel index.
type Kernel int32

// The kernels. Their names are what Open takes as the model path.
const (
	Normalize Kernel = iota // L2-normalise each row
	MatMul                  // multiply each row by a constant matrix
	Softmax                 // softmax of each row
	TopK                    // the k largest values of each row and their indices
)

var kernelNames = [...]string{"normalize", "matmul", "softmax", "topk"}

func (k Kernel) String() string {
	if k >= 0 && int(k) < len(kernelNames) {
		return kernelNames[k]
	}
	return "kernel(?)"
}

// function returns the MSL function name of the kernel.
func (k Kernel) function() string { return "pipe_" + k.String() }

// ParseKernel returns the kernel named s.
func ParseKernel(s string) (Kernel, bool) {
	for i, n := range kernelNames {
		if n == s {
			return Kernel(i), true
		}
	}
	return 0, false
}

// MaxTopK is the largest k the topk kernel takes.
const MaxTopK = 256
