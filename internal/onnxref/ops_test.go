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
