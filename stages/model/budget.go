package model

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"

	"github.com/pipe-ml/pipe/batcher"
	"github.com/pipe-ml/pipe/bridge"
)

// ErrOverBudget is wrapped by every [*BudgetError].
var ErrOverBudget = errors.New("a batch cannot fit the memory budget")

// BudgetError is a model stage whose smallest batch (one row, or the
// model's fixed batch) needs more model tensor bytes than its share of
// resources.memory_budget. It is reported when the stage is built, or,
// for outputs whose size the model leaves open, after the first call
// measured them.
type BudgetError struct {
	Stage     string // the stage id (the runtime names it in front of the message)
	Rows      int64  // rows of the smallest batch: 1, or pad_to
	Bytes     int64  // model input and output bytes of that batch
	Share     int64  // the stage's share: Budget / (Instances + 1)
	Budget    int64  // resources.memory_budget
	Instances int
	What      string // how the bytes were found: "declared by the model" or "measured"
}

func (e *BudgetError) Error() string {
	rows := "one row needs"
	if e.Rows > 1 {
		rows = fmt.Sprintf("a batch of %d rows (batch.pad_to, which a static batch dimension sets) needs", e.Rows)
	}
	return fmt.Sprintf("%s %s of model inputs and outputs (%s), more than the %s a batch may hold: "+
		"resources.memory_budget %s / (instances %d + 1); raise resources.memory_budget to at least %s",
		rows, sizeText(e.Bytes), e.What, sizeText(e.Share), sizeText(e.Budget), e.Instances,
		sizeText(e.Bytes*int64(e.Instances+1)))
}

// Unwrap returns [ErrOverBudget].
func (e *BudgetError) Unwrap() error { return ErrOverBudget }

// rowCost is what a model call costs in tensor bytes: per row of its
// inputs and of the outputs whose size the model declares, and per call
// whatever its rows (inputs and outputs with no batch dimension). open
// names the outputs whose size per row the model leaves open.
type rowCost struct {
	in, out           int64
	fixedIn, fixedOut int64
	open              []string
}

// fixed is the bytes of a call whatever its rows.
func (c rowCost) fixed() int64 { return c.fixedIn + c.fixedOut }

// perRow is the declared bytes of one row, inputs and outputs.
func (c rowCost) perRow() int64 { return c.in + c.out }

// cost works out the tensor bytes of a call from the plan's inputs and
// the model's declared outputs, mapped to columns or not (the backend
// produces them all).
func (p *plan) cost(outputs []bridge.TensorInfo) rowCost {
	var c rowCost
	for _, ip := range p.inputs {
		size := int64(ip.want.Size())
		switch {
		case ip.cols != nil:
			c.in += int64(len(ip.cols)) * size
		case ip.batched:
			c.in += product(ip.rowShape) * size
		default: // a constant without a batch dimension
			c.fixedIn += product(ip.rowShape) * size
		}
	}
	for _, t := range outputs {
		size := int64(t.Type.Size())
		if (t.Kind != "" && t.Kind != "tensor") || size == 0 {
			c.open = append(c.open, t.Name)
			continue
		}
		if len(t.Shape) == 0 {
			c.fixedOut += size
			continue
		}
		n := size
		for _, d := range t.Shape[1:] {
			if d.Dynamic() {
				n = -1
				break
			}
			n *= d.Size
		}
		if n < 0 {
			c.open = append(c.open, t.Name)
			continue
		}
		c.out += n
	}
	return c
}

// budget bounds the model tensor bytes of a stage's batches. A batch may
// hold share = memory_budget / (instances + 1) bytes, so that the calls
// running and the one packed behind them fit the budget together. Rows
// per batch are capped at what fits; when outputs have no declared size,
// batches run one row until a call has measured them.
type budget struct {
	stage     string
	total     int64 // resources.memory_budget
	instances int
	share     int64
	cost      rowCost
	padTo     int64
	// measured is the largest bytes per row of all outputs seen (when
	// cost.open is not empty); 0 before the first call.
	measured atomic.Int64
}

// newBudget checks that the smallest batch fits the stage's share of
// total bytes.
func newBudget(stage string, total int64, instances int, c rowCost, padTo int) (*budget, error) {
	b := &budget{stage: stage, total: total, instances: instances, share: total / int64(instances+1), cost: c, padTo: int64(padTo)}
	if err := b.check(b.cost.perRow(), "declared by the model"); err != nil {
		return nil, err
	}
	return b, nil
}

// rowBytes is the bytes of one row, inputs and outputs: declared, or
// measured when larger.
func (b *budget) rowBytes() int64 {
	return b.cost.in + max(b.cost.out, b.measured.Load())
}

// fitRows is the most rows a batch of rowBytes bytes a row may have.
func (b *budget) fitRows(rowBytes int64) int64 {
	if rowBytes <= 0 {
		return math.MaxInt64
	}
	return max(b.share-b.cost.fixed(), 0) / rowBytes
}

// check reports a *BudgetError when the smallest batch does not fit.
func (b *budget) check(rowBytes int64, what string) error {
	rows := max(b.padTo, 1)
	if b.fitRows(rowBytes) >= rows {
		return nil
	}
	return &BudgetError{Stage: b.stage, Rows: rows, Bytes: rows*rowBytes + b.cost.fixed(), Share: b.share,
		Budget: b.total, Instances: b.instances, What: what}
}

// measuring reports whether outputs of open size are still to be
// measured: batches then run one row, one call at a time.
func (b *budget) measuring() bool { return len(b.cost.open) > 0 && b.measured.Load() == 0 }

// limit returns the most rows a batch may have now: what fits, or 1 while
// outputs of open size have not been measured.
func (b *budget) limit() int {
	if b.measuring() {
		return 1
	}
	return int(min(b.fitRows(b.rowBytes()), math.MaxInt32))
}

// capPolicy lowers the policy's sizes to what fits the share as declared.
// Batches above it are split by the batcher into batches that fit, in
// order; the rows of an input larger than a batch are sliced without
// copying.
func (b *budget) capPolicy(p batcher.Policy) batcher.Policy {
	fit := b.fitRows(b.cost.perRow())
	if int64(p.MaxRows) <= fit {
		return p
	}
	p.MaxRows = int(fit)
	var pref []int
	for _, r := range p.PreferredRows {
		if r <= p.MaxRows {
			pref = append(pref, r)
		}
	}
	p.PreferredRows = pref
	if a := p.Adaptive; a != nil {
		c := *a
		c.MaxRows = min(c.MaxRows, p.MaxRows)
		if c.MaxRows == 0 {
			c.MaxRows = p.MaxRows
		}
		c.MinRows = min(c.MinRows, c.MaxRows)
		p.Adaptive = &c
	}
	return p
}

// sizer returns the batcher sizer for p: nil (the batcher's own) when the
// model declares every output's size, else one capped at [budget.limit].
func (b *budget) sizer(p batcher.Policy) (*batcher.Capped, error) {
	if len(b.cost.open) == 0 {
		return nil, nil
	}
	var inner batcher.Sizer = batcher.Fixed(p.MaxRows)
	if p.Adaptive != nil {
		s, err := batcher.NewAdaptiveSizer(*p.Adaptive, p.MaxRows)
		if err != nil {
			return nil, err
		}
		inner = s
	}
	return batcher.NewCapped(inner, b.limit()), nil
}

// observe learns the output bytes per row of a call of rows rows (padding
// included) from its outputs, and returns a *BudgetError when one row no
// longer fits. It does nothing when the model declares every output.
func (b *budget) observe(outs []bridge.Tensor, rows int64, s *batcher.Capped) error {
	if s == nil || rows <= 0 {
		return nil
	}
	var n int64
	for _, t := range outs {
		n += int64(len(t.Data))
		for _, str := range t.Strings {
			n += int64(len(str))
		}
	}
	got := max((n-b.cost.fixedOut)/rows, 1)
	if got > b.measured.Load() {
		b.measured.Store(got) // only the stage's goroutine writes it
	}
	if err := b.check(b.rowBytes(), fmt.Sprintf("outputs measured: %s a row", sizeText(got))); err != nil {
		return err
	}
	s.SetLimit(b.limit())
	return nil
}

// measure learns from a completed call the bytes of outputs the model does
// not size in advance (see [budget.observe]).
func (s *Stage) measure(b *batcher.Batcher, f *inflight, outs []bridge.Tensor) error {
	c, _ := b.Sizer().(*batcher.Capped)
	rows := f.n
	if s.policy.PadTo > 0 {
		rows = int64(s.policy.PadTo)
	}
	return s.bud.observe(outs, rows, c)
}

// Estimate describes, for `pipe validate`, the model tensor bytes of one
// row and the largest batch that fits the stage's share of the memory
// budget. warning is not empty when batch.max_rows does not fit: batches
// are then split.
func (s *Stage) Estimate() (note, warning string) {
	b := s.bud
	c := b.cost
	var parts []string
	parts = append(parts, fmt.Sprintf("inputs %s", sizeText(c.in)), fmt.Sprintf("outputs %s", sizeText(c.out)))
	if c.fixed() > 0 {
		parts = append(parts, fmt.Sprintf("plus %s a call", sizeText(c.fixed())))
	}
	note = fmt.Sprintf("model tensors about %s a row (%s); a batch may hold %s (resources.memory_budget %s / (instances %d + 1)): up to %d rows, batch.max_rows %d",
		sizeText(c.perRow()), strings.Join(parts, ", "), sizeText(b.share), sizeText(b.total), b.instances,
		min(b.fitRows(c.perRow()), int64(s.conf.Batch.MaxRows)), s.conf.Batch.MaxRows)
	if len(c.open) > 0 {
		note += fmt.Sprintf("; the model does not size output %s: the first batch runs one row, and its measure caps the batches after it",
			strings.Join(c.open, ", "))
	}
	if s.split {
		warning = fmt.Sprintf("batch.max_rows %d × %s a row = %s exceeds the %s a batch may hold (resources.memory_budget %s / (instances %d + 1)); batches will be split to %d rows",
			s.conf.Batch.MaxRows, sizeText(c.perRow()), sizeText(int64(s.conf.Batch.MaxRows)*c.perRow()+c.fixed()),
			sizeText(b.share), sizeText(b.total), b.instances, s.policy.MaxRows)
	}
	return note, warning
}

// sizeText writes n bytes for people: "640 bytes", "64 MiB", or "1.0 MiB
// (1048592 bytes)" when the unit rounds.
func sizeText(n int64) string {
	units := []string{"KiB", "MiB", "GiB", "TiB"}
	if n < 1024 {
		return fmt.Sprintf("%d bytes", n)
	}
	unit, i := int64(1024), 0
	for n >= unit*1024 && i < len(units)-1 {
		unit *= 1024
		i++
	}
	if n%unit == 0 {
		return fmt.Sprintf("%d %s", n/unit, units[i])
	}
	return fmt.Sprintf("%.1f %s (%d bytes)", float64(n)/float64(unit), units[i], n)
}
