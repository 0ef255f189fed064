package testmodels

import (
	"math"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// spec is one generated model: its file name and how to build it.
type spec struct {
	file  string
	build func() *onnx.Model
	// noRef, when set, says why the reference interpreter cannot run the
	// model (an operator it does not implement); [check] then skips it.
	noRef string
}

// specs lists every model but corrupt.onnx, which is derived from mlp.onnx.
var specs = []spec{
	{"mlp.onnx", mlp, ""},
	{"head.onnx", head, ""},
	{"two_io.onnx", twoIO, ""},
	{"static_batch.onnx", staticBatch, ""},
	{"image.onnx", image, ""},
	{"int64.onnx", int64Model, ""},
	{"seqmap.onnx", seqmap, ""},
	{"slow.onnx", slow, ""},
	{"embed.onnx", embed, "check's ids (0 to 99) fall outside its 10 rows"},
	{"encoder.onnx", encoder, ""},
	{"text_classifier.onnx", textClassifier, ""},
}

// rng is splitmix64: a tiny generator whose output is fixed forever, so the
// weights (and the files) never change with the Go version.
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// uniform returns n float32 values uniform in [-bound, bound).
func (r *rng) uniform(n int, bound float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		u := float64(r.next()>>11) / (1 << 53)
		out[i] = float32(bound * (2*u - 1))
	}
	return out
}

// dense returns the weight [out, in] and bias [out] of a fully connected
// layer, uniform in ±1/sqrt(in) like PyTorch's default initialisation.
func (r *rng) dense(prefix string, in, out int64) (*onnx.Tensor, *onnx.Tensor) {
	bound := 1 / math.Sqrt(float64(in))
	w := onnx.FloatTensor(prefix+".weight", []int64{out, in}, r.uniform(int(in*out), bound))
	b := onnx.FloatTensor(prefix+".bias", []int64{out}, r.uniform(int(out), bound))
	return w, b
}

// gemm appends y = x·Wᵀ + b (a Gemm with transB=1, as PyTorch exports
// Linear layers) and returns y.
func gemm(g *onnx.Graph, r *rng, prefix, x, y string, in, out int64) string {
	w, b := r.dense(prefix, in, out)
	g.AddInitializer(w, b)
	g.AddNode("Gemm", []string{x, w.Name, b.Name}, []string{y},
		onnx.FloatAttr("alpha", 1), onnx.FloatAttr("beta", 1), onnx.IntAttr("transB", 1))
	return y
}

func model(g *onnx.Graph, doc string, opsets ...onnx.OpsetID) *onnx.Model {
	if len(opsets) == 0 {
		opsets = []onnx.OpsetID{{Domain: "", Version: onnx.Opset}}
	}
	m := onnx.NewModel(g, opsets...)
	m.ProducerName = "pipe-testdata"
	m.ProducerVersion = "1"
	m.DocString = doc
	m.MetadataProps = []onnx.StringStringEntry{{Key: "generator", Value: "testdata/gen/models"}}
	return m
}

var n = onnx.Sym("N")

// mlp: x [N,32] -> Gemm(256)+Relu -> Gemm(256)+Relu -> Gemm(8) -> Softmax.
func mlp() *onnx.Model {
	r := &rng{s: 1}
	g := onnx.NewGraph("mlp")
	g.AddInput(onnx.TensorValue("x", onnx.Float, n, onnx.Fix(32)))
	gemm(g, r, "fc1", "x", "fc1", 32, 256)
	g.AddNode("Relu", []string{"fc1"}, []string{"relu1"})
	gemm(g, r, "fc2", "relu1", "fc2", 256, 256)
	g.AddNode("Relu", []string{"fc2"}, []string{"relu2"})
	gemm(g, r, "fc3", "relu2", "logits", 256, 8)
	g.AddNode("Softmax", []string{"logits"}, []string{"probs"}, onnx.IntAttr("axis", -1))
	g.AddOutput(onnx.TensorValue("probs", onnx.Float, n, onnx.Fix(8)))
	return model(g, "three-layer perceptron with softmax output")
}

// head: h [N,8] -> Gemm(1) -> Sigmoid.
func head() *onnx.Model {
	r := &rng{s: 2}
	g := onnx.NewGraph("head")
	g.AddInput(onnx.TensorValue("h", onnx.Float, n, onnx.Fix(8)))
	gemm(g, r, "fc", "h", "logit", 8, 1)
	g.AddNode("Sigmoid", []string{"logit"}, []string{"score"})
	g.AddOutput(onnx.TensorValue("score", onnx.Float, n, onnx.Fix(1)))
	return model(g, "logistic head, chained after mlp")
}

// twoIO: sum = a + b; proj = a·W + b·V.
func twoIO() *onnx.Model {
	r := &rng{s: 3}
	g := onnx.NewGraph("two_io")
	g.AddInput(
		onnx.TensorValue("a", onnx.Float, n, onnx.Fix(4)),
		onnx.TensorValue("b", onnx.Float, n, onnx.Fix(4)),
	)
	g.AddInitializer(
		onnx.FloatTensor("W", []int64{4, 2}, r.uniform(8, 0.5)),
		onnx.FloatTensor("V", []int64{4, 2}, r.uniform(8, 0.5)),
	)
	g.AddNode("Add", []string{"a", "b"}, []string{"sum"})
	g.AddNode("MatMul", []string{"a", "W"}, []string{"aW"})
	g.AddNode("MatMul", []string{"b", "V"}, []string{"bV"})
	g.AddNode("Add", []string{"aW", "bV"}, []string{"proj"})
	g.AddOutput(
		onnx.TensorValue("sum", onnx.Float, n, onnx.Fix(4)),
		onnx.TensorValue("proj", onnx.Float, n, onnx.Fix(2)),
	)
	return model(g, "two inputs, two outputs: sum = a+b, proj = a·W + b·V")
}

// staticBatch: x [8,16] -> Gemm(4), with a batch size fixed by the model.
func staticBatch() *onnx.Model {
	r := &rng{s: 4}
	g := onnx.NewGraph("static_batch")
	g.AddInput(onnx.TensorValue("x", onnx.Float, onnx.Fix(8), onnx.Fix(16)))
	gemm(g, r, "fc", "x", "y", 16, 4)
	g.AddOutput(onnx.TensorValue("y", onnx.Float, onnx.Fix(8), onnx.Fix(4)))
	return model(g, "linear layer with a fixed batch of 8")
}

// image: img [N,3,H,W] -> Conv(4,3x3,pad 1) -> Relu -> GlobalAveragePool -> Flatten.
func image() *onnx.Model {
	r := &rng{s: 5}
	g := onnx.NewGraph("image")
	g.AddInput(onnx.TensorValue("img", onnx.Float, n, onnx.Fix(3), onnx.Sym("H"), onnx.Sym("W")))
	bound := 1 / math.Sqrt(27)
	g.AddInitializer(
		onnx.FloatTensor("conv.weight", []int64{4, 3, 3, 3}, r.uniform(4*3*3*3, bound)),
		onnx.FloatTensor("conv.bias", []int64{4}, r.uniform(4, bound)),
	)
	g.AddNode("Conv", []string{"img", "conv.weight", "conv.bias"}, []string{"conv"},
		onnx.IntsAttr("dilations", 1, 1), onnx.IntAttr("group", 1),
		onnx.IntsAttr("kernel_shape", 3, 3), onnx.IntsAttr("pads", 1, 1, 1, 1),
		onnx.IntsAttr("strides", 1, 1))
	g.AddNode("Relu", []string{"conv"}, []string{"relu"})
	g.AddNode("GlobalAveragePool", []string{"relu"}, []string{"pool"})
	g.AddNode("Flatten", []string{"pool"}, []string{"feat"}, onnx.IntAttr("axis", 1))
	g.AddOutput(onnx.TensorValue("feat", onnx.Float, n, onnx.Fix(4)))
	return model(g, "tiny convolutional feature extractor over NCHW images")
}

// int64Model: out = float(ids)·W + bias + float(flag)[:, None].
func int64Model() *onnx.Model {
	r := &rng{s: 6}
	g := onnx.NewGraph("int64")
	g.AddInput(
		onnx.TensorValue("ids", onnx.Int64, n, onnx.Fix(3)),
		onnx.TensorValue("flag", onnx.Bool, n),
	)
	g.AddInitializer(
		onnx.FloatTensor("W", []int64{3, 2}, r.uniform(6, 0.5)),
		onnx.FloatTensor("bias", []int64{2}, r.uniform(2, 0.5)),
		onnx.Int64Tensor("axes", []int64{1}, []int64{1}),
	)
	g.AddNode("Cast", []string{"ids"}, []string{"idsf"}, onnx.IntAttr("to", int64(onnx.Float)))
	g.AddNode("MatMul", []string{"idsf", "W"}, []string{"mm"})
	g.AddNode("Add", []string{"mm", "bias"}, []string{"lin"})
	g.AddNode("Cast", []string{"flag"}, []string{"flagf"}, onnx.IntAttr("to", int64(onnx.Float)))
	g.AddNode("Unsqueeze", []string{"flagf", "axes"}, []string{"flagcol"})
	g.AddNode("Add", []string{"lin", "flagcol"}, []string{"out"})
	g.AddOutput(onnx.TensorValue("out", onnx.Float, n, onnx.Fix(2)))
	return model(g, "integer and bool inputs: out = float(ids)·W + bias + float(flag)")
}

// seqmap: a scikit-learn-style classifier with a label tensor and a
// sequence-of-maps probability output (ZipMap).
func seqmap() *onnx.Model {
	r := &rng{s: 7}
	g := onnx.NewGraph("seqmap")
	g.AddInput(onnx.TensorValue("x", onnx.Float, n, onnx.Fix(4)))
	gemm(g, r, "fc", "x", "logits", 4, 3)
	g.AddNode("Softmax", []string{"logits"}, []string{"probs"}, onnx.IntAttr("axis", 1))
	g.AddNode("ArgMax", []string{"probs"}, []string{"label"},
		onnx.IntAttr("axis", 1), onnx.IntAttr("keepdims", 0))
	z := g.AddNode("ZipMap", []string{"probs"}, []string{"probabilities"},
		onnx.IntsAttr("classlabels_int64s", 0, 1, 2))
	z.Domain = onnx.DomainML
	scalar := &onnx.Type{Tensor: &onnx.TensorType{ElemType: onnx.Float}}
	g.AddOutput(
		onnx.TensorValue("label", onnx.Int64, n),
		onnx.Value("probabilities", onnx.SequenceOf(onnx.MapOf(onnx.Int64, scalar))),
	)
	return model(g, "classifier with scikit-learn style outputs: label and a sequence of maps",
		onnx.OpsetID{Domain: "", Version: onnx.Opset}, onnx.OpsetID{Domain: onnx.DomainML, Version: 1})
}

// slowLayers and slowWidth size slow.onnx: 160 × (MatMul 512×512 + Relu)
// with one shared weight, so the file stays at 1 MiB. With 40 layers ONNX
// Runtime 1.30 ran N=256 in 80-130 ms on one thread of a shared x86-64
// core; 160 layers take 300-430 ms there, long enough to cancel mid-Run.
const (
	slowLayers = 160
	slowWidth  = 512
)

// slow: x [N,512] -> 160 × (MatMul(W) + Relu), all layers sharing W.
func slow() *onnx.Model {
	r := &rng{s: 8}
	g := onnx.NewGraph("slow")
	g.AddInput(onnx.TensorValue("x", onnx.Float, n, onnx.Fix(slowWidth)))
	// He-uniform keeps activations of order one through the ReLU stack.
	bound := math.Sqrt(6.0 / slowWidth)
	g.AddInitializer(onnx.FloatTensor("W", []int64{slowWidth, slowWidth}, r.uniform(slowWidth*slowWidth, bound)))
	prev := "x"
	for i := range slowLayers {
		mm, out := "mm"+itoa(i), "relu"+itoa(i)
		if i == slowLayers-1 {
			out = "y"
		}
		g.AddNode("MatMul", []string{prev, "W"}, []string{mm})
		g.AddNode("Relu", []string{mm}, []string{out})
		prev = out
	}
	g.AddOutput(onnx.TensorValue("y", onnx.Float, n, onnx.Fix(slowWidth)))
	return model(g, "160 × (MatMul 512×512 + Relu) sharing one weight: a long Run for cancellation tests")
}

// embedRows and embedDim size the table of embed.onnx.
const (
	embedRows = 10
	embedDim  = 3
)

// embedValue is element d of row id of embed.onnx's table: 10·id + d, so
// tests can compute the expected outputs without reading the model.
func embedValue(id, d int) float32 { return float32(10*id + d) }

// embed: ids int64 [N] -> Gather(table [10,3], ids, axis 0) -> emb [N,3].
// An id outside [-10, 9] makes ONNX Runtime fail the whole batch with an
// invalid-argument error: the model stage's bisection tests rely on it.
func embed() *onnx.Model {
	table := make([]float32, 0, embedRows*embedDim)
	for id := range embedRows {
		for d := range embedDim {
			table = append(table, embedValue(id, d))
		}
	}
	g := onnx.NewGraph("embed")
	g.AddInput(onnx.TensorValue("ids", onnx.Int64, n))
	g.AddInitializer(onnx.FloatTensor("table", []int64{embedRows, embedDim}, table))
	g.AddNode("Gather", []string{"table", "ids"}, []string{"emb"}, onnx.IntAttr("axis", 0))
	g.AddOutput(onnx.TensorValue("emb", onnx.Float, n, onnx.Fix(embedDim)))
	return model(g, "embedding lookup: emb = table[ids], table[i][d] = 10i + d")
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// corrupt returns the first 100 bytes of mlp followed by 156 bytes of
// fixed pseudo-random garbage.
func corrupt(mlp []byte) []byte {
	r := &rng{s: 9}
	out := append([]byte{}, mlp[:100]...)
	for range 156 / 4 {
		v := r.next()
		out = append(out, byte(v), byte(v>>8), byte(v>>16), byte(v>>24))
	}
	return out
}
