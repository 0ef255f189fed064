package onnx

import (
	"errors"
	"fmt"
)

// ErrInvalid is the sentinel under every [Validate] error.
var ErrInvalid = errors.New("invalid onnx model")

// Validate checks that m is a plausible model: it has a graph and a
// default-domain operator set, every node's domain is imported, every node
// input is a graph input, an initializer or the output of an earlier node,
// no value is defined twice, every graph output is produced, inputs and
// outputs have types, and initializer data matches its dims. It returns
// all problems found, joined; each wraps [ErrInvalid].
func Validate(m *Model) error {
	if m.Graph == nil {
		return fmt.Errorf("%w: no graph", ErrInvalid)
	}
	v := &validator{defined: map[string]string{}}
	domains := v.opsets(m.OpsetImports)
	v.graphInputs(m.Graph)
	v.nodes(m.Graph.Nodes, domains)
	v.graphOutputs(m.Graph.Outputs)
	return errors.Join(v.errs...)
}

// A validator collects the problems [Validate] finds, in the order it
// finds them, and the values defined so far.
type validator struct {
	errs    []error
	defined map[string]string // value name -> what defined it
}

// bad records a problem.
func (v *validator) bad(format string, args ...any) {
	v.errs = append(v.errs, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
}

// define records that by defines the value name, which must be non-empty
// and not defined before.
func (v *validator) define(name, by string) {
	if name == "" {
		v.bad("%s has an empty name", by)
		return
	}
	if prev, ok := v.defined[name]; ok {
		v.bad("value %q is defined by %s and again by %s", name, prev, by)
		return
	}
	v.defined[name] = by
}

// opsets checks the operator set imports and returns the imported
// domains, "ai.onnx" written as "".
func (v *validator) opsets(imports []OpsetID) map[string]bool {
	domains := map[string]bool{}
	for _, o := range imports {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if domains[d] {
			v.bad("operator set %q imported twice", o.Domain)
		}
		domains[d] = true
	}
	if !domains[""] {
		v.bad("no operator set imported for the default domain")
	}
	return domains
}

// graphInputs checks and defines g's initializers, then its inputs.
func (v *validator) graphInputs(g *Graph) {
	inits := map[string]bool{}
	for i, t := range g.Initializers {
		by := fmt.Sprintf("initializer %d", i)
		v.define(t.Name, by)
		inits[t.Name] = true
		if t.DataType != String {
			if _, err := t.Float64s(); err != nil {
				v.bad("%s: %v", by, err)
			}
		}
	}
	for i, in := range g.Inputs {
		by := fmt.Sprintf("graph input %d", i)
		if in.Type == nil {
			v.bad("%s %q has no type", by, in.Name)
		}
		if inits[in.Name] {
			continue // an input with a default value (IR < 4 style)
		}
		v.define(in.Name, by)
	}
}

// nodes checks each node in order: its op type and domain, that its
// inputs are defined before it; then defines its outputs.
func (v *validator) nodes(nodes []*Node, domains map[string]bool) {
	for i, n := range nodes {
		by := fmt.Sprintf("node %d (%s %q)", i, n.OpType, n.Name)
		if n.OpType == "" {
			v.bad("%s has no op_type", by)
		}
		d := n.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if !domains[d] {
			v.bad("%s uses domain %q, which is not imported", by, n.Domain)
		}
		for _, in := range n.Inputs {
			if in == "" {
				continue // omitted optional input
			}
			if _, ok := v.defined[in]; !ok {
				v.bad("%s: input %q is not defined before it", by, in)
			}
		}
		for _, out := range n.Outputs {
			if out != "" {
				v.define(out, by)
			}
		}
	}
}

// graphOutputs checks that there are outputs, each typed and produced.
func (v *validator) graphOutputs(outs []*ValueInfo) {
	if len(outs) == 0 {
		v.bad("graph has no outputs")
	}
	for i, o := range outs {
		if o.Type == nil {
			v.bad("graph output %d %q has no type", i, o.Name)
		}
		if _, ok := v.defined[o.Name]; !ok {
			v.bad("graph output %d %q is not produced", i, o.Name)
		}
	}
}
