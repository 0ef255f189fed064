package onnxref

import (
	"fmt"
	"slices"

	"github.com/pipe-ml/pipe/internal/onnx"
)

// take returns a value of x's type and the given shape whose element k is
// element idx[k] of x: the common core of Gather, Slice and Transpose,
// which only move elements around and so work on every type.
func take(x *value, shape []int64, idx []int) *value {
	y := newValue(x.dt, shape)
	for k, i := range idx {
		switch {
		case y.f != nil:
			y.f[k] = x.f[i]
		case y.i != nil:
			y.i[k] = x.i[i]
		default:
			y.b[k] = x.b[i]
		}
	}
	return y
}

// intArg returns an integer input's values, for shape-like arguments.
func intArg(v *value, what string) ([]int64, error) {
	if classOf(v.dt) != classInt {
		return nil, fmt.Errorf("%w: %s are %v, want int64", ErrEval, what, v.dt)
	}
	return v.i, nil
}

// strides returns the row-major element strides of shape.
func strides(shape []int64) []int {
	s := make([]int, len(shape))
	n := 1
	for k := len(shape) - 1; k >= 0; k-- {
		s[k] = n
		n *= int(shape[k])
	}
	return s
}

// shapeOp returns the input's shape as a 1-D int64 tensor, restricted to
// dimensions [start, end) (attributes from opset 15; negative values count
// from the end and both are clamped to the rank, as the spec says).
func shapeOp(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 1); err != nil {
		return nil, err
	}
	r := int64(len(vs[0].shape))
	start, err := c.int("start", 0)
	if err != nil {
		return nil, err
	}
	end, err := c.int("end", r)
	if err != nil {
		return nil, err
	}
	clamp := func(a int64) int64 {
		if a < 0 {
			a += r
		}
		return min(max(a, 0), r)
	}
	start, end = clamp(start), max(clamp(end), clamp(start))
	dims := vs[0].shape[start:end]
	y := newValue(onnx.Int64, []int64{int64(len(dims))})
	copy(y.i, dims)
	return []*value{y}, nil
}

// reshape gives the data a new shape: 0 copies the input's dimension (unless
// allowzero=1, when it means an empty dimension) and one -1 is inferred.
func reshape(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 2, 2); err != nil {
		return nil, err
	}
	x := vs[0]
	want, err := intArg(vs[1], "shape")
	if err != nil {
		return nil, err
	}
	allowZero, err := c.int("allowzero", 0)
	if err != nil {
		return nil, err
	}
	shape := slices.Clone(want)
	infer, known := -1, 1
	for k, d := range shape {
		switch {
		case d == -1 && infer >= 0:
			return nil, fmt.Errorf("%w: Reshape to %v has more than one -1", ErrEval, want)
		case d == -1:
			infer = k
			continue
		case d == 0 && allowZero == 0:
			if k >= len(x.shape) {
				return nil, fmt.Errorf("%w: Reshape to %v copies dimension %d of a rank-%d input", ErrEval, want, k, len(x.shape))
			}
			shape[k] = x.shape[k]
		case d < -1:
			return nil, fmt.Errorf("%w: Reshape to %v has a negative dimension", ErrEval, want)
		}
		known *= int(shape[k])
	}
	n := x.len()
	if infer >= 0 {
		if known == 0 || n%known != 0 {
			return nil, fmt.Errorf("%w: cannot reshape %v to %v", ErrEval, x.shape, want)
		}
		shape[infer] = int64(n / known)
		known *= int(shape[infer])
	}
	if known != n {
		return nil, fmt.Errorf("%w: cannot reshape %v (%d elements) to %v", ErrEval, x.shape, n, want)
	}
	y := *x // values are never modified, so the data can be shared
	y.shape = shape
	return []*value{&y}, nil
}

// transpose permutes the dimensions (reversing them without perm).
func transpose(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 1); err != nil {
		return nil, err
	}
	x := vs[0]
	r := len(x.shape)
	perm, err := c.ints("perm", nil)
	if err != nil {
		return nil, err
	}
	if perm == nil {
		for k := r - 1; k >= 0; k-- {
			perm = append(perm, int64(k))
		}
	}
	if len(perm) != r {
		return nil, fmt.Errorf("%w: perm %v for rank %d", ErrEval, perm, r)
	}
	seen := make([]bool, r)
	shape := make([]int64, r)
	for k, p := range perm {
		if p < 0 || p >= int64(r) || seen[p] {
			return nil, fmt.Errorf("%w: perm %v is not a permutation of 0..%d", ErrEval, perm, r-1)
		}
		seen[p] = true
		shape[k] = x.shape[p]
	}
	in := strides(x.shape)
	idx := make([]int, x.len())
	counter := make([]int64, r)
	pos := 0
	for e := range idx {
		idx[e] = pos
		for k := r - 1; k >= 0; k-- {
			counter[k]++
			pos += in[perm[k]]
			if counter[k] < shape[k] {
				break
			}
			pos -= in[perm[k]] * int(counter[k])
			counter[k] = 0
		}
	}
	return []*value{take(x, shape, idx)}, nil
}

// gather picks entries along an axis: the output shape is
// data.shape[:axis] + indices.shape + data.shape[axis+1:], and a negative
// index counts from the end.
func gather(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 2, 2); err != nil {
		return nil, err
	}
	x := vs[0]
	ids, err := intArg(vs[1], "indices")
	if err != nil {
		return nil, err
	}
	a, err := c.int("axis", 0)
	if err != nil {
		return nil, err
	}
	ax, err := axis(a, len(x.shape))
	if err != nil {
		return nil, err
	}
	outer, n, inner := size(x.shape[:ax]), x.shape[ax], size(x.shape[ax+1:])
	rows := make([]int, len(ids))
	for k, id := range ids {
		if id < -n || id >= n {
			return nil, fmt.Errorf("%w: index %d out of range for dimension %d of size %d", ErrEval, id, ax, n)
		}
		if id < 0 {
			id += n
		}
		rows[k] = int(id)
	}
	shape := slices.Concat(x.shape[:ax], vs[1].shape, x.shape[ax+1:])
	idx := make([]int, 0, outer*len(rows)*inner)
	for o := range outer {
		for _, row := range rows {
			base := (o*int(n) + row) * inner
			for in := range inner {
				idx = append(idx, base+in)
			}
		}
	}
	return []*value{take(x, shape, idx)}, nil
}

// slice takes starts[i]:ends[i]:steps[i] along axes[i] (opset 10 and
// later, where these are inputs). As in numpy, negative starts and ends
// count from the end and out-of-range values are clamped, which is how
// exporters write "to the end" (INT64_MAX).
func slice(c *call, vs []*value) ([]*value, error) {
	if c.opset < 10 {
		return nil, fmt.Errorf("%w: Slice before opset 10 (attributes)", ErrUnsupported)
	}
	if err := args(vs, 3, 5); err != nil {
		return nil, err
	}
	x := vs[0]
	r := len(x.shape)
	var lists [4][]int64 // starts, ends, axes, steps
	for k, what := range []string{"starts", "ends", "axes", "steps"} {
		if k+1 >= len(vs) || vs[k+1] == nil {
			continue
		}
		l, err := intArg(vs[k+1], what)
		if err != nil {
			return nil, err
		}
		if len(l) != len(lists[0]) && k > 0 {
			return nil, fmt.Errorf("%w: Slice %s has %d values, starts %d", ErrEval, what, len(l), len(lists[0]))
		}
		lists[k] = l
	}
	starts, ends, axes, steps := lists[0], lists[1], lists[2], lists[3]
	// Every dimension starts as the whole range with step 1.
	first, step, shape := make([]int64, r), make([]int64, r), slices.Clone(x.shape)
	for k := range step {
		step[k] = 1
	}
	done := make([]bool, r)
	for i := range starts {
		a := int64(i)
		if axes != nil {
			a = axes[i]
		}
		ax, err := axis(a, r)
		if err != nil {
			return nil, err
		}
		if done[ax] {
			return nil, fmt.Errorf("%w: Slice axis %d repeated", ErrEval, a)
		}
		done[ax] = true
		st := int64(1)
		if steps != nil {
			st = steps[i]
		}
		if st == 0 {
			return nil, fmt.Errorf("%w: Slice step 0", ErrEval)
		}
		b, n := sliceRange(starts[i], ends[i], st, x.shape[ax])
		first[ax], step[ax], shape[ax] = b, st, n
	}
	in := strides(x.shape)
	idx := make([]int, size(shape))
	counter := make([]int64, r)
	for e := range idx {
		pos := 0
		for k := range r {
			pos += int(first[k]+counter[k]*step[k]) * in[k]
		}
		idx[e] = pos
		for k := r - 1; k >= 0; k-- {
			counter[k]++
			if counter[k] < shape[k] {
				break
			}
			counter[k] = 0
		}
	}
	return []*value{take(x, shape, idx)}, nil
}

// sliceRange clamps start and end for a dimension of size dim as the ONNX
// spec does and returns the first index and the number of elements taken.
func sliceRange(start, end, step, dim int64) (first, n int64) {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	if step > 0 {
		start, end = min(max(start, 0), dim), min(max(end, 0), dim)
		if end <= start {
			return 0, 0
		}
		return start, (end - start + step - 1) / step
	}
	start, end = min(max(start, 0), dim-1), min(max(end, -1), dim-1)
	if start <= end {
		return 0, 0
	}
	return start, (start - end - step - 1) / -step
}
