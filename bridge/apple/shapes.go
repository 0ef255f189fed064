package apple

import (
	"errors"
	"fmt"
	"slices"

	"github.com/pipe-ml/pipe/bridge"
)

// ConstraintKind is Core ML's MLMultiArrayShapeConstraintType, plus Fixed
// for inputs whose declared shape is fully static (ONNX models, or Core ML
// models without flexibility).
type ConstraintKind int

// Shape constraint kinds; the first three values are Apple's.
const (
	ConstraintFixed       ConstraintKind = 0
	ConstraintUnspecified ConstraintKind = 1 // only the declared shape
	ConstraintEnumerated  ConstraintKind = 2
	ConstraintRange       ConstraintKind = 3
)

// DimRange is the allowed sizes of one dimension: Min..Max, Max < 0 meaning
// unbounded.
type DimRange struct{ Min, Max int64 }

func (r DimRange) contains(n int64) bool { return n >= r.Min && (r.Max < 0 || n <= r.Max) }

// ShapeConstraint is the flexibility Core ML declares for an input.
type ShapeConstraint struct {
	Kind       ConstraintKind
	Enumerated [][]int64  // ConstraintEnumerated: every accepted shape
	Ranges     []DimRange // ConstraintRange: one range per dimension
}

// InputSpec is one model input as the planner sees it.
type InputSpec struct {
	Info       bridge.TensorInfo
	Constraint ShapeConstraint
}

// BatchPolicy is what the job asks of the batcher for one model stage.
type BatchPolicy struct {
	// MaxRows is the largest batch the batcher emits (required, > 0).
	MaxRows int
	// DimSizes pins symbolic dimensions other than the batch, by name
	// ("seq": 128). The Neural Engine needs every dimension fixed.
	DimSizes map[string]int64
}

// BatchMode says how the bridge feeds rows to the model.
type BatchMode int

// Batch modes.
const (
	// BatchPadded runs one prediction per batch whose batch dimension is one
	// of ShapePlan.BatchSizes; the batcher pads to the smallest that fits.
	BatchPadded BatchMode = iota + 1
	// BatchPerRow runs a model with batch dimension 1 once per row, all rows
	// of a batch in one MLArrayBatchProvider call.
	BatchPerRow
	// BatchFlexible runs any batch size from 1 to ShapePlan.BatchSizes[0]
	// without padding (a range-shaped batch dimension; not for the ANE).
	BatchFlexible
)

func (m BatchMode) String() string {
	switch m {
	case BatchPadded:
		return "padded"
	case BatchPerRow:
		return "per_row"
	case BatchFlexible:
		return "flexible"
	}
	return fmt.Sprintf("BatchMode(%d)", int(m))
}

// ShapePlan is the result of [PlanShapes]: the shapes to compile and how the
// batcher must size batches.
type ShapePlan struct {
	Mode BatchMode
	// BatchSizes are the batch sizes the model runs, ascending. For
	// BatchPadded the batcher pads a batch of n rows to the smallest size >=
	// n; for BatchPerRow it is [1].
	BatchSizes []int
	// PadTo is the batcher's pad_to: the largest of BatchSizes for
	// BatchPadded, 0 otherwise (no padding).
	PadTo int
	// Shapes gives, for each batch size, the fixed shape of every input by
	// name: what the bridge hands to Core ML, and what an ONNX model must be
	// pinned to for ONNX Runtime's CoreML provider.
	Shapes map[int]map[string][]int64
	// DimOverrides are the symbolic dimension values to pin in an ONNX
	// model (the batch dimension under its name, and BatchPolicy.DimSizes),
	// for ONNX Runtime's free-dimension overrides.
	DimOverrides map[string]int64
}

// ErrShape is wrapped by every planning error about a model's shapes.
var ErrShape = errors.New("cannot plan static shapes")

// PlanShapes chooses the static shapes to compile for the Neural Engine (or
// any backend needing static shapes) and the padding the batcher must use.
// Dimension 0 of every input is the batch dimension. Fixed non-batch
// dimensions are taken as declared; symbolic ones must be named in
// p.DimSizes or be pinned by the constraint. With enumerated shapes, the
// batch sizes are the enumerated ones up to MaxRows (at least the
// smallest); with a range or a symbolic batch, the plan pins the batch to
// MaxRows (clamped to the range) unless flexible is true, in which case a
// range covering 1..MaxRows is run unpadded.
func PlanShapes(inputs []InputSpec, p BatchPolicy, flexible bool) (ShapePlan, error) {
	if p.MaxRows <= 0 {
		return ShapePlan{}, fmt.Errorf("%w: max_rows must be positive, got %d", ErrShape, p.MaxRows)
	}
	if len(inputs) == 0 {
		return ShapePlan{}, fmt.Errorf("%w: model has no inputs", ErrShape)
	}
	plan := ShapePlan{Shapes: map[int]map[string][]int64{}, DimOverrides: map[string]int64{}}
	sizes, batchName, err := batchSizes(inputs, p, flexible, &plan)
	if err != nil {
		return ShapePlan{}, err
	}
	for _, n := range sizes {
		m := map[string][]int64{}
		for _, in := range inputs {
			s, err := inputShape(in, n, p, plan.DimOverrides)
			if err != nil {
				return ShapePlan{}, err
			}
			m[in.Info.Name] = s
		}
		plan.Shapes[n] = m
	}
	plan.BatchSizes = sizes
	if plan.Mode == BatchPadded {
		plan.PadTo = sizes[len(sizes)-1]
		if batchName != "" && len(sizes) == 1 {
			plan.DimOverrides[batchName] = int64(sizes[0])
		}
	}
	return plan, nil
}

// batchSizes decides the mode and sizes from the batch dimension of every
// input; all inputs must agree.
func batchSizes(inputs []InputSpec, p BatchPolicy, flexible bool, plan *ShapePlan) ([]int, string, error) {
	var sizes []int
	name := ""
	for i, in := range inputs {
		s, n, mode, err := oneBatch(in, p.MaxRows, flexible)
		if err != nil {
			return nil, "", err
		}
		if i == 0 {
			sizes, name, plan.Mode = s, n, mode
			continue
		}
		if mode != plan.Mode || !slices.Equal(s, sizes) {
			return nil, "", fmt.Errorf("%w: input %q batch dimension allows %v, input %q allows %v",
				ErrShape, in.Info.Name, s, inputs[0].Info.Name, sizes)
		}
	}
	return sizes, name, nil
}

func oneBatch(in InputSpec, maxRows int, flexible bool) ([]int, string, BatchMode, error) {
	name := in.Info.Name
	if len(in.Info.Shape) == 0 {
		return nil, "", 0, fmt.Errorf("%w: input %q is a scalar; it has no batch dimension", ErrShape, name)
	}
	d0 := in.Info.Shape[0]
	switch in.Constraint.Kind {
	case ConstraintEnumerated:
		var out []int
		for _, s := range in.Constraint.Enumerated {
			if len(s) == 0 || s[0] < 1 {
				continue
			}
			if !slices.Contains(out, int(s[0])) {
				out = append(out, int(s[0]))
			}
		}
		slices.Sort(out)
		if len(out) == 0 {
			return nil, "", 0, fmt.Errorf("%w: input %q enumerates no shapes", ErrShape, name)
		}
		keep := out[:1]
		for _, n := range out[1:] {
			if n <= maxRows {
				keep = append(keep, n)
			}
		}
		if len(keep) == 1 && keep[0] == 1 && len(out) == 1 {
			return []int{1}, "", BatchPerRow, nil
		}
		return keep, "", BatchPadded, nil
	case ConstraintRange:
		if len(in.Constraint.Ranges) == 0 {
			return nil, "", 0, fmt.Errorf("%w: input %q declares a range constraint without ranges", ErrShape, name)
		}
		r := in.Constraint.Ranges[0]
		if flexible && r.contains(1) && r.contains(int64(maxRows)) {
			return []int{maxRows}, "", BatchFlexible, nil
		}
		n := int64(maxRows)
		if r.Max >= 0 && n > r.Max {
			n = r.Max
		}
		if n < r.Min {
			n = r.Min
		}
		if n == 1 {
			return []int{1}, "", BatchPerRow, nil
		}
		return []int{int(n)}, "", BatchPadded, nil
	}
	if d0.Dynamic() {
		return []int{maxRows}, d0.Name, BatchPadded, nil
	}
	if d0.Size == 1 {
		return []int{1}, "", BatchPerRow, nil
	}
	if d0.Size < 1 {
		return nil, "", 0, fmt.Errorf("%w: input %q batch dimension is %d", ErrShape, name, d0.Size)
	}
	return []int{int(d0.Size)}, "", BatchPadded, nil
}

// inputShape returns the fixed shape of one input for batch size n.
func inputShape(in InputSpec, n int, p BatchPolicy, overrides map[string]int64) ([]int64, error) {
	name := in.Info.Name
	if in.Constraint.Kind == ConstraintEnumerated {
		// The first enumerated shape with this batch size whose other
		// dimensions agree with DimSizes.
		for _, s := range in.Constraint.Enumerated {
			if len(s) > 0 && s[0] == int64(n) && agrees(in.Info.Shape, s, p.DimSizes) {
				return slices.Clone(s), nil
			}
		}
		if n == 1 && len(in.Constraint.Enumerated) > 0 {
			return slices.Clone(in.Constraint.Enumerated[0]), nil
		}
		return nil, fmt.Errorf("%w: input %q has no enumerated shape with batch %d matching dims %v", ErrShape, name, n, p.DimSizes)
	}
	out := make([]int64, len(in.Info.Shape))
	out[0] = int64(n)
	for i := 1; i < len(in.Info.Shape); i++ {
		d := in.Info.Shape[i]
		switch {
		case !d.Dynamic():
			out[i] = d.Size
		case in.Constraint.Kind == ConstraintRange && i < len(in.Constraint.Ranges) &&
			in.Constraint.Ranges[i].Min == in.Constraint.Ranges[i].Max:
			out[i] = in.Constraint.Ranges[i].Min
		default:
			v, ok := p.DimSizes[d.Name]
			if !ok || v < 1 {
				return nil, fmt.Errorf("%w: input %q dimension %d (%s) is symbolic; give its size in the model stage's dims", ErrShape, name, i, d)
			}
			if in.Constraint.Kind == ConstraintRange && i < len(in.Constraint.Ranges) && !in.Constraint.Ranges[i].contains(v) {
				return nil, fmt.Errorf("%w: input %q dimension %d (%s): size %d outside the model's range %d..%d",
					ErrShape, name, i, d, v, in.Constraint.Ranges[i].Min, in.Constraint.Ranges[i].Max)
			}
			out[i] = v
			overrides[d.Name] = v
		}
	}
	return out, nil
}

// agrees reports whether an enumerated shape s fits the declared shape's
// named symbolic dims pinned in dims.
func agrees(declared bridge.Shape, s []int64, dims map[string]int64) bool {
	for i := 1; i < len(declared) && i < len(s); i++ {
		if v, ok := dims[declared[i].Name]; ok && declared[i].Dynamic() && v != s[i] {
			return false
		}
	}
	return true
}
