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
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...)))
	}
	domains := map[string]bool{}
	for _, o := range m.OpsetImports {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if domains[d] {
			bad("operator set %q imported twice", o.Domain)
		}
		domains[d] = true
	}
	if !domains[""] {
		bad("no operator set imported for the default domain")
	}
	g := m.Graph
	defined := map[string]string{} // value name -> what defined it
	define := func(name, by string) {
		if name == "" {
			bad("%s has an empty name", by)
			return
		}
		if prev, ok := defined[name]; ok {
			bad("value %q is defined by %s and again by %s", name, prev, by)
			return
		}
		defined[name] = by
	}
	inits := map[string]bool{}
	for i, t := range g.Initializers {
		by := fmt.Sprintf("initializer %d", i)
		define(t.Name, by)
		inits[t.Name] = true
		if t.DataType != String {
			if _, err := t.Float64s(); err != nil {
				bad("%s: %v", by, err)
			}
		}
	}
	for i, v := range g.Inputs {
		by := fmt.Sprintf("graph input %d", i)
		if v.Type == nil {
			bad("%s %q has no type", by, v.Name)
		}
		if inits[v.Name] {
			continue // an input with a default value (IR < 4 style)
		}
		define(v.Name, by)
	}
	for i, n := range g.Nodes {
		by := fmt.Sprintf("node %d (%s %q)", i, n.OpType, n.Name)
		if n.OpType == "" {
			bad("%s has no op_type", by)
		}
		d := n.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if !domains[d] {
			bad("%s uses domain %q, which is not imported", by, n.Domain)
		}
		for _, in := range n.Inputs {
			if in == "" {
				continue // omitted optional input
			}
			if _, ok := defined[in]; !ok {
				bad("%s: input %q is not defined before it", by, in)
			}
		}
		for _, out := range n.Outputs {
			if out != "" {
				define(out, by)
			}
		}
	}
	if len(g.Outputs) == 0 {
		bad("graph has no outputs")
	}
	for i, v := range g.Outputs {
		if v.Type == nil {
			bad("graph output %d %q has no type", i, v.Name)
		}
		if _, ok := defined[v.Name]; !ok {
			bad("graph output %d %q is not produced", i, v.Name)
		}
	}
	return errors.Join(errs...)
}
