package onnxref

import (
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// f32 is a shorthand for a float32 input.
func f32(shape []int64, v ...float32) Tensor { return Tensor{Shape: shape, F32: v} }

func elemOf(t Tensor) onnx.DataType {
	switch {
	case t.F64 != nil:
		return onnx.Double
	case t.I64 != nil:
		return onnx.Int64
	case t.Bool != nil:
		return onnx.Bool
	}
	return onnx.Float
}

// runOp builds a one-node model applying op to inputs (named in0, in1, ...;
// consts become initializers named c0, c1, ... after them) and runs it.
func runOp(t *testing.T, op string, out onnx.DataType, inputs []Tensor, consts []*onnx.Tensor, attrs ...*onnx.Attribute) (Tensor, error) {
	t.Helper()
	g := onnx.NewGraph(op)
	feed := map[string]Tensor{}
	var names []string
	for i, in := range inputs {
		name := "in" + string(rune('0'+i))
		dims := make([]onnx.Dim, len(in.Shape))
		for k, d := range in.Shape {
			dims[k] = onnx.Fix(d)
		}
		g.AddInput(onnx.TensorValue(name, elemOf(in), dims...))
		feed[name] = in
		names = append(names, name)
	}
	for i, c := range consts {
		c.Name = "c" + string(rune('0'+i))
		g.AddInitializer(c)
		names = append(names, c.Name)
	}
	g.AddNode(op, names, []string{"y"}, attrs...)
	g.AddOutput(onnx.Value("y", &onnx.Type{Tensor: &onnx.TensorType{ElemType: out}}))
	r, err := New(onnx.NewModel(g))
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Run(feed)
	if err != nil {
		return Tensor{}, err
	}
	return res["y"], nil
}

func near(a, b []float32, tol float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i])-float64(b[i])) > tol {
			return false
		}
	}
	return true
}

func TestFloatOps(t *testing.T) {
	a22 := f32([]int64{2, 2}, 1, 2, 3, 4)
	b22 := f32([]int64{2, 2}, 5, 6, 7, 8)
	tests := []struct {
		name   string
		op     string
		inputs []Tensor
		consts []*onnx.Tensor
		attrs  []*onnx.Attribute
		shape  []int64
		want   []float32
	}{
		// [[1,2],[3,4]]·[[5,6],[7,8]] = [[19,22],[43,50]].
		{"gemm", "Gemm", []Tensor{a22, b22}, nil, nil, []int64{2, 2}, []float32{19, 22, 43, 50}},
		{"gemm alpha beta bias", "Gemm", []Tensor{a22, b22, f32([]int64{2}, 1, -1)}, nil,
			[]*onnx.Attribute{onnx.FloatAttr("alpha", 2), onnx.FloatAttr("beta", 0.5)}, []int64{2, 2}, []float32{38.5, 43.5, 86.5, 99.5}},
		// Aᵀ·B = [[1,3],[2,4]]·B = [[26,30],[38,44]].
		{"gemm transA", "Gemm", []Tensor{a22, b22}, nil, []*onnx.Attribute{onnx.IntAttr("transA", 1)}, []int64{2, 2}, []float32{26, 30, 38, 44}},
		// A·Bᵀ = [[17,23],[39,53]].
		{"gemm transB", "Gemm", []Tensor{a22, b22}, nil, []*onnx.Attribute{onnx.IntAttr("transB", 1)}, []int64{2, 2}, []float32{17, 23, 39, 53}},
		{"gemm bias column", "Gemm", []Tensor{a22, b22, f32([]int64{2, 1}, 10, 20)}, nil, nil, []int64{2, 2}, []float32{29, 32, 63, 70}},
		{"matmul", "MatMul", []Tensor{f32([]int64{1, 3}, 1, 2, 3), f32([]int64{3, 2}, 1, 0, 0, 1, 1, 1)}, nil, nil, []int64{1, 2}, []float32{4, 5}},
		{"matmul vector", "MatMul", []Tensor{f32([]int64{3}, 1, 2, 3), f32([]int64{3, 1}, 1, 1, 1)}, nil, nil, []int64{1}, []float32{6}},
		{"matmul batch broadcast", "MatMul", []Tensor{f32([]int64{2, 1, 2}, 1, 2, 3, 4), f32([]int64{2, 1}, 1, 10)}, nil, nil, []int64{2, 1, 1}, []float32{21, 43}},
		{"add broadcast", "Add", []Tensor{f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6), f32([]int64{3}, 10, 20, 30)}, nil, nil, []int64{2, 3}, []float32{11, 22, 33, 14, 25, 36}},
		{"mul both ways", "Mul", []Tensor{f32([]int64{2, 1}, 2, 3), f32([]int64{1, 3}, 1, 10, 100)}, nil, nil, []int64{2, 3}, []float32{2, 20, 200, 3, 30, 300}},
		{"relu", "Relu", []Tensor{f32([]int64{4}, -1, 0, 2, -0.5)}, nil, nil, []int64{4}, []float32{0, 0, 2, 0}},
		{"sigmoid", "Sigmoid", []Tensor{f32([]int64{3}, 0, 100, -100)}, nil, nil, []int64{3}, []float32{0.5, 1, 0}},
		// softmax([0, ln 3]) = [1/4, 3/4] on each row.
		{"softmax", "Softmax", []Tensor{f32([]int64{2, 2}, 0, float32(math.Log(3)), 5, 5+float32(math.Log(3)))}, nil, nil, []int64{2, 2}, []float32{0.25, 0.75, 0.25, 0.75}},
		{"softmax axis 0", "Softmax", []Tensor{f32([]int64{2, 1}, 0, float32(math.Log(3)))}, nil, []*onnx.Attribute{onnx.IntAttr("axis", 0)}, []int64{2, 1}, []float32{0.25, 0.75}},
		{"softmax large", "Softmax", []Tensor{f32([]int64{1, 2}, 1000, 1000)}, nil, nil, []int64{1, 2}, []float32{0.5, 0.5}},
		{"global average pool", "GlobalAveragePool", []Tensor{f32([]int64{1, 2, 2, 2}, 1, 2, 3, 4, 10, 10, 10, 14)}, nil, nil, []int64{1, 2, 1, 1}, []float32{2.5, 11}},
		{"flatten", "Flatten", []Tensor{f32([]int64{2, 1, 2}, 1, 2, 3, 4)}, nil, nil, []int64{2, 2}, []float32{1, 2, 3, 4}},
		{"flatten axis 0", "Flatten", []Tensor{f32([]int64{2, 2}, 1, 2, 3, 4)}, nil, []*onnx.Attribute{onnx.IntAttr("axis", 0)}, []int64{1, 4}, []float32{1, 2, 3, 4}},
		{"unsqueeze", "Unsqueeze", []Tensor{f32([]int64{3}, 1, 2, 3)}, []*onnx.Tensor{onnx.Int64Tensor("", []int64{2}, []int64{0, -1})}, nil, []int64{1, 3, 1}, []float32{1, 2, 3}},
		{"cast int to float", "Cast", []Tensor{{Shape: []int64{2}, I64: []int64{16777217, -3}}}, nil, []*onnx.Attribute{onnx.IntAttr("to", int64(onnx.Float))}, []int64{2}, []float32{16777216, -3}},
		{"cast bool to float", "Cast", []Tensor{{Shape: []int64{2}, Bool: []bool{true, false}}}, nil, []*onnx.Attribute{onnx.IntAttr("to", int64(onnx.Float))}, []int64{2}, []float32{1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runOp(t, tc.op, onnx.Float, tc.inputs, tc.consts, tc.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Shape, tc.shape) {
				t.Fatalf("shape %v, want %v", got.Shape, tc.shape)
			}
			if !near(got.F32, tc.want, 1e-6) {
				t.Fatalf("got %v, want %v", got.F32, tc.want)
			}
		})
	}
}

func TestConv(t *testing.T) {
	img := f32([]int64{1, 1, 3, 3}, 1, 2, 3, 4, 5, 6, 7, 8, 9)
	ones := onnx.FloatTensor("", []int64{1, 1, 3, 3}, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1})
	tests := []struct {
		name   string
		inputs []Tensor
		consts []*onnx.Tensor
		attrs  []*onnx.Attribute
		shape  []int64
		want   []float32
	}{
		// Sum of each pixel's 3x3 neighbourhood, zero padded.
		{"ones pad 1", []Tensor{img}, []*onnx.Tensor{ones}, []*onnx.Attribute{onnx.IntsAttr("pads", 1, 1, 1, 1)},
			[]int64{1, 1, 3, 3}, []float32{12, 21, 16, 27, 45, 33, 24, 39, 28}},
		{"ones valid", []Tensor{img}, []*onnx.Tensor{ones}, nil, []int64{1, 1, 1, 1}, []float32{45}},
		{"stride 2 with bias", []Tensor{img}, []*onnx.Tensor{ones, onnx.FloatTensor("", []int64{1}, []float32{-1})},
			[]*onnx.Attribute{onnx.IntsAttr("pads", 1, 1, 1, 1), onnx.IntsAttr("strides", 2, 2)},
			[]int64{1, 1, 2, 2}, []float32{11, 15, 23, 27}},
		// A 1x2 kernel [1,-1] on two channels summed, and a second filter.
		{"two channels two filters", []Tensor{f32([]int64{1, 2, 1, 3}, 1, 2, 4, 10, 20, 40)},
			[]*onnx.Tensor{onnx.FloatTensor("", []int64{2, 2, 1, 2}, []float32{1, -1, 1, -1, 0, 1, 0, 0})}, nil,
			[]int64{1, 2, 1, 2}, []float32{-11, -22, 2, 4}},
		{"dilation", []Tensor{f32([]int64{1, 1, 1, 5}, 1, 2, 3, 4, 5)},
			[]*onnx.Tensor{onnx.FloatTensor("", []int64{1, 1, 1, 2}, []float32{1, 1})},
			[]*onnx.Attribute{onnx.IntsAttr("dilations", 1, 2)}, []int64{1, 1, 1, 3}, []float32{4, 6, 8}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runOp(t, "Conv", onnx.Float, tc.inputs, tc.consts, tc.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Shape, tc.shape) || !near(got.F32, tc.want, 1e-6) {
				t.Fatalf("got %v %v, want %v %v", got.Shape, got.F32, tc.shape, tc.want)
			}
		})
	}
}

func TestIntegerOps(t *testing.T) {
	x := f32([]int64{2, 3}, 1, 5, 5, 7, -1, 7)
	tests := []struct {
		name   string
		op     string
		out    onnx.DataType
		inputs []Tensor
		attrs  []*onnx.Attribute
		want   Tensor
	}{
		{"argmax", "ArgMax", onnx.Int64, []Tensor{x}, []*onnx.Attribute{onnx.IntAttr("axis", 1), onnx.IntAttr("keepdims", 0)},
			Tensor{Shape: []int64{2}, I64: []int64{1, 0}}},
		{"argmax last keepdims", "ArgMax", onnx.Int64, []Tensor{x}, []*onnx.Attribute{onnx.IntAttr("axis", -1), onnx.IntAttr("select_last_index", 1)},
			Tensor{Shape: []int64{2, 1}, I64: []int64{2, 2}}},
		{"argmax axis 0", "ArgMax", onnx.Int64, []Tensor{x}, nil, Tensor{Shape: []int64{1, 3}, I64: []int64{1, 0, 1}}},
		{"cast float to int64", "Cast", onnx.Int64, []Tensor{f32([]int64{3}, 2.9, -2.9, 0)}, []*onnx.Attribute{onnx.IntAttr("to", int64(onnx.Int64))},
			Tensor{Shape: []int64{3}, I64: []int64{2, -2, 0}}},
		{"cast int to int32 wraps", "Cast", onnx.Int32, []Tensor{{Shape: []int64{1}, I64: []int64{1<<32 + 5}}}, []*onnx.Attribute{onnx.IntAttr("to", int64(onnx.Int32))},
			Tensor{Shape: []int64{1}, I64: []int64{5}}},
		{"cast to bool", "Cast", onnx.Bool, []Tensor{f32([]int64{3}, 0, 0.5, -1)}, []*onnx.Attribute{onnx.IntAttr("to", int64(onnx.Bool))},
			Tensor{Shape: []int64{3}, Bool: []bool{false, true, true}}},
		{"cast to double", "Cast", onnx.Double, []Tensor{{Shape: []int64{1}, I64: []int64{3}}}, []*onnx.Attribute{onnx.IntAttr("to", int64(onnx.Double))},
			Tensor{Shape: []int64{1}, F64: []float64{3}}},
		{"add int64", "Add", onnx.Int64, []Tensor{{Shape: []int64{2}, I64: []int64{1, 2}}, {Shape: []int64{1}, I64: []int64{40}}}, nil,
			Tensor{Shape: []int64{2}, I64: []int64{41, 42}}},
		{"add double", "Add", onnx.Double, []Tensor{{Shape: []int64{1}, F64: []float64{0.1}}, {Shape: []int64{1}, F64: []float64{0.2}}}, nil,
			Tensor{Shape: []int64{1}, F64: []float64{0.30000000000000004}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runOp(t, tc.op, tc.out, tc.inputs, nil, tc.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestOpErrors(t *testing.T) {
	tests := []struct {
		name   string
		op     string
		inputs []Tensor
		consts []*onnx.Tensor
		attrs  []*onnx.Attribute
		want   error
		msg    string
	}{
		{"gemm inner mismatch", "Gemm", []Tensor{f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6), f32([]int64{2, 2}, 1, 2, 3, 4)}, nil, nil, ErrEval, "inner dimensions differ"},
		{"gemm 3-D", "Gemm", []Tensor{f32([]int64{1, 1, 1}, 1), f32([]int64{1, 1}, 1)}, nil, nil, ErrEval, "2-D"},
		{"matmul mismatch", "MatMul", []Tensor{f32([]int64{1, 2}, 1, 2), f32([]int64{3, 1}, 1, 2, 3)}, nil, nil, ErrEval, "do not match"},
		{"add no broadcast", "Add", []Tensor{f32([]int64{2}, 1, 2), f32([]int64{3}, 1, 2, 3)}, nil, nil, ErrEval, "do not broadcast"},
		{"add mixed types", "Add", []Tensor{f32([]int64{1}, 1), {Shape: []int64{1}, I64: []int64{1}}}, nil, nil, ErrEval, "differ"},
		{"relu on ints", "Relu", []Tensor{{Shape: []int64{1}, I64: []int64{1}}}, nil, nil, ErrUnsupported, "want float"},
		{"softmax axis", "Softmax", []Tensor{f32([]int64{1, 2}, 1, 2)}, nil, []*onnx.Attribute{onnx.IntAttr("axis", 2)}, ErrEval, "axis 2 out of range"},
		{"conv group", "Conv", []Tensor{f32([]int64{1, 1, 1, 1}, 1)}, []*onnx.Tensor{onnx.FloatTensor("", []int64{1, 1, 1, 1}, []float32{1})},
			[]*onnx.Attribute{onnx.IntAttr("group", 2)}, ErrUnsupported, "group 2"},
		{"conv channels", "Conv", []Tensor{f32([]int64{1, 2, 1, 1}, 1, 2)}, []*onnx.Tensor{onnx.FloatTensor("", []int64{1, 1, 1, 1}, []float32{1})}, nil, ErrEval, "channels"},
		{"conv kernel too big", "Conv", []Tensor{f32([]int64{1, 1, 1, 1}, 1)}, []*onnx.Tensor{onnx.FloatTensor("", []int64{1, 1, 3, 3}, make([]float32, 9))}, nil, ErrEval, "output would be"},
		{"attribute type", "Flatten", []Tensor{f32([]int64{1}, 1)}, nil, []*onnx.Attribute{onnx.FloatAttr("axis", 1)}, ErrEval, "want INT"},
		{"unsqueeze repeated", "Unsqueeze", []Tensor{f32([]int64{1}, 1)}, []*onnx.Tensor{onnx.Int64Tensor("", []int64{2}, []int64{0, 0})}, nil, ErrEval, "repeated"},
		{"cast to string", "Cast", []Tensor{f32([]int64{1}, 1)}, nil, []*onnx.Attribute{onnx.IntAttr("to", int64(onnx.String))}, ErrUnsupported, "cast from float to string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runOp(t, tc.op, onnx.Float, tc.inputs, tc.consts, tc.attrs...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var ne *NodeError
			if !errors.As(err, &ne) || ne.OpType != tc.op {
				t.Fatalf("error %v is not a *NodeError for %s", err, tc.op)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

func TestBroadcastIndex(t *testing.T) {
	got := broadcastIndex([]int64{2, 1}, []int64{2, 3})
	if want := []int{0, 0, 0, 1, 1, 1}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	got = broadcastIndex([]int64{3}, []int64{2, 1, 3})
	if want := []int{0, 1, 2, 0, 1, 2}; !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

// i64 is a shorthand for an int64 tensor.
func i64(shape []int64, v ...int64) Tensor { return Tensor{Shape: shape, I64: v} }

// ints is a shorthand for a 1-D int64 initializer (shape and index
// arguments).
func ints(v ...int64) *onnx.Tensor { return onnx.Int64Tensor("", []int64{int64(len(v))}, v) }

// TestEncoderOps covers the operators the text encoders use, against
// values worked out by hand with numpy's semantics (broadcasting, negative
// axes and indices, clamped slice bounds).
func TestEncoderOps(t *testing.T) {
	m23 := f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6)
	grid := i64([]int64{3, 4}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
	axes := func(v ...int64) *onnx.Attribute { return onnx.IntsAttr("axes", v...) }
	tests := []struct {
		name   string
		op     string
		out    onnx.DataType
		inputs []Tensor
		consts []*onnx.Tensor
		attrs  []*onnx.Attribute
		want   Tensor
	}{
		{"sub broadcast", "Sub", onnx.Float, []Tensor{m23, f32([]int64{3}, 1, 1, 10)}, nil, nil, f32([]int64{2, 3}, 0, 1, -7, 3, 4, -4)},
		{"sub scalar minus tensor", "Sub", onnx.Float, []Tensor{f32(nil, 1), f32([]int64{2}, 0, 1)}, nil, nil, f32([]int64{2}, 1, 0)},
		{"sub int64", "Sub", onnx.Int64, []Tensor{i64([]int64{2}, 5, 7), i64([]int64{1}, 10)}, nil, nil, i64([]int64{2}, -5, -3)},
		{"div both ways", "Div", onnx.Float, []Tensor{f32([]int64{2, 1}, 1, 3), f32([]int64{1, 2}, 2, 4)}, nil, nil, f32([]int64{2, 2}, 0.5, 0.25, 1.5, 0.75)},
		{"sqrt", "Sqrt", onnx.Float, []Tensor{f32([]int64{3}, 0, 4, 2.25)}, nil, nil, f32([]int64{3}, 0, 2, 1.5)},
		// erf(1) = 0.8427007929497149, odd in x.
		{"erf", "Erf", onnx.Float, []Tensor{f32([]int64{3}, 0, 1, -1)}, nil, nil, f32([]int64{3}, 0, 0.8427007929497149, -0.8427007929497149)},
		// tanh(1) = 0.7615941559557649.
		{"tanh", "Tanh", onnx.Float, []Tensor{f32([]int64{3}, 0, 1, -1)}, nil, nil, f32([]int64{3}, 0, 0.7615941559557649, -0.7615941559557649)},
		{"pow float exponent", "Pow", onnx.Float, []Tensor{f32([]int64{3}, -3, 0.5, 2)}, []*onnx.Tensor{onnx.FloatTensor("", nil, []float32{2})}, nil, f32([]int64{3}, 9, 0.25, 4)},
		{"pow int exponent broadcast", "Pow", onnx.Float, []Tensor{f32([]int64{2, 1}, 2, 3)}, []*onnx.Tensor{ints(0, 1, 3)}, nil, f32([]int64{2, 3}, 1, 2, 8, 1, 3, 27)},
		{"reduce mean last axis", "ReduceMean", onnx.Float, []Tensor{m23}, nil, []*onnx.Attribute{axes(-1)}, f32([]int64{2, 1}, 2, 5)},
		{"reduce mean axis 0 no keepdims", "ReduceMean", onnx.Float, []Tensor{m23}, nil, []*onnx.Attribute{axes(0), onnx.IntAttr("keepdims", 0)}, f32([]int64{3}, 2.5, 3.5, 4.5)},
		{"reduce mean all", "ReduceMean", onnx.Float, []Tensor{m23}, nil, nil, f32([]int64{1, 1}, 3.5)},
		{"reduce mean middle of 3-D", "ReduceMean", onnx.Float, []Tensor{f32([]int64{1, 2, 2}, 1, 2, 3, 6)}, nil, []*onnx.Attribute{axes(-2)}, f32([]int64{1, 1, 2}, 2, 4)},
		{"shape", "Shape", onnx.Int64, []Tensor{f32([]int64{2, 3, 1}, 1, 2, 3, 4, 5, 6)}, nil, nil, i64([]int64{3}, 2, 3, 1)},
		{"shape start end negative", "Shape", onnx.Int64, []Tensor{f32([]int64{2, 3, 1}, 1, 2, 3, 4, 5, 6)}, nil,
			[]*onnx.Attribute{onnx.IntAttr("start", -2), onnx.IntAttr("end", -1)}, i64([]int64{1}, 3)},
		{"shape end clamped", "Shape", onnx.Int64, []Tensor{f32([]int64{2, 3, 1}, 1, 2, 3, 4, 5, 6)}, nil,
			[]*onnx.Attribute{onnx.IntAttr("start", 1), onnx.IntAttr("end", 99)}, i64([]int64{2}, 3, 1)},
		{"reshape infer", "Reshape", onnx.Float, []Tensor{m23}, []*onnx.Tensor{ints(3, -1)}, nil, f32([]int64{3, 2}, 1, 2, 3, 4, 5, 6)},
		{"reshape copy zeros", "Reshape", onnx.Int64, []Tensor{i64([]int64{1, 3, 4}, grid.I64...)}, []*onnx.Tensor{ints(0, 0, 2, -1)}, nil,
			i64([]int64{1, 3, 2, 2}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)},
		{"reshape heads", "Reshape", onnx.Int64, []Tensor{grid}, []*onnx.Tensor{ints(0, 2, 2)}, nil,
			i64([]int64{3, 2, 2}, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)},
		{"transpose default reverses", "Transpose", onnx.Float, []Tensor{m23}, nil, nil, f32([]int64{3, 2}, 1, 4, 2, 5, 3, 6)},
		// y[j][k][i] = x[i][j][k] for x of shape [2,1,3].
		{"transpose 3-D", "Transpose", onnx.Int64, []Tensor{i64([]int64{2, 1, 3}, 0, 1, 2, 3, 4, 5)}, nil,
			[]*onnx.Attribute{onnx.IntsAttr("perm", 1, 2, 0)}, i64([]int64{1, 3, 2}, 0, 3, 1, 4, 2, 5)},
		// The heads split of attention: [1,2,2,2] with perm 0,2,1,3.
		{"transpose heads", "Transpose", onnx.Int64, []Tensor{i64([]int64{1, 2, 2, 2}, 0, 1, 2, 3, 4, 5, 6, 7)}, nil,
			[]*onnx.Attribute{onnx.IntsAttr("perm", 0, 2, 1, 3)}, i64([]int64{1, 2, 2, 2}, 0, 1, 4, 5, 2, 3, 6, 7)},
		{"gather rows negative index", "Gather", onnx.Float, []Tensor{f32([]int64{3, 2}, 1, 2, 3, 4, 5, 6)}, []*onnx.Tensor{ints(-1, 0)}, nil,
			f32([]int64{2, 2}, 5, 6, 1, 2)},
		{"gather scalar index axis 1", "Gather", onnx.Float, []Tensor{f32([]int64{3, 2}, 1, 2, 3, 4, 5, 6)}, []*onnx.Tensor{onnx.Int64Tensor("", nil, []int64{0})},
			[]*onnx.Attribute{onnx.IntAttr("axis", 1)}, f32([]int64{3}, 1, 3, 5)},
		{"gather 2-D indices axis -1", "Gather", onnx.Int64, []Tensor{i64([]int64{2, 2}, 1, 2, 3, 4)}, []*onnx.Tensor{onnx.Int64Tensor("", []int64{2, 1}, []int64{1, 0})},
			[]*onnx.Attribute{onnx.IntAttr("axis", -1)}, i64([]int64{2, 2, 1}, 2, 1, 4, 3)},
		{"gather embedding batch", "Gather", onnx.Float, []Tensor{f32([]int64{3, 1}, 10, 20, 30)}, []*onnx.Tensor{onnx.Int64Tensor("", []int64{2, 2}, []int64{2, 0, 1, 1})}, nil,
			f32([]int64{2, 2, 1}, 30, 10, 20, 20)},
		{"slice rows", "Slice", onnx.Int64, []Tensor{grid}, []*onnx.Tensor{ints(1), ints(3), ints(0)}, nil, i64([]int64{2, 4}, 4, 5, 6, 7, 8, 9, 10, 11)},
		{"slice default axes clamped end", "Slice", onnx.Int64, []Tensor{grid}, []*onnx.Tensor{ints(0, 1), ints(math.MaxInt64, -1)}, nil,
			i64([]int64{3, 2}, 1, 2, 5, 6, 9, 10)},
		{"slice negative step", "Slice", onnx.Int64, []Tensor{grid}, []*onnx.Tensor{ints(-1), ints(math.MinInt64), ints(-1), ints(-2)}, nil,
			i64([]int64{3, 2}, 3, 1, 7, 5, 11, 9)},
		{"slice step 2 rows", "Slice", onnx.Int64, []Tensor{grid}, []*onnx.Tensor{ints(0), ints(3), ints(0), ints(2)}, nil,
			i64([]int64{2, 4}, 0, 1, 2, 3, 8, 9, 10, 11)},
		{"slice empty", "Slice", onnx.Int64, []Tensor{grid}, []*onnx.Tensor{ints(3), ints(1), ints(1)}, nil, Tensor{Shape: []int64{3, 0}, I64: []int64{}}},
		{"slice float", "Slice", onnx.Float, []Tensor{m23}, []*onnx.Tensor{ints(-2), ints(100), ints(1)}, nil, f32([]int64{2, 2}, 2, 3, 5, 6)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runOp(t, tc.op, tc.out, tc.inputs, tc.consts, tc.attrs...)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Shape, tc.want.Shape) && !(len(got.Shape) == 0 && len(tc.want.Shape) == 0) {
				t.Fatalf("shape %v, want %v", got.Shape, tc.want.Shape)
			}
			if tc.want.F32 != nil {
				if !near(got.F32, tc.want.F32, 1e-6) {
					t.Fatalf("got %v, want %v", got.F32, tc.want.F32)
				}
				return
			}
			if len(got.I64) != len(tc.want.I64) || (len(got.I64) > 0 && !reflect.DeepEqual(got.I64, tc.want.I64)) {
				t.Fatalf("got %v, want %v", got.I64, tc.want.I64)
			}
		})
	}
}

func TestEncoderOpErrors(t *testing.T) {
	x := f32([]int64{2, 2}, 1, 2, 3, 4)
	tests := []struct {
		name   string
		op     string
		inputs []Tensor
		consts []*onnx.Tensor
		attrs  []*onnx.Attribute
		want   error
		msg    string
	}{
		{"div integers", "Div", []Tensor{i64([]int64{1}, 4), i64([]int64{1}, 2)}, nil, nil, ErrUnsupported, "integer inputs"},
		{"pow of ints", "Pow", []Tensor{i64([]int64{1}, 2), i64([]int64{1}, 2)}, nil, nil, ErrUnsupported, "want float"},
		{"gather index too large", "Gather", []Tensor{x}, []*onnx.Tensor{ints(2)}, nil, ErrEval, "index 2 out of range"},
		{"gather index too small", "Gather", []Tensor{x}, []*onnx.Tensor{ints(-3)}, nil, ErrEval, "index -3 out of range"},
		{"gather float indices", "Gather", []Tensor{x}, []*onnx.Tensor{onnx.FloatTensor("", []int64{1}, []float32{0})}, nil, ErrEval, "want int64"},
		{"gather axis", "Gather", []Tensor{x}, []*onnx.Tensor{ints(0)}, []*onnx.Attribute{onnx.IntAttr("axis", -3)}, ErrEval, "axis -3 out of range"},
		{"reshape two -1", "Reshape", []Tensor{x}, []*onnx.Tensor{ints(-1, -1)}, nil, ErrEval, "more than one -1"},
		{"reshape copies a missing dimension", "Reshape", []Tensor{x}, []*onnx.Tensor{ints(0, 0, 0)}, nil, ErrEval, "copies dimension 2"},
		{"reshape size", "Reshape", []Tensor{x}, []*onnx.Tensor{ints(3)}, nil, ErrEval, "cannot reshape"},
		{"reshape infer", "Reshape", []Tensor{x}, []*onnx.Tensor{ints(3, -1)}, nil, ErrEval, "cannot reshape"},
		{"transpose perm", "Transpose", []Tensor{x}, nil, []*onnx.Attribute{onnx.IntsAttr("perm", 0, 0)}, ErrEval, "not a permutation"},
		{"transpose rank", "Transpose", []Tensor{x}, nil, []*onnx.Attribute{onnx.IntsAttr("perm", 0)}, ErrEval, "for rank 2"},
		{"slice step 0", "Slice", []Tensor{x}, []*onnx.Tensor{ints(0), ints(1), ints(0), ints(0)}, nil, ErrEval, "step 0"},
		{"slice repeated axis", "Slice", []Tensor{x}, []*onnx.Tensor{ints(0, 0), ints(1, 1), ints(1, -1)}, nil, ErrEval, "repeated"},
		{"slice lengths", "Slice", []Tensor{x}, []*onnx.Tensor{ints(0, 0), ints(1)}, nil, ErrEval, "ends has 1 values"},
		{"reduce mean axis", "ReduceMean", []Tensor{x}, nil, []*onnx.Attribute{onnx.IntsAttr("axes", 2)}, ErrEval, "axis 2 out of range"},
		{"sqrt of ints", "Sqrt", []Tensor{i64([]int64{1}, 4)}, nil, nil, ErrUnsupported, "want float"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runOp(t, tc.op, onnx.Float, tc.inputs, tc.consts, tc.attrs...)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var ne *NodeError
			if !errors.As(err, &ne) || ne.OpType != tc.op {
				t.Fatalf("error %v is not a *NodeError for %s", err, tc.op)
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %q does not contain %q", err, tc.msg)
			}
		})
	}
}

// TestReduceMeanOpset18 covers ReduceMean's axes input (opset 18), with and
// without noop_with_empty_axes.
func TestReduceMeanOpset18(t *testing.T) {
	tests := []struct {
		name  string
		axes  []int64 // nil: the optional input left out
		noop  int64
		shape []int64
		want  []float32
	}{
		{"axes input", []int64{-1}, 0, []int64{2, 1}, []float32{2, 5}},
		{"no axes reduces all", nil, 0, []int64{1, 1}, []float32{3.5}},
		{"no axes with noop", nil, 1, []int64{2, 3}, []float32{1, 2, 3, 4, 5, 6}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := onnx.NewGraph("g")
			g.AddInput(onnx.TensorValue("x", onnx.Float, onnx.Fix(2), onnx.Fix(3)))
			in := []string{"x"}
			if tc.axes != nil {
				g.AddInitializer(onnx.Int64Tensor("axes", []int64{int64(len(tc.axes))}, tc.axes))
				in = append(in, "axes")
			}
			g.AddNode("ReduceMean", in, []string{"y"}, onnx.IntAttr("noop_with_empty_axes", tc.noop))
			g.AddOutput(onnx.Value("y", &onnx.Type{Tensor: &onnx.TensorType{ElemType: onnx.Float}}))
			r, err := New(onnx.NewModel(g, onnx.OpsetID{Version: 18}))
			if err != nil {
				t.Fatal(err)
			}
			out, err := r.Run(map[string]Tensor{"x": f32([]int64{2, 3}, 1, 2, 3, 4, 5, 6)})
			if err != nil {
				t.Fatal(err)
			}
			if y := out["y"]; !reflect.DeepEqual(y.Shape, tc.shape) || !near(y.F32, tc.want, 1e-6) {
				t.Fatalf("got %v %v, want %v %v", y.Shape, y.F32, tc.shape, tc.want)
			}
		})
	}
}
