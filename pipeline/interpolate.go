package pipeline

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/stages"
)

func nearest(s string, candidates []string) string { return stages.Nearest(s, candidates) }

// interpolate substitutes ${VAR} and ${VAR:-default} in every scalar value
// (never in keys), after parsing, so a commented-out variable is never an
// error. $${ escapes a literal ${. A scalar that is exactly one variable
// takes the type of its value (batch_rows: "${ROWS}" is an integer).
func interpolate(n *yaml.Node, lookup func(string) (string, bool), ps *problems) {
	switch n.Kind {
	case yaml.MappingNode:
		for i := 1; i < len(n.Content); i += 2 {
			interpolate(n.Content[i], lookup, ps)
		}
	case yaml.SequenceNode, yaml.DocumentNode:
		for _, c := range n.Content {
			interpolate(c, lookup, ps)
		}
	case yaml.ScalarNode:
		if !strings.Contains(n.Value, "${") {
			return
		}
		whole := strings.HasPrefix(n.Value, "${") && strings.Index(n.Value, "}") == len(n.Value)-1
		out, err := expand(n.Value, lookup)
		if err != nil {
			ps.add(n.Line, n.Column, "", "%v", err)
			return
		}
		n.Value = out
		if n.Style == 0 || whole {
			// Re-resolve the type: count: "${ROWS}" is an integer when ROWS
			// is one. Quoting is needed inside flow mappings, so a value that
			// is exactly one variable takes its value's type whatever the
			// quotes; text around a variable keeps the value a string.
			n.Tag, n.Style = "", 0
		}
	}
}

// expand replaces the variables of s.
func expand(s string, lookup func(string) (string, bool)) (string, error) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return "", fmt.Errorf("unterminated variable reference in %q", s)
		}
		ref := s[i+2 : i+end]
		s = s[i+end+1:]
		name, def, hasDef := strings.Cut(ref, ":-")
		if !validVarName(name) {
			return "", fmt.Errorf("invalid variable name %q in ${%s}", name, ref)
		}
		v, ok := lookup(name)
		switch {
		case ok && (v != "" || !hasDef):
			b.WriteString(v)
		case hasDef:
			b.WriteString(def)
		default:
			return "", fmt.Errorf("environment variable %s is not set (use ${%s:-default} to give a default)", name, name)
		}
	}
}

func validVarName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if r == '_' || (r >= 'A' && r <= 'Z') || (r >= 'a' && r <= 'z') || (i > 0 && r >= '0' && r <= '9') {
			continue
		}
		return false
	}
	return true
}

// applySet applies one "ID.KEY=VALUE" override to the job's stage configs.
// VALUE is parsed as YAML, so lists and numbers keep their type.
func applySet(job *Job, expr string) error {
	lhs, val, ok := strings.Cut(expr, "=")
	if !ok {
		return fmt.Errorf("expected ID.KEY=VALUE")
	}
	id, key, ok := strings.Cut(lhs, ".")
	if !ok || id == "" || key == "" {
		return fmt.Errorf("expected ID.KEY=VALUE")
	}
	var st *StageDef
	ids := make([]string, 0, len(job.Stages))
	for _, s := range job.Stages {
		ids = append(ids, s.ID)
		if s.ID == id {
			st = s
		}
	}
	if st == nil {
		msg := fmt.Sprintf("no stage with id %q", id)
		if n := nearest(id, ids); n != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", n)
		}
		return fmt.Errorf("%s", msg)
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(val), &doc); err != nil {
		return fmt.Errorf("value: %v", err)
	}
	value := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if len(doc.Content) > 0 {
		value = doc.Content[0]
	}
	// Overrides carry the position of the stage, so errors about them point
	// at the stage they change.
	setPos(value, st.node.Line, st.node.Column)
	if st.With == nil {
		st.With = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: st.node.Line, Column: st.node.Column}
	}
	if err := setKey(st.With, key, value, st.node.Line, st.node.Column); err != nil {
		return err
	}
	if st.origins == nil {
		st.origins = map[string]string{}
	}
	markOrigins(value, key, OriginSet, st.origins)
	if st.sets == nil {
		st.sets = map[string]string{}
	}
	st.sets[key] = expr
	return nil
}

func setPos(n *yaml.Node, line, col int) {
	n.Line, n.Column = line, col
	for _, c := range n.Content {
		setPos(c, line, col)
	}
}
