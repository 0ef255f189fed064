package image

import "math"

// placement is where one image goes in the output: the window r of its
// resized form, drawn at (dx, dy) of the output; the rest is padding.
type placement struct {
	r      region
	dx, dy int
	scale  float32 // letterbox: resized / original size
}

// place computes the placement of a w x h image.
func (p *plan) place(w, h int) placement {
	rs := p.resize
	switch rs.Mode {
	case "shorter_side":
		nw, nh := rs.Size, int(float64(rs.Size*h)/float64(w))
		if w > h {
			nw, nh = int(float64(rs.Size*w)/float64(h)), rs.Size
		}
		top := int(math.RoundToEven(float64(nh-rs.Crop) / 2))
		left := int(math.RoundToEven(float64(nw-rs.Crop) / 2))
		return placement{r: region{ow: nw, oh: nh, x0: left, y0: top, w: rs.Crop, h: rs.Crop}}
	case "letterbox":
		s := min(float64(rs.Width)/float64(w), float64(rs.Height)/float64(h))
		nw := min(max(int(math.RoundToEven(float64(w)*s)), 1), rs.Width)
		nh := min(max(int(math.RoundToEven(float64(h)*s)), 1), rs.Height)
		return placement{r: region{ow: nw, oh: nh, w: nw, h: nh}, dx: (rs.Width - nw) / 2, dy: (rs.Height - nh) / 2, scale: float32(s)}
	case "fixed_height":
		nw := min(rs.MaxWidth, max(int(math.Ceil(float64(rs.Height)*(float64(w)/float64(h)))), 1))
		return placement{r: region{ow: nw, oh: rs.Height, w: nw, h: rs.Height}}
	}
	return placement{r: region{ow: p.outW, oh: p.outH, w: p.outW, h: p.outH}}
}

// render decodes nothing: it resizes a decoded image into its placement
// on a canvas of the output size (padded with p.pad) in packed RGB.
func (p *plan) render(d decoded, pl placement, canvas []byte) {
	win := resize(d.rgb, d.w, d.h, pl.r, p.filter)
	if pl.r.w != p.outW || pl.r.h != p.outH {
		for i := range canvas {
			canvas[i] = p.pad
		}
	}
	for y := range pl.r.h {
		o := ((pl.dy+y)*p.outW + pl.dx) * 3
		copy(canvas[o:o+pl.r.w*3], win[y*pl.r.w*3:])
	}
}

// writeFloat writes a canvas as one row's tensor, in the plan's layout
// and channel order, through the value table.
func (p *plan) writeFloat(canvas []byte, dst []float32) {
	n := p.outW * p.outH
	ch := [3]int{0, 1, 2}
	if p.bgr {
		ch = [3]int{2, 1, 0}
	}
	if p.nhwc {
		for i := range n {
			for c, src := range ch {
				dst[i*3+c] = p.lut[src][canvas[i*3+src]]
			}
		}
		return
	}
	// One pass over the canvas writing the three planes: each pixel's
	// bytes are read once, in order.
	p0, p1, p2 := dst[:n], dst[n:2*n], dst[2*n:3*n]
	l0, l1, l2 := &p.lut[ch[0]], &p.lut[ch[1]], &p.lut[ch[2]]
	canvas = canvas[:3*n]
	for i := range p0 {
		px := canvas[i*3 : i*3+3 : i*3+3]
		p0[i], p1[i], p2[i] = l0[px[ch[0]]], l1[px[ch[1]]], l2[px[ch[2]]]
	}
}

// writeUint8 is writeFloat for dtype uint8: the raw pixels.
func (p *plan) writeUint8(canvas []byte, dst []byte) {
	n := p.outW * p.outH
	ch := [3]int{0, 1, 2}
	if p.bgr {
		ch = [3]int{2, 1, 0}
	}
	for c, src := range ch {
		for i := range n {
			if p.nhwc {
				dst[i*3+c] = canvas[i*3+src]
			} else {
				dst[c*n+i] = canvas[i*3+src]
			}
		}
	}
}
