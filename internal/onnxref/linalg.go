package onnxref

import (
	"fmt"
	"slices"
)

// gemm computes alpha·A'·B' + beta·C, where A' and B' are A and B
// transposed when transA and transB are set, and C broadcasts to [M,N].
func gemm(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 2, 3); err != nil {
		return nil, err
	}
	a, b := vs[0], vs[1]
	var cv *value
	if len(vs) == 3 {
		cv = vs[2]
	}
	for _, v := range []*value{a, b, cv} {
		if v == nil {
			continue
		}
		if err := wantFloat(v, "input"); err != nil {
			return nil, err
		}
	}
	if len(a.shape) != 2 || len(b.shape) != 2 {
		return nil, fmt.Errorf("%w: Gemm wants 2-D A and B, got %v and %v", ErrEval, a.shape, b.shape)
	}
	g, err := gemmAttrs(c)
	if err != nil {
		return nil, err
	}
	m, k := int(a.shape[0]), int(a.shape[1])
	if g.ta != 0 {
		m, k = k, m
	}
	kb, n := int(b.shape[0]), int(b.shape[1])
	if g.tb != 0 {
		kb, n = n, kb
	}
	if k != kb {
		return nil, fmt.Errorf("%w: Gemm inner dimensions differ: A %v (transA=%d), B %v (transB=%d)", ErrEval, a.shape, g.ta, b.shape, g.tb)
	}
	shape := []int64{int64(m), int64(n)}
	var ci []int
	if cv != nil {
		out, err := broadcastShape(cv.shape, shape)
		if err != nil || !slices.Equal(out, shape) {
			return nil, fmt.Errorf("%w: Gemm C of shape %v does not broadcast to %v", ErrEval, cv.shape, shape)
		}
		ci = broadcastIndex(cv.shape, shape)
	}
	y := newValue(a.dt, shape)
	g.multiply(y, a, b, k, cv, ci)
	return []*value{y}, nil
}

// A gemmOpts holds Gemm's attributes.
type gemmOpts struct {
	alpha, beta float64
	ta, tb      int64 // transA, transB: nonzero transposes
}

// gemmAttrs reads Gemm's attributes.
func gemmAttrs(c *call) (gemmOpts, error) {
	var g gemmOpts
	var err error
	if g.alpha, err = c.float("alpha", 1); err != nil {
		return gemmOpts{}, err
	}
	if g.beta, err = c.float("beta", 1); err != nil {
		return gemmOpts{}, err
	}
	if g.ta, err = c.int("transA", 0); err != nil {
		return gemmOpts{}, err
	}
	if g.tb, err = c.int("transB", 0); err != nil {
		return gemmOpts{}, err
	}
	return g, nil
}

// multiply fills y [M,N] with alpha·A'·B' over the inner dimension k, plus
// beta·C when cv is not nil, ci mapping each element of y to one of C.
func (g gemmOpts) multiply(y, a, b *value, k int, cv *value, ci []int) {
	m, n := int(y.shape[0]), int(y.shape[1])
	at := func(i, p int) float64 {
		if g.ta != 0 {
			return a.f[p*m+i]
		}
		return a.f[i*k+p]
	}
	bt := func(p, j int) float64 {
		if g.tb != 0 {
			return b.f[j*k+p]
		}
		return b.f[p*n+j]
	}
	for i := range m {
		for j := range n {
			s := 0.0
			for p := range k {
				s += at(i, p) * bt(p, j)
			}
			s *= g.alpha
			if cv != nil {
				s += g.beta * cv.f[ci[i*n+j]]
			}
			y.f[i*n+j] = s
		}
	}
}

// matmul is numpy's matmul: the last two dimensions multiply, leading
// dimensions broadcast, and a 1-D operand is promoted and its dimension
// removed from the result.
func matmul(_ *call, vs []*value) ([]*value, error) {
	if err := args(vs, 2, 2); err != nil {
		return nil, err
	}
	a, b := vs[0], vs[1]
	if err := wantFloat(a, "A"); err != nil {
		return nil, err
	}
	if err := wantFloat(b, "B"); err != nil {
		return nil, err
	}
	if a.dt != b.dt {
		return nil, fmt.Errorf("%w: input types %v and %v differ", ErrEval, a.dt, b.dt)
	}
	if len(a.shape) == 0 || len(b.shape) == 0 {
		return nil, fmt.Errorf("%w: MatMul of a scalar", ErrEval)
	}
	as, bs := a.shape, b.shape
	if len(as) == 1 {
		as = []int64{1, as[0]}
	}
	if len(bs) == 1 {
		bs = []int64{bs[0], 1}
	}
	m, k := int(as[len(as)-2]), int(as[len(as)-1])
	kb, n := int(bs[len(bs)-2]), int(bs[len(bs)-1])
	if k != kb {
		return nil, fmt.Errorf("%w: MatMul shapes %v and %v do not match", ErrEval, a.shape, b.shape)
	}
	batch, err := broadcastShape(as[:len(as)-2], bs[:len(bs)-2])
	if err != nil {
		return nil, err
	}
	// Index the batch of each operand through broadcasting over matrices.
	ia := broadcastIndex(as[:len(as)-2], batch)
	ib := broadcastIndex(bs[:len(bs)-2], batch)
	shape := append(append([]int64{}, batch...), int64(m), int64(n))
	y := newValue(a.dt, shape)
	for bi := range ia {
		ao, bo, yo := ia[bi]*m*k, ib[bi]*k*n, bi*m*n
		for i := range m {
			row := y.f[yo+i*n : yo+(i+1)*n]
			for p := range k {
				av := a.f[ao+i*k+p]
				if av == 0 {
					continue
				}
				brow := b.f[bo+p*n : bo+(p+1)*n]
				for j, bv := range brow {
					row[j] += av * bv
				}
			}
		}
	}
	// Drop the promoted dimensions.
	switch {
	case len(a.shape) == 1 && len(b.shape) == 1:
		y.shape = shape[:len(shape)-2]
	case len(a.shape) == 1:
		y.shape = append(shape[:len(shape)-2], int64(n))
	case len(b.shape) == 1:
		y.shape = shape[:len(shape)-1]
	}
	return []*value{y}, nil
}
