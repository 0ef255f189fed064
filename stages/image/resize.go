package image

import "math"

// Filter is an interpolation kernel.
type Filter int

// The interpolations, as Pillow's Image.NEAREST, BILINEAR and BICUBIC.
const (
	Nearest Filter = iota
	Bilinear
	Bicubic
)

// precisionBits is Pillow's fixed-point precision for 8-bit resampling
// (Resample.c: PRECISION_BITS = 32 - 8 - 2).
const precisionBits = 22

// support is the kernel's radius at scale 1.
func (f Filter) support() float64 {
	if f == Bicubic {
		return 2
	}
	return 1
}

// weight is the kernel at x (Pillow's bilinear_filter, bicubic_filter
// with a = -0.5).
func (f Filter) weight(x float64) float64 {
	x = math.Abs(x)
	if f == Bicubic {
		const a = -0.5
		switch {
		case x < 1:
			return ((a+2)*x-(a+3))*x*x + 1
		case x < 2:
			return (((x-5)*x+8)*x - 4) * a
		}
		return 0
	}
	if x < 1 {
		return 1 - x
	}
	return 0
}

// coeffs are the fixed-point taps of one axis for outputs [lo, lo+n):
// output lo+i reads bounds[2i+1] taps from input index bounds[2i] on.
type coeffs struct {
	lo     int
	ksize  int
	bounds []int
	k      []int32
}

// taps returns output xx's first input index and its taps.
func (c *coeffs) taps(xx int) (int, []int32) {
	i := xx - c.lo
	return c.bounds[2*i], c.k[i*c.ksize : i*c.ksize+c.bounds[2*i+1]]
}

// precompute is Pillow's precompute_coeffs followed by
// normalize_coeffs_8bpc, for an input of inSize resized to outSize: the
// support grows with the shrink factor, which is what antialiases. Only
// outputs [lo, lo+n) are computed, so that a crop of a huge resize is
// cheap.
func precompute(inSize, outSize, lo, n int, f Filter) coeffs {
	scale := float64(inSize) / float64(outSize)
	filterscale := max(scale, 1)
	support := f.support() * filterscale
	c := coeffs{lo: lo, ksize: int(math.Ceil(support))*2 + 1, bounds: make([]int, 2*n)}
	c.k = make([]int32, n*c.ksize)
	kk := make([]float64, c.ksize)
	for i := range n {
		xx := lo + i
		center := (float64(xx) + 0.5) * scale
		ss := 1 / filterscale
		xmin := max(int(center-support+0.5), 0)
		xmax := min(int(center+support+0.5), inSize) - xmin
		ww := 0.0
		for x := range xmax {
			w := f.weight((float64(x+xmin) - center + 0.5) * ss)
			kk[x] = w
			ww += w
		}
		for x := range xmax {
			v := kk[x]
			if ww != 0 {
				v /= ww
			}
			if v < 0 {
				c.k[i*c.ksize+x] = int32(-0.5 + v*(1<<precisionBits))
			} else {
				c.k[i*c.ksize+x] = int32(0.5 + v*(1<<precisionBits))
			}
		}
		c.bounds[2*i], c.bounds[2*i+1] = xmin, xmax
	}
	return c
}

// clip8 is Pillow's clip8: the fixed-point sum, shifted and clamped.
func clip8(v int32) byte {
	v >>= precisionBits
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return byte(v)
}

// region is the part of a resized image that is kept: columns [x0, x0+w)
// and rows [y0, y0+h) of the full ow x oh result.
type region struct{ ow, oh, x0, y0, w, h int }

// resize resizes a packed RGB image of sw x sh to r.ow x r.oh exactly as
// Pillow's Image.resize (reducing_gap=None) does, and returns only r's
// w x h window (cropping after resizing gives the same pixels). Bilinear
// and bicubic run Pillow's two separable passes, horizontal first, with
// an 8-bit intermediate; nearest is Pillow's affine scale.
func resize(src []byte, sw, sh int, r region, f Filter) []byte {
	if f == Nearest {
		return resizeNearest(src, sw, sh, r)
	}
	tmp, tw := src, sw
	ylo, yhi := 0, sh
	var vc coeffs
	needV := r.oh != sh
	if needV {
		vc = precompute(sh, r.oh, r.y0, r.h, f)
		ylo, yhi = vc.bounds[0], 0
		for i := range r.h {
			yhi = max(yhi, vc.bounds[2*i]+vc.bounds[2*i+1])
		}
	} else {
		ylo, yhi = r.y0, r.y0+r.h
	}
	if r.ow != sw {
		tmp, tw = horizontal(src, sw, ylo, yhi, r, precompute(sw, r.ow, r.x0, r.w, f)), r.w
	} else {
		tmp = cropRows(src, sw, ylo, yhi, r.x0, r.w)
		tw = r.w
	}
	if !needV {
		return tmp
	}
	return vertical(tmp, tw, ylo, r, vc)
}

// cropRows copies columns [x0, x0+w) of rows [ylo, yhi).
func cropRows(src []byte, sw, ylo, yhi, x0, w int) []byte {
	out := make([]byte, 0, (yhi-ylo)*w*3)
	for y := ylo; y < yhi; y++ {
		out = append(out, src[(y*sw+x0)*3:(y*sw+x0+w)*3]...)
	}
	return out
}

// horizontal resamples rows [ylo, yhi) of src to the columns of r.
func horizontal(src []byte, sw, ylo, yhi int, r region, c coeffs) []byte {
	out := make([]byte, (yhi-ylo)*r.w*3)
	for y := ylo; y < yhi; y++ {
		row := src[y*sw*3 : (y+1)*sw*3]
		o := (y - ylo) * r.w * 3
		for xx := r.x0; xx < r.x0+r.w; xx++ {
			xmin, k := c.taps(xx)
			p := row[xmin*3 : (xmin+len(k))*3]
			s0, s1, s2 := int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1)), int32(1<<(precisionBits-1))
			for i, kv := range k {
				s0 += int32(p[i*3]) * kv
				s1 += int32(p[i*3+1]) * kv
				s2 += int32(p[i*3+2]) * kv
			}
			out[o], out[o+1], out[o+2] = clip8(s0), clip8(s1), clip8(s2)
			o += 3
		}
	}
	return out
}

// vertical resamples the rows of r from tmp, whose first row is ylo.
func vertical(tmp []byte, w, ylo int, r region, c coeffs) []byte {
	out := make([]byte, r.h*w*3)
	acc := make([]int32, w*3)
	for yy := r.y0; yy < r.y0+r.h; yy++ {
		ymin, k := c.taps(yy)
		for i := range acc {
			acc[i] = 1 << (precisionBits - 1)
		}
		for j, kv := range k {
			row := tmp[(ymin-ylo+j)*w*3 : (ymin-ylo+j+1)*w*3]
			for i, v := range row {
				acc[i] += int32(v) * kv
			}
		}
		o := out[(yy-r.y0)*w*3:]
		for i, v := range acc {
			o[i] = clip8(v)
		}
	}
	return out
}

// resizeNearest is Pillow's ImagingScaleAffine: the source of output x is
// int((x+0.5)*scale), the position accumulated step by step as Pillow
// does (from the window's start when it lies far into a huge resize).
func resizeNearest(src []byte, sw, sh int, r region) []byte {
	xs := nearestIndex(sw, r.ow, r.x0, r.w)
	ys := nearestIndex(sh, r.oh, r.y0, r.h)
	out := make([]byte, 0, r.w*r.h*3)
	for _, sy := range ys {
		row := src[sy*sw*3:]
		for _, sx := range xs {
			out = append(out, row[sx*3:sx*3+3]...)
		}
	}
	return out
}

// nearestIndex returns the source index of outputs [lo, lo+n).
func nearestIndex(in, out, lo, n int) []int {
	a := float64(in) / float64(out)
	start := 0
	if lo > 1<<16 {
		start = lo
	}
	xo := a*0.5 + a*float64(start)
	idx := make([]int, n)
	for x := start; x < lo+n; x++ {
		if x >= lo {
			idx[x-lo] = min(max(int(xo), 0), in-1)
		}
		xo += a
	}
	return idx
}
