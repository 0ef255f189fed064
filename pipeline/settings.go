package pipeline

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/stages"
)

// Resources is a job's `resources:` block: limits shared by every stage.
type Resources struct {
	MemoryBudget     stages.ByteSize `yaml:"memory_budget" doc:"Bytes of model input and output tensors in flight across all model stages (admission control; default 128MiB). A model stage's batch may hold memory_budget / (instances + 1): larger batches are split to fit."`
	MaxBytesInFlight stages.ByteSize `yaml:"max_bytes_in_flight" doc:"Bytes of batches queued between stages; a slow stage slows the readers instead of growing memory."`
	ModelMemory      stages.ByteSize `yaml:"model_memory" doc:"Budget for loaded models; unused models are evicted least recently used above it."`
	MaxConcurrency   map[string]int  `yaml:"max_concurrency" doc:"Batches running at once per backend, e.g. {cpu: 2, ane: 1}."`
	AdmissionTimeout stages.Duration `yaml:"admission_timeout" doc:"Longest a batch waits for admission before failing as resource exhausted (transient)."`
	MemoryLimit      stages.ByteSize `yaml:"memory_limit" doc:"Soft limit of pipe run's heap, applied as the Go runtime's memory limit (what GOMEMLIMIT sets, which takes precedence): the garbage collector works harder as the heap nears it, so peak memory stays close to what the run holds live instead of up to twice that. Not a hard cap: the other limits bound what is live. Default 1GiB."`
	UnitRows         int64           `yaml:"unit_rows" doc:"Target rows of a work unit: a source's row groups (or files) are grouped into units of at least this many rows. Each unit's output is committed on its own, so a killed run redoes only uncommitted units; units are also what --shard splits. Default 1048576."`
}

// Origins of a setting, shown by `pipe validate --explain`.
const (
	OriginDefault = "built-in default"
	OriginSet     = "--set"
)

// resourceVars are the PIPE_* variables that override the job's
// `resources:` block. Those overriding stage settings are declared by the
// stage types ([stages.Type.EnvVars]).
var resourceVars = []stages.EnvVar{
	{Name: "PIPE_MEMORY_BUDGET", Key: "memory_budget", Doc: "resources.memory_budget"},
	{Name: "PIPE_MAX_BYTES_IN_FLIGHT", Key: "max_bytes_in_flight", Doc: "resources.max_bytes_in_flight"},
	{Name: "PIPE_MODEL_MEMORY", Key: "model_memory", Doc: "resources.model_memory"},
	{Name: "PIPE_UNIT_ROWS", Key: "unit_rows", Doc: "resources.unit_rows: rows per work unit"},
	{Name: "PIPE_MEMORY_LIMIT", Key: "memory_limit", Doc: "resources.memory_limit: soft limit of the heap"},
}

// envValue parses an override's text as YAML; a comma list becomes a list.
func envValue(v string) *yaml.Node {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: v}
	}
	n := doc.Content[0]
	if n.Kind == yaml.ScalarNode && strings.Contains(v, ",") && !strings.HasPrefix(strings.TrimSpace(v), "[") {
		seq := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		for _, part := range strings.Split(v, ",") {
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: strings.TrimSpace(part)})
		}
		return seq
	}
	return n
}

// mergeDefaults adds the keys of def that m lacks, deeply; origin is
// recorded for every key added.
func mergeDefaults(m, def *yaml.Node, prefix, origin string, origins map[string]string) {
	for i := 0; i+1 < len(def.Content); i += 2 {
		k, v := def.Content[i], def.Content[i+1]
		path := joinKey(prefix, k.Value)
		var have *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == k.Value {
				have = m.Content[j+1]
				break
			}
		}
		switch {
		case have == nil:
			m.Content = append(m.Content, k, v)
			markOrigins(v, path, origin, origins)
		case have.Kind == yaml.MappingNode && v.Kind == yaml.MappingNode:
			mergeDefaults(have, v, path, origin, origins)
		}
	}
}

// markOrigins records origin for path and every key below it.
func markOrigins(v *yaml.Node, path, origin string, origins map[string]string) {
	origins[path] = origin
	if v.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(v.Content); i += 2 {
			markOrigins(v.Content[i+1], joinKey(path, v.Content[i].Value), origin, origins)
		}
	}
}

func joinKey(prefix, k string) string {
	if prefix == "" {
		return k
	}
	return prefix + "." + k
}

// setKey sets the dotted key of m (creating mappings) to value.
func setKey(m *yaml.Node, key string, value *yaml.Node, line, col int) error {
	parts := strings.Split(key, ".")
	for i, p := range parts {
		var child *yaml.Node
		for j := 0; j+1 < len(m.Content); j += 2 {
			if m.Content[j].Value == p {
				child = m.Content[j+1]
				if i == len(parts)-1 {
					m.Content[j+1] = value
				}
				break
			}
		}
		if i == len(parts)-1 {
			if child == nil {
				m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p, Line: line, Column: col}, value)
			}
			return nil
		}
		if child == nil {
			child = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: col}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p, Line: line, Column: col}, child)
		} else if child.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is not a mapping", strings.Join(parts[:i+1], "."))
		}
		m = child
	}
	return nil
}

// applyLayers merges the job's defaults and the PIPE_* variables into
// every stage, recording where each setting came from. The precedence, low
// to high: built-in defaults, the job's `defaults:` block, the stage's own
// `with:`, PIPE_* variables (those the stage's type declares in reg), --set.
func applyLayers(job *Job, reg *stages.Registry, defaults map[string]*yaml.Node, lookup func(string) (string, bool), ps *problems) {
	for _, s := range job.Stages {
		s.origins = map[string]string{}
		if s.With != nil {
			markOrigins(s.With, "", fmt.Sprintf("stage (%s:%d)", job.File, s.node.Line), s.origins)
			delete(s.origins, "")
		}
		if def, ok := defaults[s.Type]; ok {
			mergeDefaults(s.with(), def, "", fmt.Sprintf("job defaults (%s:%d)", job.File, def.Line), s.origins)
		}
		if e, err := reg.Lookup(s.Type); err == nil {
			applyStageVars(s, e.EnvVars, lookup, ps)
		}
	}
	for _, e := range resourceVars {
		v, ok := lookup(e.Name)
		if !ok || v == "" {
			continue
		}
		if job.resourcesNode == nil {
			job.resourcesNode = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
		}
		val := envValue(v)
		setPos(val, 1, 1)
		if err := setKey(job.resourcesNode, e.Key, val, 1, 1); err != nil {
			ps.add(0, 0, "", "%s: %v", e.Name, err)
		}
	}
}

// applyStageVars sets the keys of s that the variables in vars override.
func applyStageVars(s *StageDef, vars []stages.EnvVar, lookup func(string) (string, bool), ps *problems) {
	for _, e := range vars {
		v, ok := lookup(e.Name)
		if !ok || v == "" {
			continue
		}
		val := envValue(v)
		setPos(val, s.node.Line, s.node.Column)
		if err := setKey(s.with(), e.Key, val, s.node.Line, s.node.Column); err != nil {
			ps.add(s.node.Line, s.node.Column, s.ID, "%s: %v", e.Name, err)
			continue
		}
		markOrigins(val, e.Key, "env "+e.Name, s.origins)
	}
}

// with returns the stage's `with:` block, creating an empty one.
func (s *StageDef) with() *yaml.Node {
	if s.With == nil {
		s.With = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: s.node.Line, Column: s.node.Column}
	}
	return s.With
}

// Setting is one effective setting of a stage, for `pipe validate --explain`.
type Setting struct {
	Key, Value, Origin string
}

// Explain returns the effective settings of stage id after defaults,
// variables and overrides, each with where it came from.
func (p *Pipeline) Explain(id string) ([]Setting, error) {
	for _, n := range p.nodes {
		if n.def.ID != id {
			continue
		}
		var root yaml.Node
		if err := root.Encode(n.conf); err != nil {
			return nil, err
		}
		var out []Setting
		flattenSettings(&root, "", func(key, val string) {
			origin := OriginDefault
			for k := key; k != ""; k = parentKey(k) {
				if o, ok := n.def.origins[k]; ok {
					origin = o
					break
				}
			}
			out = append(out, Setting{Key: key, Value: val, Origin: origin})
		})
		return out, nil
	}
	ids := make([]string, len(p.nodes))
	for i, n := range p.nodes {
		ids[i] = n.def.ID
	}
	return nil, fmt.Errorf("no stage with id %q%s", id, hintIDs(id, ids))
}

func hintIDs(id string, ids []string) string {
	if n := nearest(id, ids); n != "" {
		return fmt.Sprintf(" (did you mean %q?)", n)
	}
	return ""
}

func parentKey(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

// flattenSettings walks an encoded config, calling f for every leaf with
// its dotted key and its value in YAML flow style.
func flattenSettings(n *yaml.Node, prefix string, f func(key, val string)) {
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind == yaml.MappingNode && (prefix == "" || len(n.Content) > 0) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			flattenSettings(n.Content[i+1], joinKey(prefix, n.Content[i].Value), f)
		}
		return
	}
	n.Style = yaml.FlowStyle
	b, err := yaml.Marshal(n)
	val := strings.TrimSpace(string(b))
	if err != nil {
		val = n.Value
	}
	f(prefix, val)
}

// Estimator is a stage that estimates, when it is built, the memory of its
// batches: model stages, from the model's declared shapes. `pipe validate`
// prints the note, and the warning when a setting was cut to fit a limit.
type Estimator interface {
	Estimate() (note, warning string)
}

// StageEstimate is one stage's [Estimator] answer.
type StageEstimate struct {
	Stage, Note, Warning string
}

// StageInputs is the answer of one file source that lists its files
// ([stages.InputLister]).
type StageInputs struct {
	Stage   string
	Matched []string
	Skipped []stages.FileNote
}

// Inputs returns the files matched and skipped by the sources that list
// them, in the order the stages run; `pipe validate` prints them.
func (p *Pipeline) Inputs() []StageInputs {
	var out []StageInputs
	for _, n := range p.nodes {
		if l, ok := n.stage.(stages.InputLister); ok {
			m, s := l.InputFiles()
			out = append(out, StageInputs{Stage: n.def.ID, Matched: m, Skipped: s})
		}
	}
	return out
}

// Estimates returns the estimates of the stages that make one, in the
// order the stages run.
func (p *Pipeline) Estimates() []StageEstimate {
	var out []StageEstimate
	for _, n := range p.nodes {
		if e, ok := n.stage.(Estimator); ok {
			note, warning := e.Estimate()
			out = append(out, StageEstimate{Stage: n.def.ID, Note: note, Warning: warning})
		}
	}
	return out
}
