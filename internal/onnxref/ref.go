package onnxref

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// Errors callers branch on. Every error from [Load] and [Ref.Run] wraps one
// of them (or [onnx.ErrMalformed] / [onnx.ErrInvalid] for a bad file).
var (
	// ErrUnsupported reports an operator, attribute value or type the
	// reference does not implement, such as ZipMap.
	ErrUnsupported = errors.New("unsupported by the onnx reference")
	// ErrInput reports inputs that do not match the model: a missing or
	// unknown name, a wrong element type or shape.
	ErrInput = errors.New("bad input")
	// ErrEval reports a failure while evaluating a node, such as
	// incompatible shapes.
	ErrEval = errors.New("evaluation failed")
)

// NodeError says which node failed and why. It unwraps to the cause.
type NodeError struct {
	Index  int    // position in the graph
	Name   string // node name
	OpType string
	Err    error
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("node %d (%s %q): %v", e.Index, e.OpType, e.Name, e.Err)
}

// Unwrap returns the cause.
func (e *NodeError) Unwrap() error { return e.Err }

// Tensor is an input or output value: a shape and the data in row-major
// order in exactly one of the slices, chosen by element type (float32,
// float64, int64 also for narrower integers, bool).
type Tensor struct {
	Shape []int64
	F32   []float32
	F64   []float64
	I64   []int64
	Bool  []bool
}

// Ref is a loaded model ready to evaluate. It is immutable, so Run may be
// called from several goroutines at once.
type Ref struct {
	model  *onnx.Model
	opset  int64
	inputs []*onnx.ValueInfo // real inputs, initializers left out
	consts map[string]*value // initializers
	nodes  []*onnx.Node
	ops    []opFunc       // ops[i] evaluates nodes[i]
	byOut  map[string]int // value name -> index of the node producing it
	decl   map[string]*onnx.Type
}

// Load reads, validates and prepares the model at path.
func Load(path string) (*Ref, error) {
	m, err := onnx.ReadFile(path)
	if err != nil {
		return nil, err
	}
	r, err := New(m)
	if err != nil {
		return nil, fmt.Errorf("onnxref: %s: %w", path, err)
	}
	return r, nil
}

// New prepares m for evaluation: it validates the graph, decodes the
// initializers and checks that every operator is one the reference knows.
func New(m *onnx.Model) (*Ref, error) {
	if err := onnx.Validate(m); err != nil {
		return nil, err
	}
	g := m.Graph
	r := &Ref{
		model:  m,
		opset:  m.Opset(""),
		consts: map[string]*value{},
		nodes:  g.Nodes,
		byOut:  map[string]int{},
		decl:   map[string]*onnx.Type{},
	}
	for _, t := range g.Initializers {
		v, err := fromProto(t)
		if err != nil {
			return nil, fmt.Errorf("initializer %q: %w", t.Name, err)
		}
		r.consts[t.Name] = v
	}
	for _, in := range g.Inputs {
		if _, ok := r.consts[in.Name]; !ok {
			r.inputs = append(r.inputs, in)
		}
	}
	for _, v := range g.Outputs {
		r.decl[v.Name] = v.Type
	}
	for i, n := range g.Nodes {
		op, ok := ops[n.OpType]
		domain := n.Domain
		if domain == "ai.onnx" {
			domain = ""
		}
		if !ok || op.domain != domain {
			return nil, &NodeError{Index: i, Name: n.Name, OpType: n.OpType,
				Err: fmt.Errorf("%w: operator %q in domain %q", ErrUnsupported, n.OpType, n.Domain)}
		}
		r.ops = append(r.ops, op.fn)
		for _, out := range n.Outputs {
			r.byOut[out] = i
		}
	}
	return r, nil
}

// Model returns the decoded model.
func (r *Ref) Model() *onnx.Model { return r.model }

// Run evaluates the model on inputs (keyed by graph input name) and returns
// the named outputs, or all graph outputs when none are named. Only the
// nodes the requested outputs depend on are evaluated, so a model's tensor
// outputs can be computed even when another output needs an unsupported
// operator. Float outputs are computed in float64 and rounded to float32
// at the end; the inputs are not modified or retained.
func (r *Ref) Run(inputs map[string]Tensor, outputs ...string) (map[string]Tensor, error) {
	env := make(map[string]*value, len(r.consts)+len(inputs))
	for k, v := range r.consts {
		env[k] = v
	}
	if err := r.bindInputs(inputs, env); err != nil {
		return nil, err
	}
	if len(outputs) == 0 {
		for _, o := range r.model.Graph.Outputs {
			outputs = append(outputs, o.Name)
		}
	}
	need, err := r.needed(outputs)
	if err != nil {
		return nil, err
	}
	for i, n := range r.nodes {
		if !need[i] {
			continue
		}
		args := make([]*value, len(n.Inputs))
		for j, name := range n.Inputs {
			if name != "" {
				args[j] = env[name]
			}
		}
		res, err := r.ops[i](&call{node: n, opset: r.opset}, args)
		if err != nil {
			return nil, &NodeError{Index: i, Name: n.Name, OpType: n.OpType, Err: err}
		}
		if len(res) != len(n.Outputs) {
			return nil, &NodeError{Index: i, Name: n.Name, OpType: n.OpType,
				Err: fmt.Errorf("%w: %d outputs named, operator gives %d", ErrUnsupported, len(n.Outputs), len(res))}
		}
		for j, name := range n.Outputs {
			if name != "" {
				env[name] = res[j]
			}
		}
	}
	out := make(map[string]Tensor, len(outputs))
	for _, name := range outputs {
		v := env[name]
		if t := r.decl[name]; t != nil {
			if err := checkDeclared(name, t, v); err != nil {
				return nil, err
			}
		}
		out[name] = v.tensor()
	}
	return out, nil
}

// needed marks the nodes the named values depend on.
func (r *Ref) needed(outputs []string) (map[int]bool, error) {
	need := map[int]bool{}
	stack := []string{}
	for _, name := range outputs {
		if _, ok := r.decl[name]; !ok {
			return nil, fmt.Errorf("%w: model has no output %q", ErrInput, name)
		}
		stack = append(stack, name)
	}
	for len(stack) > 0 {
		name := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		i, ok := r.byOut[name]
		if !ok || need[i] {
			continue
		}
		need[i] = true
		stack = append(stack, r.nodes[i].Inputs...)
	}
	return need, nil
}

// bindInputs checks every input against its declaration and converts it.
func (r *Ref) bindInputs(inputs map[string]Tensor, env map[string]*value) error {
	for name := range inputs {
		if !slices.ContainsFunc(r.inputs, func(v *onnx.ValueInfo) bool { return v.Name == name }) {
			return fmt.Errorf("%w: model has no input %q", ErrInput, name)
		}
	}
	sym := map[string]int64{} // symbolic dim -> size seen
	for _, decl := range r.inputs {
		t, ok := inputs[decl.Name]
		if !ok {
			return fmt.Errorf("%w: input %q is missing", ErrInput, decl.Name)
		}
		tt := decl.Type.Tensor
		if tt == nil {
			return fmt.Errorf("%w: input %q has non-tensor type %v", ErrUnsupported, decl.Name, decl.Type)
		}
		v, err := fromTensor(t, tt.ElemType)
		if err != nil {
			return fmt.Errorf("%w: input %q: %v", ErrInput, decl.Name, err)
		}
		if tt.Shape != nil {
			if len(tt.Shape.Dims) != len(v.shape) {
				return fmt.Errorf("%w: input %q has shape %v, model wants %v", ErrInput, decl.Name, v.shape, tt.Shape)
			}
			for i, d := range tt.Shape.Dims {
				switch {
				case d.Fixed() && d.Value != v.shape[i]:
					return fmt.Errorf("%w: input %q has shape %v, model wants %v", ErrInput, decl.Name, v.shape, tt.Shape)
				case d.Param != "":
					if prev, ok := sym[d.Param]; ok && prev != v.shape[i] {
						return fmt.Errorf("%w: input %q: dimension %s is %d here and %d in another input", ErrInput, decl.Name, d.Param, v.shape[i], prev)
					}
					sym[d.Param] = v.shape[i]
				}
			}
		}
		env[decl.Name] = v
	}
	return nil
}

// checkDeclared compares a computed output with the model's declaration.
func checkDeclared(name string, t *onnx.Type, v *value) error {
	if t.Tensor == nil {
		return fmt.Errorf("%w: output %q has non-tensor type %v", ErrUnsupported, name, t)
	}
	if t.Tensor.ElemType != v.dt {
		return fmt.Errorf("%w: output %q is %v, model declares %v", ErrEval, name, v.dt, t.Tensor.ElemType)
	}
	if s := t.Tensor.Shape; s != nil {
		ok := len(s.Dims) == len(v.shape)
		for i := 0; ok && i < len(s.Dims); i++ {
			ok = !s.Dims[i].Fixed() || s.Dims[i].Value == v.shape[i]
		}
		if !ok {
			return fmt.Errorf("%w: output %q has shape %v, model declares %v", ErrEval, name, v.shape, s)
		}
	}
	return nil
}

// String describes the model's signature, for test failure messages.
func (r *Ref) String() string {
	var b strings.Builder
	for i, v := range r.inputs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %v", v.Name, v.Type)
	}
	b.WriteString(" -> ")
	for i, v := range r.model.Graph.Outputs {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %v", v.Name, v.Type)
	}
	return b.String()
}

// round32 rounds x to the nearest float32, keeping it as float64.
func round32(x float64) float64 { return float64(float32(x)) }
