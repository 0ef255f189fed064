package testmodels

import (
	"math"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// The encoder is BERT-shaped but tiny: one layer, hidden size 32, two
// heads. The vocabulary is BERT uncased's, so ids from the real tokenizer
// are valid; the word embedding table (30522 × 32 float32, 3.9 MB) is
// nearly all of the file.
const (
	encVocab     = 30522
	encHidden    = 32
	encHeads     = 2
	encHeadDim   = encHidden / encHeads
	encFFN       = 64
	encMaxPos    = 512
	encTypes     = 2
	encLabels    = 3
	encWeightStd = 0.05
	encLNEps     = 1e-12
	encMaskFill  = -1e4
	encSeed      = 10
)

var (
	batchDim = onnx.Sym("batch")
	seqDim   = onnx.Sym("seq")
)

// normal returns n float32 values approximately N(0, std): the sum of 12
// uniforms minus 6 (Irwin-Hall), computed in integers and scaled by one
// multiplication, so the values do not depend on math library
// implementations or fused multiply-adds and the file is the same on
// every platform.
func (r *rng) normal(n int, std float64) []float32 {
	out := make([]float32, n)
	scale := std * 0x1p-52
	for i := range out {
		var sum uint64
		for range 12 {
			sum += r.next() >> 12 // uniform in [0, 2^52)
		}
		out[i] = float32(float64(int64(sum)-6<<52) * scale)
	}
	return out
}

// encBuilder appends the encoder's nodes and initializers to a graph.
type encBuilder struct {
	g *onnx.Graph
	r *rng
}

// op appends one node with a single output and returns the output's name.
func (b *encBuilder) op(opType string, inputs []string, out string, attrs ...*onnx.Attribute) string {
	b.g.AddNode(opType, inputs, []string{out}, attrs...)
	return out
}

// weight adds a random N(0, 0.05) float initializer.
func (b *encBuilder) weight(name string, dims ...int64) string {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	b.g.AddInitializer(onnx.FloatTensor(name, dims, b.r.normal(int(n), encWeightStd)))
	return name
}

// scalar adds a float scalar initializer.
func (b *encBuilder) scalar(name string, v float32) string {
	b.g.AddInitializer(onnx.FloatTensor(name, nil, []float32{v}))
	return name
}

// ints adds a 1-D int64 initializer.
func (b *encBuilder) ints(name string, v ...int64) string {
	b.g.AddInitializer(onnx.Int64Tensor(name, []int64{int64(len(v))}, v))
	return name
}

// linear appends y = x·W + b with W [in, out], as PyTorch's exporter writes
// a Linear layer applied to a 3-D input (MatMul, then Add).
func (b *encBuilder) linear(prefix, x string, in, out int64) string {
	w := b.weight(prefix+".weight", in, out)
	bias := b.weight(prefix+".bias", out)
	mm := b.op("MatMul", []string{x, w}, prefix+".matmul")
	return b.op("Add", []string{mm, bias}, prefix+".out")
}

// layerNorm appends LayerNorm over the last axis as primitive operators, as
// older exporters write it: (x - mean) / sqrt(var + eps) · gamma + beta.
// Gamma is 1 and beta 0 plus N(0, 0.05) noise, so a reference that
// mishandles either shows.
func (b *encBuilder) layerNorm(prefix, x, out string) string {
	gamma := make([]float32, encHidden)
	for i, v := range b.r.normal(encHidden, encWeightStd) {
		gamma[i] = 1 + v
	}
	b.g.AddInitializer(onnx.FloatTensor(prefix+".weight", []int64{encHidden}, gamma))
	beta := b.weight(prefix+".bias", encHidden)
	last := onnx.IntsAttr("axes", -1)
	mean := b.op("ReduceMean", []string{x}, prefix+".mean", last, onnx.IntAttr("keepdims", 1))
	d := b.op("Sub", []string{x, mean}, prefix+".centered")
	sq := b.op("Pow", []string{d, "two"}, prefix+".squared")
	variance := b.op("ReduceMean", []string{sq}, prefix+".var", last, onnx.IntAttr("keepdims", 1))
	ve := b.op("Add", []string{variance, "ln_eps"}, prefix+".var_eps")
	std := b.op("Sqrt", []string{ve}, prefix+".std")
	norm := b.op("Div", []string{d, std}, prefix+".norm")
	scaled := b.op("Mul", []string{norm, prefix + ".weight"}, prefix+".scaled")
	return b.op("Add", []string{scaled, beta}, out)
}

// constants adds the shared scalars and shape tensors the blocks use.
func (b *encBuilder) constants() {
	b.scalar("one", 1)
	b.scalar("two", 2)
	b.scalar("half", 0.5)
	b.scalar("sqrt2", float32(math.Sqrt2))
	b.scalar("ln_eps", encLNEps)
	b.scalar("mask_fill", encMaskFill)
	b.scalar("attn_scale", float32(1/math.Sqrt(encHeadDim)))
	b.ints("seq_axis", 1)
	b.ints("zero", 0)
	b.ints("heads_shape", 0, 0, encHeads, encHeadDim)
	b.ints("merged_shape", 0, 0, encHidden)
	b.ints("mask_axes", 1, 2)
}

// embeddings appends word + token type + position embeddings and their
// LayerNorm. The position table [512, 32] is sliced to the sequence
// length read from input_ids' shape at run time.
func (b *encBuilder) embeddings() string {
	const p = "embeddings"
	word := b.weight(p+".word_embeddings.weight", encVocab, encHidden)
	typ := b.weight(p+".token_type_embeddings.weight", encTypes, encHidden)
	pos := b.weight(p+".position_embeddings.weight", encMaxPos, encHidden)
	we := b.op("Gather", []string{word, "input_ids"}, p+".word", onnx.IntAttr("axis", 0))
	te := b.op("Gather", []string{typ, "token_type_ids"}, p+".type", onnx.IntAttr("axis", 0))
	shape := b.op("Shape", []string{"input_ids"}, p+".ids_shape")
	seqLen := b.op("Gather", []string{shape, "seq_axis"}, p+".seq_len", onnx.IntAttr("axis", 0))
	pe := b.op("Slice", []string{pos, "zero", seqLen, "zero"}, p+".position") // rows [0, seq) of axis 0
	sum := b.op("Add", []string{we, te}, p+".word_type")
	sum = b.op("Add", []string{sum, pe}, p+".sum")
	return b.layerNorm(p+".LayerNorm", sum, p+".out")
}

// maskBias turns attention_mask [batch, seq] into the additive bias
// (1 - mask) · -1e4 of shape [batch, 1, 1, seq], which broadcasts over heads
// and query positions: padded keys get a large negative score, so softmax
// gives them weight 0 (exp(-1e4) underflows to zero in float32).
func (b *encBuilder) maskBias() string {
	m := b.op("Cast", []string{"attention_mask"}, "mask.float", onnx.IntAttr("to", int64(onnx.Float)))
	inv := b.op("Sub", []string{"one", m}, "mask.inverted")
	fill := b.op("Mul", []string{inv, "mask_fill"}, "mask.fill")
	return b.op("Unsqueeze", []string{fill, "mask_axes"}, "mask.bias")
}

// heads splits [batch, seq, 32] into [batch, 2, seq, 16] with perm, or
// [batch, 2, 16, seq] for the keys.
func (b *encBuilder) heads(x string, perm ...int64) string {
	r := b.op("Reshape", []string{x, "heads_shape"}, x+".heads")
	return b.op("Transpose", []string{r}, x+".heads_t", onnx.IntsAttr("perm", perm...))
}

// attention appends the self-attention block with its residual and
// LayerNorm.
func (b *encBuilder) attention(x, bias string) string {
	const p = "attention"
	q := b.heads(b.linear(p+".query", x, encHidden, encHidden), 0, 2, 1, 3)
	k := b.heads(b.linear(p+".key", x, encHidden, encHidden), 0, 2, 3, 1)
	v := b.heads(b.linear(p+".value", x, encHidden, encHidden), 0, 2, 1, 3)
	scores := b.op("MatMul", []string{q, k}, p+".scores")
	scores = b.op("Mul", []string{scores, "attn_scale"}, p+".scaled")
	scores = b.op("Add", []string{scores, bias}, p+".masked")
	probs := b.op("Softmax", []string{scores}, p+".probs", onnx.IntAttr("axis", -1))
	ctx := b.op("MatMul", []string{probs, v}, p+".context")
	ctx = b.op("Transpose", []string{ctx}, p+".context_t", onnx.IntsAttr("perm", 0, 2, 1, 3))
	ctx = b.op("Reshape", []string{ctx, "merged_shape"}, p+".merged")
	out := b.linear(p+".output.dense", ctx, encHidden, encHidden)
	res := b.op("Add", []string{out, x}, p+".residual")
	return b.layerNorm(p+".output.LayerNorm", res, p+".out")
}

// feedForward appends Linear(64), exact GELU as primitives
// (x · 0.5 · (1 + erf(x / sqrt 2)), as PyTorch exports nn.GELU), Linear(32),
// the residual and LayerNorm into last_hidden_state.
func (b *encBuilder) feedForward(x string) {
	const p = "ffn"
	h := b.linear(p+".intermediate", x, encHidden, encFFN)
	e := b.op("Div", []string{h, "sqrt2"}, p+".gelu.div")
	e = b.op("Erf", []string{e}, p+".gelu.erf")
	e = b.op("Add", []string{e, "one"}, p+".gelu.add")
	e = b.op("Mul", []string{h, e}, p+".gelu.mul")
	e = b.op("Mul", []string{e, "half"}, p+".gelu")
	out := b.linear(p+".output", e, encFFN, encHidden)
	res := b.op("Add", []string{out, x}, p+".residual")
	b.layerNorm(p+".LayerNorm", res, "last_hidden_state")
}

// encoderGraph returns a graph with the encoder's inputs and nodes, ending
// in last_hidden_state [batch, seq, 32]. Both encoder models build it from
// the same seed, so they share their weights.
func encoderGraph(name string) *onnx.Graph {
	g := onnx.NewGraph(name)
	g.AddInput(
		onnx.TensorValue("input_ids", onnx.Int64, batchDim, seqDim),
		onnx.TensorValue("attention_mask", onnx.Int64, batchDim, seqDim),
		onnx.TensorValue("token_type_ids", onnx.Int64, batchDim, seqDim),
	)
	b := &encBuilder{g: g, r: &rng{s: encSeed}}
	b.constants()
	h := b.embeddings()
	h = b.attention(h, b.maskBias())
	b.feedForward(h)
	return g
}

// encoder: a one-layer BERT-shaped text encoder, output last_hidden_state.
func encoder() *onnx.Model {
	g := encoderGraph("encoder")
	g.AddOutput(onnx.TensorValue("last_hidden_state", onnx.Float, batchDim, seqDim, onnx.Fix(encHidden)))
	return model(g, "one-layer BERT-shaped encoder (hidden 32, 2 heads, vocabulary 30522), random weights")
}

// textClassifier: the encoder, CLS pooling (position 0) and Linear(3).
func textClassifier() *onnx.Model {
	g := encoderGraph("text_classifier")
	g.AddInitializer(onnx.Int64Tensor("cls_index", nil, []int64{0}))
	g.AddNode("Gather", []string{"last_hidden_state", "cls_index"}, []string{"cls"}, onnx.IntAttr("axis", 1))
	gemm(g, &rng{s: encSeed + 1}, "classifier", "cls", "logits", encHidden, encLabels)
	g.AddOutput(onnx.TensorValue("logits", onnx.Float, batchDim, onnx.Fix(encLabels)))
	return model(g, "the encoder with CLS pooling and a Linear to 3 logits, random weights")
}
