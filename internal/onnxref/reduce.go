package onnxref

import (
	"fmt"
	"math"
)

// pow raises a float base to an exponent with numpy broadcasting. The
// exponent may be a float or an integer type (the spec's T1), as exporters
// write x.pow(2) with either.
func pow(_ *call, vs []*value) ([]*value, error) {
	if err := args(vs, 2, 2); err != nil {
		return nil, err
	}
	x, e := vs[0], vs[1]
	if err := wantFloat(x, "base"); err != nil {
		return nil, err
	}
	if classOf(e.dt) != classFloat && classOf(e.dt) != classInt {
		return nil, fmt.Errorf("%w: exponent is %v", ErrUnsupported, e.dt)
	}
	shape, err := broadcastShape(x.shape, e.shape)
	if err != nil {
		return nil, err
	}
	ix, ie := broadcastIndex(x.shape, shape), broadcastIndex(e.shape, shape)
	y := newValue(x.dt, shape)
	for k := range y.f {
		var p float64
		if e.f != nil {
			p = e.f[ie[k]]
		} else {
			p = float64(e.i[ie[k]])
		}
		y.f[k] = math.Pow(x.f[ix[k]], p)
	}
	return []*value{y}, nil
}

// reduceMean averages over axes: an attribute up to opset 17, an optional
// input from opset 18. No axes means all of them, unless
// noop_with_empty_axes (opset 18) asks for the input unchanged.
func reduceMean(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 2); err != nil {
		return nil, err
	}
	x := vs[0]
	if err := wantFloat(x, "input"); err != nil {
		return nil, err
	}
	axes, err := c.ints("axes", nil)
	if err != nil {
		return nil, err
	}
	if c.opset >= 18 {
		axes = nil
		if len(vs) == 2 && vs[1] != nil {
			if axes, err = intArg(vs[1], "axes"); err != nil {
				return nil, err
			}
		}
		noop, err := c.int("noop_with_empty_axes", 0)
		if err != nil {
			return nil, err
		}
		if len(axes) == 0 && noop != 0 {
			return []*value{x}, nil
		}
	}
	keep, err := c.int("keepdims", 1)
	if err != nil {
		return nil, err
	}
	r := len(x.shape)
	reduced := make([]bool, r)
	for _, a := range axes {
		ax, err := axis(a, r)
		if err != nil {
			return nil, err
		}
		reduced[ax] = true
	}
	var shape, kept []int64 // output shape; the same with 1 for reduced axes
	for k, d := range x.shape {
		switch {
		case len(axes) == 0 || reduced[k]:
			kept = append(kept, 1)
			if keep != 0 {
				shape = append(shape, 1)
			}
		default:
			kept = append(kept, d)
			shape = append(shape, d)
		}
	}
	// Each input element adds into the output element it broadcasts from.
	idx := broadcastIndex(kept, x.shape)
	y := newValue(x.dt, shape)
	for k, v := range x.f {
		y.f[idx[k]] += v
	}
	n := float64(x.len()) / float64(max(y.len(), 1))
	for k := range y.f {
		y.f[k] /= n
	}
	return []*value{y}, nil
}
