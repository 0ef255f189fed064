package model

import (
	"fmt"
	"strings"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/stages"
)

// Report describes where a model stage ran and how it batched: it answers
// "why are my batches small?".
type Report struct {
	Backend string `json:"backend"`
	Reason  string `json:"placement_reason"`
	Batches int64  `json:"batches"`
	Rows    int64  `json:"rows"`
	PadRows int64  `json:"pad_rows"`
	// Flushes counts batches by why they left the batcher: full,
	// preferred (a preferred size when the delay was spent), deadline
	// (max_delay spent), end_of_input.
	Flushes map[string]int64 `json:"flushes"`
	// Sizes counts batches by real rows, by power-of-two bucket: "≤512"
	// counts batches of 257 to 512 rows.
	Sizes     map[string]int64 `json:"batch_sizes"`
	MeanRows  float64          `json:"mean_batch_rows"`
	MaxWaitMs float64          `json:"max_wait_ms"`
	Copied    int64            `json:"batches_copied"`
	// RejectedRows counts the rows handed to the stage's on_error
	// (skip or dead_letter): nulls in input columns, and rows the backend
	// refused as invalid input. BisectRuns counts the model calls made to
	// isolate the latter.
	RejectedRows int64 `json:"rejected_rows"`
	BisectRuns   int64 `json:"bisect_runs"`
	// Tokens counts the values of variable-length list inputs (the
	// longest list of each row), PaddedTokens the same once every row is
	// padded to its batch's longest; PaddingRatio is the share of padding,
	// the model work spent on nothing.
	Tokens       int64   `json:"tokens,omitempty"`
	PaddedTokens int64   `json:"padded_tokens,omitempty"`
	PaddingRatio float64 `json:"padding_ratio,omitempty"`
	// Canary compares the first batch on an accelerated backend with the
	// CPU's result (nil when the model runs on the CPU or no comparison
	// was made).
	Canary *executor.CanaryReport `json:"canary,omitempty"`
}

func (r *Report) String() string {
	var fl []string
	for _, k := range []string{"full", "preferred", "deadline", "end_of_input"} {
		if n := r.Flushes[k]; n > 0 {
			fl = append(fl, fmt.Sprintf("%s %d", k, n))
		}
	}
	s := fmt.Sprintf("backend %s; %d batches, mean %.1f rows; flushes: %s; longest wait %.1fms",
		r.Backend, r.Batches, r.MeanRows, strings.Join(fl, ", "), r.MaxWaitMs)
	if r.RejectedRows > 0 || r.BisectRuns > 0 {
		s += fmt.Sprintf("; rejected %d rows (%d bisection runs)", r.RejectedRows, r.BisectRuns)
	}
	if r.PaddedTokens > 0 {
		s += fmt.Sprintf("; %d tokens, %.1f%% padding", r.Tokens, 100*r.PaddingRatio)
	}
	if r.Canary != nil {
		s += "; " + r.Canary.String()
	}
	return s
}

// Merge adds the figures of earlier, a Report of an earlier work unit's
// instance of the stage, to r's and returns r. Placement is r's; the canary
// is the first one made.
func (r *Report) Merge(earlier fmt.Stringer) fmt.Stringer {
	e, ok := earlier.(*Report)
	if !ok || e == nil {
		return r
	}
	r.Batches += e.Batches
	r.Rows += e.Rows
	r.PadRows += e.PadRows
	r.Copied += e.Copied
	r.RejectedRows += e.RejectedRows
	r.BisectRuns += e.BisectRuns
	r.Tokens += e.Tokens
	r.PaddedTokens += e.PaddedTokens
	r.setPaddingRatio()
	r.MaxWaitMs = max(r.MaxWaitMs, e.MaxWaitMs)
	for k, v := range e.Flushes {
		r.Flushes[k] += v
	}
	for k, v := range e.Sizes {
		r.Sizes[k] += v
	}
	if r.Batches > 0 {
		r.MeanRows = float64(r.Rows) / float64(r.Batches)
	}
	if e.Canary != nil {
		r.Canary = e.Canary
	}
	return r
}

var _ stages.ReportMerger = (*Report)(nil)

func (r *Report) setPaddingRatio() {
	if r.PaddedTokens > 0 {
		r.PaddingRatio = 1 - float64(r.Tokens)/float64(r.PaddedTokens)
	}
}

// Report returns the stage's placement and batching figures.
func (s *Stage) Report() fmt.Stringer {
	st := s.stats
	backend, reason := s.run.Placement()
	r := &Report{
		Backend: backend, Reason: reason,
		Batches: st.Batches, Rows: st.Rows, PadRows: st.PadRows, Copied: st.Copied,
		Flushes:      map[string]int64{},
		Sizes:        map[string]int64{},
		MaxWaitMs:    float64(st.MaxWaited.Microseconds()) / 1000,
		RejectedRows: s.rejected.Load(),
		BisectRuns:   s.bisectRuns.Load(),
		Tokens:       s.tokens.Load(),
		PaddedTokens: s.padded.Load(),
	}
	r.setPaddingRatio()
	names := map[batcher.Reason]string{batcher.Full: "full", batcher.Preferred: "preferred", batcher.Deadline: "deadline", batcher.EndOfInput: "end_of_input"}
	for reason, name := range names {
		r.Flushes[name] = st.Flushes[reason]
	}
	for i, n := range st.Sizes {
		if n > 0 {
			r.Sizes[fmt.Sprintf("≤%d", 1<<i)] = n
		}
	}
	if st.Batches > 0 {
		r.MeanRows = float64(st.Rows) / float64(st.Batches)
	}
	if er, ok := s.run.(executorRunner); ok {
		if c, ok := er.m.Canary(); ok {
			r.Canary = &c
		}
	}
	return r
}
