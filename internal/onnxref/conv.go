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
	group, err := c.int("group", 1)
	if err != nil {
		return nil, err
	}
	if group != 1 {
		return nil, fmt.Errorf("%w: Conv group %d", ErrUnsupported, group)
	}
	autoPad, err := c.str("auto_pad", "NOTSET")
	if err != nil {
		return nil, err
	}
	pads, err := c.ints("pads", []int64{0, 0, 0, 0})
	if err != nil {
		return nil, err
	}
	switch autoPad {
	case "NOTSET":
	case "VALID":
		pads = []int64{0, 0, 0, 0}
	default:
		return nil, fmt.Errorf("%w: Conv auto_pad %q", ErrUnsupported, autoPad)
	}
	strides, err := c.ints("strides", []int64{1, 1})
	if err != nil {
		return nil, err
	}
	dil, err := c.ints("dilations", []int64{1, 1})
	if err != nil {
		return nil, err
	}
	kshape, err := c.ints("kernel_shape", w.shape[2:])
	if err != nil {
		return nil, err
	}
	if len(pads) != 4 || len(strides) != 2 || len(dil) != 2 || len(kshape) != 2 {
		return nil, fmt.Errorf("%w: Conv attributes pads %v, strides %v, dilations %v, kernel_shape %v do not fit a 2-D convolution", ErrEval, pads, strides, dil, kshape)
	}
	if kshape[0] != w.shape[2] || kshape[1] != w.shape[3] {
		return nil, fmt.Errorf("%w: Conv kernel_shape %v does not match W %v", ErrEval, kshape, w.shape)
	}
	for _, v := range append(append([]int64{}, strides...), dil...) {
		if v < 1 {
			return nil, fmt.Errorf("%w: Conv strides %v and dilations %v must be positive", ErrEval, strides, dil)
		}
	}
	nb, ch, h, wd := int(x.shape[0]), int(x.shape[1]), int(x.shape[2]), int(x.shape[3])
	m, kc, kh, kw := int(w.shape[0]), int(w.shape[1]), int(w.shape[2]), int(w.shape[3])
	if kc != ch {
		return nil, fmt.Errorf("%w: Conv X has %d channels, W expects %d", ErrEval, ch, kc)
	}
	if bias != nil && (len(bias.shape) != 1 || int(bias.shape[0]) != m) {
		return nil, fmt.Errorf("%w: Conv bias %v, want [%d]", ErrEval, bias.shape, m)
	}
	pt, pl, pb, pr := int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])
	sh, sw, dh, dw := int(strides[0]), int(strides[1]), int(dil[0]), int(dil[1])
	oh := (h+pt+pb-dh*(kh-1)-1)/sh + 1
	ow := (wd+pl+pr-dw*(kw-1)-1)/sw + 1
	if oh < 1 || ow < 1 {
		return nil, fmt.Errorf("%w: Conv output would be %dx%d for input %v", ErrEval, oh, ow, x.shape)
	}
	y := newValue(x.dt, []int64{int64(nb), int64(m), int64(oh), int64(ow)})
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
							r := i*sh - pt + u*dh
							if r < 0 || r >= h {
								continue
							}
							for v := range kw {
								q := j*sw - pl + v*dw
								if q < 0 || q >= wd {
									continue
								}
								s += x.f[((n*ch+cc)*h+r)*wd+q] * w.f[((o*kc+cc)*kh+u)*kw+v]
							}
						}
					}
					y.f[((n*m+o)*oh+i)*ow+j] = s
				}
			}
		}
	}
	return []*value{y}, nil
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
