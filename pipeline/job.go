package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/internal/s3conf"
	"github.com/pipe-ml/pipe/stages"
)

// MaxJobBytes bounds the size of a job file.
const MaxJobBytes = 1 << 20

// Job is a parsed job file: its stages in file order, with every `${VAR}`
// substituted and every `--set` override applied. Stage configs stay YAML
// nodes until [Build] decodes them with each stage type's config struct.
type Job struct {
	// File is the path the job was read from; Dir its folder, against which
	// relative paths resolve.
	File, Dir string
	Version   int
	Name      string
	// Description is free text.
	Description string
	// Mode is how a run treats output committed by an earlier run:
	// [ModeFull] (also when empty) or [ModeIncremental].
	Mode string
	// S3 holds the `s3:` block: the endpoint, region, addressing and
	// profile of the job's s3:// locations.
	S3     s3conf.Options
	Stages []*StageDef
	// Source holds the bytes of the job file, for fingerprints.
	Source []byte

	// problems found by Load that do not stop Build from finding more.
	problems []Problem
	// resourcesNode is the `resources:` block (with PIPE_* overrides).
	resourcesNode *yaml.Node
}

// StageDef is one entry of a job's `stages` list.
type StageDef struct {
	ID     string
	Type   string
	Inputs []string
	// With is the stage's config block; nil when absent.
	With *yaml.Node
	// OnError is what the stage does with rows it cannot process:
	// stages.OnErrorFail (also when empty), OnErrorSkip or
	// OnErrorDeadLetter.
	OnError string
	// MaxErrors is the max_errors budget: MaxErrors rows, or when
	// MaxErrorsPct > 0 that percentage of the stage's input rows; -1 when
	// unset (no limit).
	MaxErrors    int64
	MaxErrorsPct float64
	// DeadLetter is the folder dead-letter rows are written to, as written
	// (relative to the job folder).
	DeadLetter string

	onErrorNode, maxErrorsNode, deadLetterNode *yaml.Node

	node, idNode, typeNode *yaml.Node
	inputNodes             []*yaml.Node
	// origins says where each setting of With came from, by dotted key.
	origins map[string]string
	// sets holds the --set expression ("ID.KEY=VALUE") that gave each
	// dotted key, so that a problem with its value names the flag.
	sets map[string]string
}

// Line returns the line of the stage's entry in the job file.
func (s *StageDef) Line() int { return s.node.Line }

// LoadOptions adjust how a job is loaded.
type LoadOptions struct {
	// Env looks up variables for `${VAR}`; nil means os.LookupEnv.
	Env func(string) (string, bool)
	// Set holds overrides "ID.KEY=VALUE" (KEY may be dotted: batch.max_rows).
	Set []string
	// Registry holds the stage types whose PIPE_* variables apply
	// ([stages.Type.EnvVars]); nil means stages.Default(). Pass the one
	// given to [Build].
	Registry *stages.Registry
}

var idPattern = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// LoadFile reads and parses the job file at path.
func LoadFile(path string, opts LoadOptions) (*Job, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidJob, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxJobBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidJob, path, err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidJob, path, err)
	}
	return Load(data, path, filepath.Dir(abs), opts)
}

// Load parses a job from data. name is used in error messages; dir is the
// folder relative paths resolve against. Problems are reported in a
// [*ValidationError]. When the file could be parsed but holds problems (an
// unknown key, a bad id), Load returns the job as well as the error: [Build]
// on that job reports the same problems plus those of the stages' configs and
// schemas, so that every problem of a job is reported at once.
func Load(data []byte, name, dir string, opts LoadOptions) (*Job, error) {
	ps := &problems{file: name}
	root := parseDocument(data, ps)
	if root == nil {
		return nil, ps.err()
	}
	checkNodes(root, ps)
	if len(ps.list) > 0 {
		return nil, ps.err()
	}
	lookup := opts.Env
	if lookup == nil {
		lookup = os.LookupEnv
	}
	interpolate(root, lookup, ps)
	job := &Job{File: name, Dir: dir, Source: data}
	defaults := decodeJob(root, job, ps)
	reg := opts.Registry
	if reg == nil {
		reg = stages.Default()
	}
	applyLayers(job, reg, defaults, lookup, ps)
	for _, s := range opts.Set {
		if err := applySet(job, s); err != nil {
			ps.addFlag("--set "+s, "", "%v", err)
		}
	}
	if err := ps.err(); err != nil {
		// The job is still returned when its structure could be read, so
		// that Build can report the problems of its stages too.
		job.problems = ps.list
		return job, err
	}
	return job, nil
}

// parseDocument parses exactly one YAML document and returns its root
// mapping, reporting empty files, extra documents and syntax errors.
func parseDocument(data []byte, ps *problems) *yaml.Node {
	if len(data) > MaxJobBytes {
		ps.add(0, 0, "", "job file is larger than %d bytes", MaxJobBytes)
		return nil
	}
	if !utf8.Valid(data) || bytes.IndexByte(data, 0) >= 0 {
		ps.add(0, 0, "", "job file is not UTF-8 text")
		return nil
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			ps.add(1, 1, "", "empty job file")
			return nil
		}
		addSyntaxError(data, err, ps)
		return nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		ps.add(extra.Line, extra.Column, "", "a job file holds one YAML document; found a second one")
		return nil
	} else if !errors.Is(err, io.EOF) {
		line, msg := yamlErrorLine(err)
		ps.add(line, 1, "", "%s", msg)
		return nil
	}
	if len(doc.Content) == 0 {
		ps.add(1, 1, "", "empty job file")
		return nil
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.ShortTag() == "!!null" {
		ps.add(1, 1, "", "empty job file")
		return nil
	}
	if root.Kind != yaml.MappingNode {
		ps.add(root.Line, root.Column, "", "a job file is a mapping with keys version, name, stages; got %s", kindName(root))
		return nil
	}
	return root
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// addSyntaxError reports a YAML syntax error. When the parser stopped in a
// flow collection ({...} or [...]) that holds an unquoted `${`, whose braces
// YAML reads as a mapping, the problem is placed there with a hint to quote it.
func addSyntaxError(data []byte, err error, ps *problems) {
	line, msg := yamlErrorLine(err)
	if strings.Contains(msg, "did not find expected ','") {
		if l, c := unquotedFlowVar(data); l > 0 {
			ps.add(l, c, "", "%s: quote a ${...} value written inside {...} or [...], as in \"${OUT:-out}\"", msg)
			return
		}
	}
	ps.add(line, 1, "", "%s", msg)
}

// unquotedFlowVar returns the line and column of the first `${` outside
// quotes and comments inside a flow collection, or 0, 0.
func unquotedFlowVar(data []byte) (int, int) {
	depth := 0
	for i, text := range strings.Split(string(data), "\n") {
		var quote byte
		for j := 0; j < len(text); j++ {
			switch ch := text[j]; {
			case quote != 0:
				if ch == quote {
					quote = 0
				}
			case ch == '"' || ch == '\'':
				quote = ch
			case ch == '#' && (j == 0 || text[j-1] == ' '):
				j = len(text)
			case ch == '$' && depth > 0 && strings.HasPrefix(text[j:], "${"):
				return i + 1, j + 1
			case ch == '{' || ch == '[':
				depth++
			case (ch == '}' || ch == ']') && depth > 0:
				depth--
			}
		}
	}
	return 0, 0
}

func yamlErrorLine(err error) (int, string) {
	m := yamlLineRE.FindStringSubmatch(err.Error())
	if m == nil {
		return 0, err.Error()
	}
	var line int
	fmt.Sscan(m[1], &line)
	return line, m[2]
}

// checkNodes rejects anchors, aliases, merge keys and duplicate keys
// anywhere in the tree.
func checkNodes(n *yaml.Node, ps *problems) {
	if n.Anchor != "" {
		ps.add(n.Line, n.Column, "", "anchors (&%s) are not allowed in job files", n.Anchor)
	}
	switch n.Kind {
	case yaml.AliasNode:
		ps.add(n.Line, n.Column, "", "aliases (*%s) are not allowed in job files", n.Value)
		return
	case yaml.MappingNode:
		seen := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i]
			if k.Kind == yaml.ScalarNode {
				if k.Value == "<<" && k.ShortTag() == "!!merge" {
					ps.add(k.Line, k.Column, "", "merge keys (<<) are not allowed in job files")
				} else if prev, dup := seen[k.Value]; dup {
					ps.add(k.Line, k.Column, "", "duplicate key %q (first at line %d)", k.Value, prev.Line)
				} else {
					seen[k.Value] = k
				}
			}
		}
	}
	for _, c := range n.Content {
		checkNodes(c, ps)
	}
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.ShortTag() == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}

var jobKeys = []string{"version", "name", "description", "mode", "s3", "resources", "defaults", "stages"}

// Job modes: how a run treats output committed by an earlier run.
const (
	// ModeFull: the output is one job's over one set of inputs; a run over
	// other inputs is refused unless it overwrites.
	ModeFull = "full"
	// ModeIncremental: a run scores only the input files that are new or
	// changed since the committed output, keeps the rest of it, drops the
	// output of inputs that are gone, and commits the result as the next
	// generation (see docs/incremental.md).
	ModeIncremental = "incremental"
)

var stageKeys = []string{"id", "type", "inputs", "with", "on_error", "max_errors", "dead_letter"}

// decodeJob walks the root mapping into job, reporting every problem, and
// returns the `defaults:` block by stage type.
func decodeJob(root *yaml.Node, job *Job, ps *problems) map[string]*yaml.Node {
	defaults := map[string]*yaml.Node{}
	var stagesNode *yaml.Node
	haveVersion := false
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch k.Value {
		case "version":
			haveVersion = true
			if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!int" || v.Value != "1" {
				ps.add(v.Line, v.Column, "", "version: expected 1, got %s", kindName(v))
			}
			job.Version = 1
		case "name":
			if v.Kind != yaml.ScalarNode || v.ShortTag() == "!!null" {
				ps.add(v.Line, v.Column, "", "name: expected a string, got %s", kindName(v))
			}
			job.Name = v.Value
		case "description":
			if v.Kind != yaml.ScalarNode {
				ps.add(v.Line, v.Column, "", "description: expected a string, got %s", kindName(v))
			}
			job.Description = v.Value
		case "mode":
			if v.Kind != yaml.ScalarNode || (v.Value != ModeFull && v.Value != ModeIncremental) {
				ps.add(v.Line, v.Column, "", "mode: expected %s or %s, got %s", ModeFull, ModeIncremental, kindName(v))
			}
			job.Mode = v.Value
		case "s3":
			decodeS3(v, job, ps)
		case "stages":
			stagesNode = v
		case "resources":
			if v.Kind != yaml.MappingNode {
				ps.add(v.Line, v.Column, "", "resources: expected a mapping, got %s", kindName(v))
				continue
			}
			job.resourcesNode = v
		case "defaults":
			if v.Kind != yaml.MappingNode {
				ps.add(v.Line, v.Column, "", "defaults: expected a mapping of stage type to settings, got %s", kindName(v))
				continue
			}
			for j := 0; j+1 < len(v.Content); j += 2 {
				t, d := v.Content[j], v.Content[j+1]
				if d.Kind != yaml.MappingNode {
					ps.add(d.Line, d.Column, "", "defaults.%s: expected a mapping of settings, got %s", t.Value, kindName(d))
					continue
				}
				defaults[t.Value] = d
			}
		default:
			ps.add(k.Line, k.Column, "", "%s", unknownKey(k.Value, jobKeys))
		}
	}
	if !haveVersion {
		ps.add(root.Line, root.Column, "", "missing key \"version\" (add version: 1)")
	}
	if stagesNode == nil {
		ps.add(root.Line, root.Column, "", "missing key \"stages\"")
		return defaults
	}
	if stagesNode.Kind != yaml.SequenceNode {
		ps.add(stagesNode.Line, stagesNode.Column, "", "stages: expected a list of stages, got %s", kindName(stagesNode))
		return defaults
	}
	if len(stagesNode.Content) == 0 {
		ps.add(stagesNode.Line, stagesNode.Column, "", "stages: the list is empty")
	}
	for i, sn := range stagesNode.Content {
		if s := decodeStage(sn, i, ps); s != nil {
			job.Stages = append(job.Stages, s)
		}
	}
	return defaults
}

func decodeStage(n *yaml.Node, idx int, ps *problems) *StageDef {
	if n.Kind != yaml.MappingNode {
		ps.add(n.Line, n.Column, "", "stages[%d]: expected a mapping with id, type, inputs, with; got %s", idx, kindName(n))
		return nil
	}
	s := &StageDef{node: n, MaxErrors: -1}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		field := fmt.Sprintf("stages[%d].%s", idx, k.Value)
		switch k.Value {
		case "id":
			s.decodeID(v, field, ps)
		case "type":
			s.typeNode = v
			s.Type = scalarString(v, field, "a string", ps)
		case "inputs":
			s.decodeInputs(v, field, ps)
		case "on_error":
			s.decodeOnError(v, field, ps)
		case "max_errors":
			s.maxErrorsNode = v
			if err := s.decodeMaxErrors(v); err != nil {
				ps.add(v.Line, v.Column, "", "%s: %v", field, err)
			}
		case "dead_letter":
			s.deadLetterNode = v
			if v.Kind == yaml.ScalarNode && strings.TrimSpace(v.Value) == "" {
				ps.add(v.Line, v.Column, "", "%s: expected a folder path, got %s", field, kindName(v))
				continue
			}
			s.DeadLetter = scalarString(v, field, "a folder path", ps)
		case "with":
			s.decodeWith(v, field, ps)
		default:
			ps.add(k.Line, k.Column, "", "stages[%d]: %s", idx, unknownKey(k.Value, stageKeys))
		}
	}
	if s.idNode == nil {
		ps.add(n.Line, n.Column, "", "stages[%d]: missing key \"id\"", idx)
	}
	if s.typeNode == nil {
		ps.add(n.Line, n.Column, "", "stages[%d]: missing key \"type\"", idx)
	}
	return s
}

// scalarString returns v's string value, or "" after reporting that field
// expected what.
func scalarString(v *yaml.Node, field, what string, ps *problems) string {
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		ps.add(v.Line, v.Column, "", "%s: expected %s, got %s", field, what, kindName(v))
		return ""
	}
	return v.Value
}

func (s *StageDef) decodeID(v *yaml.Node, field string, ps *problems) {
	s.idNode = v
	if v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str" {
		ps.add(v.Line, v.Column, "", "%s: expected a string, got %s", field, kindName(v))
		return
	}
	if !idPattern.MatchString(v.Value) {
		ps.add(v.Line, v.Column, "", "%s: %q is not a valid id (lowercase letters, digits and _, starting with a letter)", field, v.Value)
	}
	s.ID = v.Value
}

func (s *StageDef) decodeInputs(v *yaml.Node, field string, ps *problems) {
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!str":
		s.Inputs, s.inputNodes = []string{v.Value}, []*yaml.Node{v}
	case v.Kind == yaml.SequenceNode:
		for _, in := range v.Content {
			if in.Kind != yaml.ScalarNode || in.ShortTag() != "!!str" {
				ps.add(in.Line, in.Column, "", "%s: expected a stage id, got %s", field, kindName(in))
				continue
			}
			s.Inputs = append(s.Inputs, in.Value)
			s.inputNodes = append(s.inputNodes, in)
		}
	default:
		ps.add(v.Line, v.Column, "", "%s: expected a list of stage ids, got %s", field, kindName(v))
	}
}

func (s *StageDef) decodeOnError(v *yaml.Node, field string, ps *problems) {
	s.onErrorNode = v
	switch {
	case v.Kind != yaml.ScalarNode || v.ShortTag() != "!!str":
		ps.add(v.Line, v.Column, "", "%s: expected fail, skip or dead_letter, got %s", field, kindName(v))
	case v.Value != stages.OnErrorFail && v.Value != stages.OnErrorSkip && v.Value != stages.OnErrorDeadLetter:
		ps.add(v.Line, v.Column, "", "%s: %q is not one of fail, skip, dead_letter", field, v.Value)
	default:
		s.OnError = v.Value
	}
}

func (s *StageDef) decodeWith(v *yaml.Node, field string, ps *problems) {
	switch {
	case v.Kind == yaml.ScalarNode && v.ShortTag() == "!!null":
	case v.Kind != yaml.MappingNode:
		ps.add(v.Line, v.Column, "", "%s: expected a mapping, got %s", field, kindName(v))
	default:
		s.With = v
	}
}

// decodeMaxErrors parses max_errors: a row count, or a percentage of the
// stage's input rows written "0.5%".
func (s *StageDef) decodeMaxErrors(v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode {
		return fmt.Errorf("expected a row count or a percentage such as 0.1%%, got %s", kindName(v))
	}
	if pct, ok := strings.CutSuffix(strings.TrimSpace(v.Value), "%"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(pct), 64)
		if err != nil || !(f > 0 && f <= 100) {
			return fmt.Errorf("%q: a percentage must be above 0 and at most 100", v.Value)
		}
		s.MaxErrorsPct = f
		return nil
	}
	n, err := strconv.ParseInt(v.Value, 10, 64)
	if err != nil || n < 0 || v.ShortTag() != "!!int" {
		return fmt.Errorf("%q: expected a row count (0 or more) or a percentage such as 0.1%%", v.Value)
	}
	s.MaxErrors = n
	return nil
}

func unknownKey(k string, valid []string) string {
	msg := fmt.Sprintf("unknown key %q", k)
	if s := nearest(k, valid); s != "" {
		return msg + fmt.Sprintf(" (did you mean %q?)", s)
	}
	return msg + fmt.Sprintf("; valid keys: %v", valid)
}

// Incremental reports whether the job runs in [ModeIncremental].
func (j *Job) Incremental() bool { return j.Mode == ModeIncremental }
