package batcher

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// Policy says when the pending rows of a [Batcher] form a batch and how big
// it may be. It is plain Go: the model stage decodes its `batch:` block
// (keys max_rows, max_delay, preferred_rows, pad_to, adaptive) into its own
// config struct and maps it to a Policy; the key names below are the ones
// users write.
//
// The rules, in order, for the next batch when P rows are pending and T is
// the target size (the [Sizer]'s target, at most MaxRows):
//
//  1. Full: when P ≥ T, a batch of exactly T rows is ready at once.
//  2. Delay spent: when P < T and the oldest pending row arrived MaxDelay
//     ago or more (or MaxDelay is 0), a partial batch is ready. Its size is
//     the largest PreferredRows entry ≤ P (reason [Preferred]), or P when
//     no entry fits (reason [Deadline]). Rows left over keep their own
//     arrival times: they become ready when the oldest of them has waited
//     MaxDelay, not later.
//  3. End of input: [Batcher.Flush] takes batches regardless of the delay,
//     sized as in rule 2 (reason [EndOfInput] for the partial ones).
//
// Every batch is padded to PadTo rows when PadTo is set.
type Policy struct {
	// MaxRows (max_rows) is the largest batch, in rows. Required, at least 1.
	// Without Adaptive it is also the target size: batches are cut at
	// MaxRows as soon as that many rows are pending.
	MaxRows int

	// MaxDelay (max_delay) is how long the oldest pending row may wait for
	// a batch to fill before a partial batch is sent. 0 (the default) sends
	// whatever is pending at once, as Triton does without a queue delay.
	MaxDelay time.Duration

	// PreferredRows (preferred_rows) lists batch sizes the model runs best
	// at (TensorRT optimisation profiles, Core ML enumerated shapes). They
	// only shape partial batches: when the delay is spent, the batcher sends
	// the largest preferred size the pending rows fill rather than a ragged
	// batch, and the rest waits (rule 2 above). Each must be in
	// [1, MaxRows]; order does not matter; no duplicates.
	PreferredRows []int

	// PadTo (pad_to) is for models with a static batch dimension: every
	// batch is padded up to exactly PadTo rows by repeating its last real
	// row, and [Batch.Rows] says how many rows are real so the caller drops
	// the outputs of the padding. 0 (the default) disables padding;
	// otherwise it must be ≥ MaxRows.
	PadTo int

	// Adaptive (adaptive), when set, lets an [AdaptiveSizer] choose the
	// target size from measured latency instead of using MaxRows.
	Adaptive *Adaptive
}

// Adaptive configures latency-driven batch sizing: the sizer explores batch
// sizes between MinRows and MaxRows and settles on the one with the best
// throughput (rows per second) whose latency stays within TargetLatency.
// See [AdaptiveSizer] for the algorithm.
type Adaptive struct {
	// TargetLatency (target_latency) is the latency budget of one model
	// run. Required, above 0.
	TargetLatency time.Duration
	// MinRows (min_rows) is the smallest target size; 0 means 1.
	MinRows int
	// MaxRows (max_rows) is the largest target size; 0 means the policy's
	// MaxRows, which it must not exceed.
	MaxRows int
}

// ErrInvalidPolicy is wrapped by every [PolicyError].
var ErrInvalidPolicy = errors.New("invalid batch policy")

// PolicyError is one problem with a [Policy]. Key is the YAML key under the
// `batch:` block ("max_rows", "adaptive.min_rows", "preferred_rows[2]"), so
// the model stage can point at the offending node.
type PolicyError struct {
	Key string
	Msg string
}

func (e *PolicyError) Error() string {
	return "batch policy: " + e.Key + ": " + e.Msg
}

// Unwrap returns [ErrInvalidPolicy].
func (e *PolicyError) Unwrap() error { return ErrInvalidPolicy }

// Validate checks the policy and returns every problem found, joined; each
// is a *[PolicyError].
func (p Policy) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &PolicyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if p.MaxRows < 1 {
		bad("max_rows", "must be at least 1, got %d", p.MaxRows)
	}
	if p.MaxDelay < 0 {
		bad("max_delay", "must not be negative, got %s", p.MaxDelay)
	}
	seen := make(map[int]bool, len(p.PreferredRows))
	for i, n := range p.PreferredRows {
		key := fmt.Sprintf("preferred_rows[%d]", i)
		switch {
		case n < 1:
			bad(key, "must be at least 1, got %d", n)
		case p.MaxRows >= 1 && n > p.MaxRows:
			bad(key, "%d is above max_rows (%d)", n, p.MaxRows)
		case seen[n]:
			bad(key, "%d is listed twice", n)
		}
		seen[n] = true
	}
	if p.PadTo < 0 {
		bad("pad_to", "must not be negative, got %d", p.PadTo)
	} else if p.PadTo > 0 && p.PadTo < p.MaxRows {
		bad("pad_to", "%d is below max_rows (%d): a batch could not be padded to it", p.PadTo, p.MaxRows)
	}
	if a := p.Adaptive; a != nil {
		if p.PadTo > 0 {
			bad("adaptive", "cannot be combined with pad_to: with a static batch dimension every run costs the same, so the largest batch is always best")
		}
		if a.TargetLatency <= 0 {
			bad("adaptive.target_latency", "must be above 0, got %s", a.TargetLatency)
		}
		if a.MinRows < 0 {
			bad("adaptive.min_rows", "must not be negative, got %d", a.MinRows)
		}
		if a.MaxRows < 0 {
			bad("adaptive.max_rows", "must not be negative, got %d", a.MaxRows)
		} else if a.MaxRows > p.MaxRows {
			bad("adaptive.max_rows", "%d is above max_rows (%d)", a.MaxRows, p.MaxRows)
		}
		if lo, hi := a.withDefaults(p.MaxRows); a.MinRows >= 0 && a.MaxRows >= 0 && lo > hi {
			bad("adaptive.min_rows", "%d is above adaptive.max_rows (%d)", lo, hi)
		}
	}
	return errors.Join(errs...)
}

// withDefaults returns the effective size range of an adaptive policy
// under a batcher whose largest batch is maxRows.
func (a Adaptive) withDefaults(maxRows int) (lo, hi int) {
	lo, hi = a.MinRows, a.MaxRows
	if lo < 1 {
		lo = 1
	}
	if hi == 0 {
		hi = maxRows
	}
	return lo, hi
}

// preferredSorted returns a sorted copy of p.PreferredRows.
func (p Policy) preferredSorted() []int {
	s := slices.Clone(p.PreferredRows)
	slices.Sort(s)
	return s
}
