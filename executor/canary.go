package executor

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/float16"

	"github.com/pipe-ml/pipe/bridge"
)

// DefaultCanaryBackend is the reference backend of the canary comparison
// when Options.CanaryBackend is "".
const DefaultCanaryBackend = "cpu"

// CanaryReport compares a model's first real batch on its placed backend
// with the same batch on the reference backend (the CPU): the Neural
// Engine computes in float16, so its results differ from the CPU's, and
// this says by how much.
type CanaryReport struct {
	Backend   string       `json:"backend"`   // where the model runs
	Reference string       `json:"reference"` // where the canary ran, normally cpu
	Rows      int          `json:"rows"`
	Outputs   []OutputDiff `json:"outputs"`
	// MaxAbs and MaxRel are the largest differences over all outputs.
	MaxAbs float64 `json:"max_abs_diff"`
	MaxRel float64 `json:"max_rel_diff"`
	// Error says why the comparison could not be made (the reference
	// failed to load or run); the batch itself is unaffected.
	Error string `json:"error,omitempty"`
}

// OutputDiff is the difference on one model output.
type OutputDiff struct {
	Name     string `json:"name"`
	Elements int64  `json:"elements"`
	// MaxAbs is max |got - ref|; MaxRel is max |got - ref| / |ref| over
	// the elements whose reference is not zero.
	MaxAbs float64 `json:"max_abs_diff"`
	MaxRel float64 `json:"max_rel_diff"`
	// Mismatches counts elements that differ (for every element type;
	// strings and booleans have no distance).
	Mismatches int64 `json:"mismatches"`
	// Note says why the output could not be compared (shape or type
	// differs), "" when it was.
	Note string `json:"note,omitempty"`
}

func (r CanaryReport) String() string {
	if r.Error != "" {
		return fmt.Sprintf("canary %s vs %s: %s", r.Backend, r.Reference, r.Error)
	}
	return fmt.Sprintf("canary %s vs %s on %d rows: max abs diff %.3g, max rel diff %.3g", r.Backend, r.Reference, r.Rows, r.MaxAbs, r.MaxRel)
}

// canary is a model's one-shot comparison state.
type canary struct {
	mu     sync.Mutex
	taken  bool // a call has claimed the comparison
	report *CanaryReport
}

// Canary returns the comparison of the model's first real batch with the
// reference backend, once it has been made. ok is false before that, and
// always when the model runs on the reference backend itself, when the
// reference backend cannot open the model, or when canaries are off
// (Options.CanaryBackend "none").
func (m *Model) Canary() (r CanaryReport, ok bool) {
	m.can.mu.Lock()
	defer m.can.mu.Unlock()
	if m.can.report == nil {
		return CanaryReport{}, false
	}
	r = *m.can.report
	r.Outputs = slices.Clone(r.Outputs)
	return r, true
}

// claimCanary reports whether the call that just ran on cd should run the
// canary: the first successful call on a backend other than the reference.
func (m *Model) claimCanary(cd *cand) (ref string, ok bool) {
	ref = m.e.opts.CanaryBackend
	if ref == "" {
		ref = DefaultCanaryBackend
	}
	if ref == "none" || cd.name == ref {
		return "", false
	}
	m.can.mu.Lock()
	defer m.can.mu.Unlock()
	if m.can.taken {
		return "", false
	}
	m.can.taken = true
	return ref, true
}

// runCanary runs c's input on the reference backend and compares the
// outputs with out, got on cd. It runs in c's worker before the call
// finishes, while c.in is still borrowed; the reference session comes from
// the registry like any other and is released afterwards. It never fails
// the call.
func (c *Call) runCanary(cd *cand, ref string, out []bridge.Tensor) {
	m := c.m
	e := m.e
	r := &CanaryReport{Backend: cd.name, Reference: ref, Rows: c.rows}
	defer func() {
		m.can.mu.Lock()
		m.can.report = r
		m.can.mu.Unlock()
		if r.Error != "" {
			e.log.Warn("canary comparison failed", "stage", m.spec.Stage, "model", m.spec.Path, "backend", cd.name, "reference", ref, "err", r.Error)
			return
		}
		for _, o := range r.Outputs {
			e.log.Info("canary", "stage", m.spec.Stage, "model", m.spec.Path, "backend", cd.name, "reference", ref,
				"output", o.Name, "max_abs_diff", o.MaxAbs, "max_rel_diff", o.MaxRel, "mismatches", o.Mismatches, "note", o.Note)
		}
	}()
	rc, why := m.candidate(ref, modelExt(m.spec.Path), false)
	if rc == nil {
		r.Error = why
		return
	}
	ent, err := m.open(c.ctx, rc)
	if err != nil {
		r.Error = fmt.Sprintf("%s failed to open the model: %v", ref, err)
		return
	}
	defer e.reg.release(ent)
	want, err := ent.sess.Run(c.ctx, c.in, c.mem)
	if err != nil {
		r.Error = fmt.Sprintf("%s failed to run the batch: %v", ref, err)
		return
	}
	defer freeTensors(c.mem, want)
	if len(want) != len(out) {
		r.Error = fmt.Sprintf("%s returned %d outputs, %s %d", ref, len(want), cd.name, len(out))
		return
	}
	names := m.info.Outputs
	for i := range out {
		d := compareTensors(out[i], want[i])
		if i < len(names) {
			d.Name = names[i].Name
		} else {
			d.Name = fmt.Sprintf("output %d", i)
		}
		r.MaxAbs = max(r.MaxAbs, d.MaxAbs)
		r.MaxRel = max(r.MaxRel, d.MaxRel)
		r.Outputs = append(r.Outputs, d)
	}
}

// freeTensors returns the Data of ts to mem.
func freeTensors(mem interface{ Free([]byte) }, ts []bridge.Tensor) {
	for i := range ts {
		if ts[i].Data != nil {
			mem.Free(ts[i].Data)
		}
	}
}

// compareTensors measures how far got is from ref, element by element.
func compareTensors(got, ref bridge.Tensor) OutputDiff {
	var d OutputDiff
	if !slices.Equal(got.Shape, ref.Shape) {
		d.Note = fmt.Sprintf("shape %v, reference %v", got.Shape, ref.Shape)
		return d
	}
	d.Elements = ref.NumElements()
	if got.Type == bridge.String || ref.Type == bridge.String {
		if got.Type != ref.Type {
			d.Note = fmt.Sprintf("type %s, reference %s", got.Type, ref.Type)
			return d
		}
		for i := range min(len(got.Strings), len(ref.Strings)) {
			if got.Strings[i] != ref.Strings[i] {
				d.Mismatches++
			}
		}
		return d
	}
	gv, ok1 := numbers(got)
	rv, ok2 := numbers(ref)
	if !ok1 || !ok2 {
		d.Note = fmt.Sprintf("type %s, reference %s: not comparable", got.Type, ref.Type)
		return d
	}
	n := min(len(gv), len(rv))
	if int64(n) != d.Elements {
		d.Note = fmt.Sprintf("%d and %d values for %d elements", len(gv), len(rv), d.Elements)
	}
	for i := range n {
		g, w := gv[i], rv[i]
		if g == w || (math.IsNaN(g) && math.IsNaN(w)) {
			continue
		}
		d.Mismatches++
		diff := math.Abs(g - w)
		if math.IsNaN(diff) {
			diff = math.Inf(1)
		}
		d.MaxAbs = max(d.MaxAbs, diff)
		if w != 0 {
			d.MaxRel = max(d.MaxRel, diff/math.Abs(w))
		}
	}
	return d
}

// numbers decodes a tensor's little-endian values as float64; false for
// element types without a numeric reading.
func numbers(t bridge.Tensor) ([]float64, bool) {
	size := t.Type.Size()
	if size <= 0 {
		return nil, false
	}
	n := len(t.Data) / size
	out := make([]float64, n)
	b := t.Data
	for i := range n {
		p := b[i*size:]
		switch t.Type {
		case bridge.Float32:
			out[i] = float64(math.Float32frombits(binary.LittleEndian.Uint32(p)))
		case bridge.Float64:
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(p))
		case bridge.Float16:
			out[i] = float64(float16.FromBits(binary.LittleEndian.Uint16(p)).Float32())
		case bridge.Int8:
			out[i] = float64(int8(p[0]))
		case bridge.Uint8, bridge.Bool:
			out[i] = float64(p[0])
		case bridge.Int16:
			out[i] = float64(int16(binary.LittleEndian.Uint16(p)))
		case bridge.Uint16:
			out[i] = float64(binary.LittleEndian.Uint16(p))
		case bridge.Int32:
			out[i] = float64(int32(binary.LittleEndian.Uint32(p)))
		case bridge.Uint32:
			out[i] = float64(binary.LittleEndian.Uint32(p))
		case bridge.Int64:
			out[i] = float64(int64(binary.LittleEndian.Uint64(p)))
		case bridge.Uint64:
			out[i] = float64(binary.LittleEndian.Uint64(p))
		default:
			return nil, false
		}
	}
	return out, true
}
