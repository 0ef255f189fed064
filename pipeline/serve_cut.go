package pipeline

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/stages"
)

// ErrNotServable is returned by [Job.Cut] when the part of a job to serve
// cannot answer requests row for row.
var ErrNotServable = errors.New("cannot serve the job")

// CutOptions say which part of a job [Job.Cut] keeps and what replaces its
// ends.
type CutOptions struct {
	// From is the stage whose output requests replace; To the stage whose
	// output answers them.
	From, To string
	// Request is the stage type put in From's place (a source emitting
	// From's schema); Response the type of the sink added reading To. Empty:
	// From is kept as it is and no sink is added (to learn the schemas).
	Request, Response string
}

// rowPreserving lists the stage types that emit every row they receive,
// once and in order: what serving needs to hand each client its own rows
// back by position. filter drops rows and merge interleaves its inputs.
var notRowPreserving = map[string]string{
	"filter": "it drops rows",
	"merge":  "it interleaves its inputs",
}

// Cut returns a copy of the job reduced to the stages on a path from
// opts.From to opts.To, with From replaced by a stage of type opts.Request
// and a stage of type opts.Response (id [ResponseStage]) reading To. It refuses,
// wrapping [ErrNotServable], a cut holding a stage that reads a stage
// outside it, one that drops or reorders rows, or one with an on_error
// policy other than fail.
func (j *Job) Cut(opts CutOptions) (*Job, error) {
	byID := map[string]*StageDef{}
	for _, s := range j.Stages {
		byID[s.ID] = s
	}
	from, to := byID[opts.From], byID[opts.To]
	switch {
	case from == nil:
		return nil, fmt.Errorf("%w: no stage %q (the request input)", ErrNotServable, opts.From)
	case to == nil:
		return nil, fmt.Errorf("%w: no stage %q (the response)", ErrNotServable, opts.To)
	}
	keep := map[string]bool{}
	if !j.collectCut(to, opts.From, byID, keep, map[string]bool{}) {
		return nil, fmt.Errorf("%w: stage %q does not read, directly or through others, from %q", ErrNotServable, opts.To, opts.From)
	}
	cut := &Job{File: j.File, Dir: j.Dir, Version: j.Version, Name: j.Name, Description: j.Description, Source: j.Source, resourcesNode: j.resourcesNode}
	for _, s := range j.Stages {
		if !keep[s.ID] {
			continue
		}
		if err := checkServable(s, opts.From, keep); err != nil {
			return nil, err
		}
		c := *s
		if s.ID == opts.From && opts.Request != "" {
			c.Type, c.Inputs, c.With, c.inputNodes, c.origins = opts.Request, nil, nil, nil, nil
		}
		cut.Stages = append(cut.Stages, &c)
	}
	if opts.Response != "" {
		if byID[ResponseStage] != nil {
			return nil, fmt.Errorf("%w: the job has a stage named %q, the id serving gives its response", ErrNotServable, ResponseStage)
		}
		cut.Stages = append(cut.Stages, &StageDef{ID: ResponseStage, Type: opts.Response, Inputs: []string{opts.To}, MaxErrors: -1,
			node: to.node, idNode: to.node, typeNode: to.node, inputNodes: []*yaml.Node{to.node}})
	}
	return cut, nil
}

// ResponseStage is the id of the sink [Job.Cut] adds.
const ResponseStage = "serve_response"

// collectCut marks in keep the stages between from and s (both included)
// and reports whether s reads from from at all.
func (j *Job) collectCut(s *StageDef, from string, byID map[string]*StageDef, keep, seen map[string]bool) bool {
	if s.ID == from {
		keep[s.ID] = true
		return true
	}
	if seen[s.ID] {
		return keep[s.ID]
	}
	seen[s.ID] = true
	found := false
	for _, in := range s.Inputs {
		if d := byID[in]; d != nil && j.collectCut(d, from, byID, keep, seen) {
			found = true
		}
	}
	if found {
		keep[s.ID] = true
	}
	return found
}

// checkServable refuses a stage of the cut that would break the row-for-row
// correspondence between requests and responses.
func checkServable(s *StageDef, from string, keep map[string]bool) error {
	if s.ID == from {
		return nil
	}
	if why, bad := notRowPreserving[s.Type]; bad {
		return fmt.Errorf("%w: stage %q (%s) is between the request and the response, and %s", ErrNotServable, s.ID, s.Type, why)
	}
	if s.OnError != "" && s.OnError != stages.OnErrorFail {
		return fmt.Errorf("%w: stage %q has on_error: %s; a served graph must answer every row (a failing row fails its request)", ErrNotServable, s.ID, s.OnError)
	}
	var outside []string
	for _, in := range s.Inputs {
		if !keep[in] {
			outside = append(outside, in)
		}
	}
	if len(outside) > 0 {
		return fmt.Errorf("%w: stage %q also reads %s, which the request does not feed", ErrNotServable, s.ID, strings.Join(outside, ", "))
	}
	return nil
}

// Sources returns the ids of the job's stages of source kind in reg (nil:
// stages.Default()), and Sinks those of sink kind, in job order.
func (j *Job) Sources(reg *stages.Registry) []string { return j.idsOfKind(reg, stages.KindSource) }

// Sinks: see [Job.Sources].
func (j *Job) Sinks(reg *stages.Registry) []string { return j.idsOfKind(reg, stages.KindSink) }

func (j *Job) idsOfKind(reg *stages.Registry, k stages.Kind) []string {
	if reg == nil {
		reg = stages.Default()
	}
	var ids []string
	for _, s := range j.Stages {
		if e, err := reg.Lookup(s.Type); err == nil && e.Kind == k {
			ids = append(ids, s.ID)
		}
	}
	return ids
}

// Stage returns the job's stage with the given id, or nil.
func (j *Job) Stage(id string) *StageDef {
	i := slices.IndexFunc(j.Stages, func(s *StageDef) bool { return s.ID == id })
	if i < 0 {
		return nil
	}
	return j.Stages[i]
}

// Schema returns the schema of the batches the stage with the given id
// emits, as Build checked it (nil for a sink or an unknown id), and the
// schemas arriving on its inputs.
func (p *Pipeline) Schema(id string) (out *arrow.Schema, in []*arrow.Schema) {
	for _, n := range p.nodes {
		if n.def.ID != id {
			continue
		}
		for _, i := range n.inputs {
			in = append(in, i.schema)
		}
		return n.schema, in
	}
	return nil, nil
}

// StagesOfType returns the ids of the built job's stages of the given
// type, in topological order.
func (p *Pipeline) StagesOfType(typ string) []string {
	var ids []string
	for _, n := range p.nodes {
		if n.def.Type == typ {
			ids = append(ids, n.def.ID)
		}
	}
	return ids
}

// ReadColumns returns the input columns the built stage with the given id
// reads, when it says ([stages.ColumnReader]).
func (p *Pipeline) ReadColumns(id string) ([]string, bool) {
	for _, n := range p.nodes {
		if n.def.ID == id {
			cr, ok := n.stage.(stages.ColumnReader)
			if !ok {
				return nil, false
			}
			return cr.ReadColumns(), true
		}
	}
	return nil, false
}
