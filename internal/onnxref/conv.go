package onnxref

import "fmt"

// conv is a 2-D convolution over NCHW input with weights [M, C, kH, kW]
// and an optional bias [M]. It supports pads, strides and dilations, with
// auto_pad NOTSET or VALID and group 1.
func conv(c *call, vs []*value) ([]*value, error) {
	if err := args(vs, 2, 3); err != nil {
		return nil, err
	}
	x, w := vs[0], vs[1]
	var bias *value
	if len(vs) == 3 {
		bias = vs[2]
	}
	for _, v := range []*value{x, w, bias} {
		if v == nil {
			continue
		}
		if err := wantFloat(v, "input"); err != nil {
			return nil, err
		}
	}
	if len(x.shape) != 4 || len(w.shape) != 4 {
		return nil, fmt.Errorf("%w: Conv supports 2-D images only: X %v, W %v", ErrUnsupported, x.shape, w.shape)
	}
	g, err := convAttrs(c, w)
	if err != nil {
		return nil, err
	}
	ch, h, wd := int(x.shape[1]), int(x.shape[2]), int(x.shape[3])
	m, kc, kh, kw := int(w.shape[0]), int(w.shape[1]), int(w.shape[2]), int(w.shape[3])
	if kc != ch {
		return nil, fmt.Errorf("%w: Conv X has %d channels, W expects %d", ErrEval, ch, kc)
	}
	if bias != nil && (len(bias.shape) != 1 || int(bias.shape[0]) != m) {
		return nil, fmt.Errorf("%w: Conv bias %v, want [%d]", ErrEval, bias.shape, m)
	}
	oh := (h+g.pt+g.pb-g.dh*(kh-1)-1)/g.sh + 1
	ow := (wd+g.pl+g.pr-g.dw*(kw-1)-1)/g.sw + 1
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: Conv output would be %dx%d for input %v", ErrEval, oh, ow, x.shape)
	}
	y := newValue(x.dt, []int64{x.shape[0], int64(m), int64(oh), int64(ow)})
	g.convolve(y, x, w, bias)
	return []*value{y}, nil
}

// A convGeom is how a 2-D convolution walks its input: padding top, left,
// bottom and right, strides and dilations along height and width.
type convGeom struct {
	pt, pl, pb, pr int
	sh, sw, dh, dw int
}

// convAttrs reads and checks Conv's attributes against its weights w.
func convAttrs(c *call, w *value) (convGeom, error) {
	group, err := c.int("group", 1)
	if err != nil {
		return convGeom{}, err
	}
	if group != 1 {
		return convGeom{}, fmt.Errorf("%w: Conv group %d", ErrUnsupported, group)
	}
	autoPad, err := c.str("auto_pad", "NOTSET")
	if err != nil {
		return convGeom{}, err
	}
	pads, err := c.ints("pads", []int64{0, 0, 0, 0})
	if err != nil {
		return convGeom{}, err
	}
	switch autoPad {
	case "NOTSET":
	case "VALID":
		pads = []int64{0, 0, 0, 0}
	default:
		return convGeom{}, fmt.Errorf("%w: Conv auto_pad %q", ErrUnsupported, autoPad)
	}
	strides, err := c.ints("strides", []int64{1, 1})
	if err != nil {
		return convGeom{}, err
	}
	dil, err := c.ints("dilations", []int64{1, 1})
	if err != nil {
		return convGeom{}, err
	}
	kshape, err := c.ints("kernel_shape", w.shape[2:])
	if err != nil {
		return convGeom{}, err
	}
	if len(pads) != 4 || len(strides) != 2 || len(dil) != 2 || len(kshape) != 2 {
		return convGeom{}, fmt.Errorf("%w: Conv attributes pads %v, strides %v, dilations %v, kernel_shape %v do not fit a 2-D convolution", ErrEval, pads, strides, dil, kshape)
	}
	if kshape[0] != w.shape[2] || kshape[1] != w.shape[3] {
		return convGeom{}, fmt.Errorf("%w: Conv kernel_shape %v does not match W %v", ErrEval, kshape, w.shape)
	}
	for _, v := range append(append([]int64{}, strides...), dil...) {
		if v < 1 {
			return convGeom{}, fmt.Errorf("%w: Conv strides %v and dilations %v must be positive", ErrEval, strides, dil)
		}
	}
	return convGeom{
		pt: int(pads[0]), pl: int(pads[1]), pb: int(pads[2]), pr: int(pads[3]),
		sh: int(strides[0]), sw: int(strides[1]), dh: int(dil[0]), dw: int(dil[1]),
	}, nil
}

// convolve fills y [N, M, oH, oW] with the convolution of x [N, C, H, W]
// by w [M, C, kH, kW], plus bias [M] when it is not nil.
func (g convGeom) convolve(y, x, w, bias *value) {
	nb, ch, h, wd := int(x.shape[0]), int(x.shape[1]), int(x.shape[2]), int(x.shape[3])
	m, kh, kw := int(w.shape[0]), int(w.shape[2]), int(w.shape[3])
	oh, ow := int(y.shape[2]), int(y.shape[3])
	for n := range nb {
		for o := range m {
			b := 0.0
			if bias != nil {
				b = bias.f[o]
			}
			for i := range oh {
				for j := range ow {
					s := b
					for cc := range ch {
						for u := range kh {
							r := i*g.sh - g.pt + u*g.dh
							if r < 0 || r >= h {
								continue
							}
							for v := range kw {
								q := j*g.sw - g.pl + v*g.dw
								if q < 0 || q >= wd {
									continue
								}
								s += x.f[((n*ch+cc)*h+r)*wd+q] * w.f[((o*ch+cc)*kh+u)*kw+v]
							}
						}
					}
					y.f[((n*m+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
}

// globalAveragePool averages every spatial dimension: [N,C,d...] to
// [N,C,1...].
func globalAveragePool(_ *call, vs []*value) ([]*value, error) {
	if err := args(vs, 1, 1); err != nil {
		return nil, err
	}
	x := vs[0]
	if err := wantFloat(x, "input"); err != nil {
		return nil, err
	}
	if len(x.shape) < 3 {
		return nil, fmt.Errorf("%w: GlobalAveragePool wants [N,C,...], got %v", ErrEval, x.shape)
	}
	shape := []int64{x.shape[0], x.shape[1]}
	for range x.shape[2:] {
		shape = append(shape, 1)
	}
	spatial := size(x.shape[2:])
	y := newValue(x.dt, shape)
	if spatial == 0 {
		return nil, fmt.Errorf("%w: GlobalAveragePool over an empty image %v", ErrEval, x.shape)
	}
	for k := range y.f {
		s := 0.0
		for _, v := range x.f[k*spatial : (k+1)*spatial] {
			s += v
		}
		y.f[k] = s / float64(spatial)
	}
	return []*value{y}, nil
}
