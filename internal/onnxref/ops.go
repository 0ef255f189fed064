package onnxref

import (
	"fmt"
	"math"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// opFunc evaluates one node on its arguments (nil for omitted optional
// inputs) and returns its outputs in order.
type opFunc func(c *call, args []*value) ([]*value, error)

// call carries what an operator needs besides its arguments.
type call struct {
	node  *onnx.Node
	opset int64 // default-domain opset of the model
}

func (c *call) int(name string, def int64) (int64, error) {
	a := c.node.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.Type != onnx.AttrInt {
		return 0, fmt.Errorf("%w: attribute %q is %d, want INT", ErrEval, name, a.Type)
	}
	return a.I, nil
}

func (c *call) float(name string, def float64) (float64, error) {
	a := c.node.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.Type != onnx.AttrFloat {
		return 0, fmt.Errorf("%w: attribute %q is %d, want FLOAT", ErrEval, name, a.Type)
	}
	return float64(a.F), nil
}

func (c *call) ints(name string, def []int64) ([]int64, error) {
	a := c.node.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.Type != onnx.AttrInts {
		return nil, fmt.Errorf("%w: attribute %q is %d, want INTS", ErrEval, name, a.Type)
	}
	return a.Ints, nil
}

func (c *call) str(name, def string) (string, error) {
	a := c.node.Attr(name)
	if a == nil {
		return def, nil
	}
	if a.Type != onnx.AttrString {
		return "", fmt.Errorf("%w: attribute %q is %d, want STRING", ErrEval, name, a.Type)
	}
	return string(a.S), nil
}

// args checks the number of arguments, from min to max; the first min
// must be present.
func args(vs []*value, lo, hi int) error {
	if len(vs) < lo || len(vs) > hi {
		return fmt.Errorf("%w: %d inputs, want %d to %d", ErrEval, len(vs), lo, hi)
	}
	for k := range lo {
		if vs[k] == nil {
			return fmt.Errorf("%w: input %d is required", ErrEval, k)
		}
	}
	return nil
}

func wantFloat(v *value, what string) error {
	if classOf(v.dt) != classFloat {
		return fmt.Errorf("%w: %s is %v, want float or double", ErrUnsupported, what, v.dt)
	}
	return nil
}

type opEntry struct {
	domain string
	fn     opFunc
}

// ops is every operator the reference knows. Div takes only floats:
// integer division's rounding and division by zero differ between
// runtimes, and no test model divides integers.
var ops = map[string]opEntry{
	"Add":               {"", binary(func(a, b float64) float64 { return a + b }, func(a, b int64) int64 { return a + b })},
	"Mul":               {"", binary(func(a, b float64) float64 { return a * b }, func(a, b int64) int64 { return a * b })},
	"Sub":               {"", binary(func(a, b float64) float64 { return a - b }, func(a, b int64) int64 { return a - b })},
	"Div":               {"", binary(func(a, b float64) float64 { return a / b }, nil)},
	"Pow":               {"", pow},
	"Sqrt":              {"", unary(math.Sqrt)},
	"Erf":               {"", unary(math.Erf)},
	"Tanh":              {"", unary(math.Tanh)},
	"ReduceMean":        {"", reduceMean},
	"Shape":             {"", shapeOp},
	"Reshape":           {"", reshape},
	"Transpose":         {"", transpose},
	"Gather":            {"", gather},
	"Slice":             {"", slice},
	"Relu":              {"", unary(func(x float64) float64 { return math.Max(x, 0) })},
	"Sigmoid":           {"", unary(sigmoid)},
	"Gemm":              {"", gemm},
	"MatMul":            {"", matmul},
	"Softmax":           {"", softmax},
	"Conv":              {"", conv},
	"GlobalAveragePool": {"", globalAveragePool},
	"Flatten":           {"", flatten},
	"Cast":              {"", cast},
	"ArgMax":            {"", argmax},
	"Unsqueeze":         {"", unsqueeze},
	"ZipMap":            {onnx.DomainML, zipmap},
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

// unary applies f to every element of a float tensor.
func unary(f func(float64) float64) opFunc {
	return func(_ *call, vs []*value) ([]*value, error) {
		if err := args(vs, 1, 1); err != nil {
			return nil, err
		}
		x := vs[0]
		if err := wantFloat(x, "input"); err != nil {
			return nil, err
		}
		y := newValue(x.dt, x.shape)
		for k, v := range x.f {
			y.f[k] = f(v)
		}
		return []*value{y}, nil
	}
}

// binary applies f (or fi for integers; nil when the operator takes only
// floats) elementwise with numpy broadcasting; both inputs must have the
// same type.
func binary(f func(a, b float64) float64, fi func(a, b int64) int64) opFunc {
	return func(_ *call, vs []*value) ([]*value, error) {
		if err := args(vs, 2, 2); err != nil {
			return nil, err
		}
		a, b := vs[0], vs[1]
		if a.dt != b.dt {
			return nil, fmt.Errorf("%w: input types %v and %v differ", ErrEval, a.dt, b.dt)
		}
		shape, err := broadcastShape(a.shape, b.shape)
		if err != nil {
			return nil, err
		}
		ia, ib := broadcastIndex(a.shape, shape), broadcastIndex(b.shape, shape)
		y := newValue(a.dt, shape)
		switch classOf(a.dt) {
		case classFloat:
			for k := range y.f {
				y.f[k] = f(a.f[ia[k]], b.f[ib[k]])
			}
		case classInt:
			if fi == nil {
				return nil, fmt.Errorf("%w: integer inputs (%v)", ErrUnsupported, a.dt)
			}
			for k := range y.i {
				y.i[k] = fi(a.i[ia[k]], b.i[ib[k]])
			}
		default:
			return nil, fmt.Errorf("%w: arithmetic on %v", ErrUnsupported, a.dt)
		}
		return []*value{y}, nil
	}
}

// softmax normalises along an axis (opset 13 and later), or over the 2-D
// coercion at axis (earlier opsets).
func softmax(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 1); err != nil {
		return nil, err
	}
	x := vs[0]
	if err := wantFloat(x, "input"); err != nil {
		return nil, err
	}
	def := int64(-1)
	if c.opset < 13 {
		def = 1
	}
	a, err := c.int("axis", def)
	if err != nil {
		return nil, err
	}
	ax, err := axis(a, len(x.shape))
	if err != nil {
		return nil, err
	}
	// outer × n × inner, normalising over n.
	outer, n, inner := size(x.shape[:ax]), int(x.shape[ax]), size(x.shape[ax+1:])
	if c.opset < 13 {
		n, inner = n*inner, 1
	}
	y := newValue(x.dt, x.shape)
	for o := range outer {
		for in := range inner {
			base := o*n*inner + in
			m := math.Inf(-1)
			for k := range n {
				m = math.Max(m, x.f[base+k*inner])
			}
			sum := 0.0
			for k := range n {
				e := math.Exp(x.f[base+k*inner] - m)
				y.f[base+k*inner] = e
				sum += e
			}
			for k := range n {
				y.f[base+k*inner] /= sum
			}
		}
	}
	return []*value{y}, nil
}

// flatten reshapes to [prod(shape[:axis]), prod(shape[axis:])].
func flatten(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 1); err != nil {
		return nil, err
	}
	x := vs[0]
	a, err := c.int("axis", 1)
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	if a < -int64(r) || a > int64(r) {
		return nil, fmt.Errorf("%w: axis %d out of range for rank %d", ErrEval, a, r)
	}
	if a < 0 {
		a += int64(r)
	}
	y := *x
	y.shape = []int64{int64(size(x.shape[:a])), int64(size(x.shape[a:]))}
	return []*value{&y}, nil
}

// cast converts to the type named by the "to" attribute. Conversions to
// float round to float32; to integers truncate toward zero and wrap to the
// width of the target type.
func cast(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 1); err != nil {
		return nil, err
	}
	x := vs[0]
	to, err := c.int("to", 0)
	if err != nil {
		return nil, err
	}
	dt := onnx.DataType(to)
	if classOf(dt) == classNone || classOf(x.dt) == classNone {
		return nil, fmt.Errorf("%w: cast from %v to %v", ErrUnsupported, x.dt, dt)
	}
	y := newValue(dt, x.shape)
	for k := range x.len() {
		var f float64
		var i int64
		switch classOf(x.dt) {
		case classFloat:
			f = x.f[k]
			if !math.IsNaN(f) && f > math.MinInt64 && f < math.MaxInt64 {
				i = int64(f)
			}
		case classInt:
			f, i = float64(x.i[k]), x.i[k]
		case classBool:
			if x.b[k] {
				f, i = 1, 1
			}
		}
		switch classOf(dt) {
		case classFloat:
			if dt == onnx.Float {
				f = round32(f)
			}
			y.f[k] = f
		case classInt:
			y.i[k] = wrap(i, dt)
		case classBool:
			y.b[k] = f != 0
		}
	}
	return []*value{y}, nil
}

// wrap truncates i to the width of an integer type.
func wrap(i int64, dt onnx.DataType) int64 {
	switch dt {
	case onnx.Int8:
		return int64(int8(i))
	case onnx.Uint8:
		return int64(uint8(i))
	case onnx.Int16:
		return int64(int16(i))
	case onnx.Uint16:
		return int64(uint16(i))
	case onnx.Int32:
		return int64(int32(i))
	case onnx.Uint32:
		return int64(uint32(i))
	}
	return i
}

// argmax returns the index of the largest value along an axis (the first
// one, or the last with select_last_index=1).
func argmax(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 1); err != nil {
		return nil, err
	}
	x := vs[0]
	if classOf(x.dt) == classBool || classOf(x.dt) == classNone {
		return nil, fmt.Errorf("%w: ArgMax of %v", ErrUnsupported, x.dt)
	}
	a, err := c.int("axis", 0)
	if err != nil {
		return nil, err
	}
	keep, err := c.int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	last, err := c.int("select_last_index", 0)
	if err != nil {
		return nil, err
	}
	ax, err := axis(a, len(x.shape))
	if err != nil {
		return nil, err
	}
	if x.shape[ax] == 0 {
		return nil, fmt.Errorf("%w: ArgMax over an empty axis", ErrEval)
	}
	get := func(k int) float64 {
		if x.f != nil {
			return x.f[k]
		}
		return float64(x.i[k])
	}
	outer, n, inner := size(x.shape[:ax]), int(x.shape[ax]), size(x.shape[ax+1:])
	shape := append([]int64{}, x.shape[:ax]...)
	if keep != 0 {
		shape = append(shape, 1)
	}
	shape = append(shape, x.shape[ax+1:]...)
	y := newValue(onnx.Int64, shape)
	for o := range outer {
		for in := range inner {
			base := o*n*inner + in
			best, bi := get(base), 0
			for k := 1; k < n; k++ {
				v := get(base + k*inner)
				if v > best || (last != 0 && v == best) {
					best, bi = v, k
				}
			}
			y.i[o*inner+in] = int64(bi)
		}
	}
	return []*value{y}, nil
}

// unsqueeze inserts size-1 dimensions at the given axes (an input from
// opset 13, an attribute before).
func unsqueeze(c *call, vs []*value) ([]*value, error) {
	var axes []int64
	if c.opset >= 13 {
		if err := args(vs, 2, 2); err != nil {
			return nil, err
		}
		if classOf(vs[1].dt) != classInt {
			return nil, fmt.Errorf("%w: axes are %v, want int64", ErrEval, vs[1].dt)
		}
		axes = vs[1].i
	} else {
		if err := args(vs, 1, 1); err != nil {
			return nil, err
		}
		var err error
		if axes, err = c.ints("axes", nil); err != nil {
			return nil, err
		}
	}
	x := vs[0]
	r := len(x.shape) + len(axes)
	ins := make([]bool, r)
	for _, a := range axes {
		ax, err := axis(a, r)
		if err != nil {
			return nil, err
		}
		if ins[ax] {
			return nil, fmt.Errorf("%w: axis %d repeated", ErrEval, a)
		}
		ins[ax] = true
	}
	shape := make([]int64, 0, r)
	k := 0
	for _, one := range ins {
		if one {
			shape = append(shape, 1)
		} else {
			shape = append(shape, x.shape[k])
			k++
		}
	}
	y := *x
	y.shape = shape
	return []*value{&y}, nil
}

// zipmap produces a sequence of maps, which the reference's Tensor cannot
// hold.
func zipmap(*call, []*value) ([]*value, error) {
	return nil, fmt.Errorf("%w: ZipMap produces a sequence of maps, which the reference does not represent; request the tensor outputs by name", ErrUnsupported)
}
