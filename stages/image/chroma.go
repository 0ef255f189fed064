package image

import goimage "image"

// This file reproduces the chroma upsampling and YCbCr conversion of the
// C libraries Pillow links, so that JPEG and lossy WebP pixels match
// Pillow's before resizing: libjpeg(-turbo)'s "fancy" triangle-filter
// upsampling (jdsample.c) and JFIF tables (jdcolor.c), and libwebp's
// fancy upsampler (upsampling.c) with its BT.601 limited-range conversion.
// Go's image.YCbCr.At replicates chroma instead, which moves colour edges
// by up to a pixel.

// chromaPlanes returns m's Cb and Cr planes at full resolution, upsampled
// as libjpeg or libwebp (vp8) do; subsampling ratios libjpeg has no fancy
// path for are replicated.
func chromaPlanes(m *goimage.YCbCr, vp8 bool) (cb, cr []byte) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	cw, ch := (w+1)/2, (h+1)/2
	up := func(p []byte) []byte {
		switch {
		case m.SubsampleRatio == goimage.YCbCrSubsampleRatio444:
			return crop(p, m.CStride, w, h)
		case m.SubsampleRatio == goimage.YCbCrSubsampleRatio420 && vp8:
			return webpFancy(p, m.CStride, cw, ch, w, h)
		case m.SubsampleRatio == goimage.YCbCrSubsampleRatio420 && cw > 2:
			return jpegH2V2(p, m.CStride, cw, ch, w, h)
		case m.SubsampleRatio == goimage.YCbCrSubsampleRatio422 && cw > 2:
			return jpegH2V1(p, m.CStride, cw, w, h)
		}
		return replicate(m, p)
	}
	return up(m.Cb), up(m.Cr)
}

func crop(p []byte, stride, w, h int) []byte {
	out := make([]byte, 0, w*h)
	for y := range h {
		out = append(out, p[y*stride:y*stride+w]...)
	}
	return out
}

func replicate(m *goimage.YCbCr, p []byte) []byte {
	r := m.Rect
	out := make([]byte, 0, r.Dx()*r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			out = append(out, p[m.COffset(x, y)])
		}
	}
	return out
}

// jpegH2V2 is libjpeg's h2v2_fancy_upsample: per output row, column sums
// 3*nearer + further row (edge rows replicated), then 3*this + neighbour
// columns with biases 8 (even columns) and 7 (odd), >> 4. Needs cw > 2.
func jpegH2V2(p []byte, stride, cw, ch, w, h int) []byte {
	out := make([]byte, w*h)
	sums := make([]int32, cw)
	for y := range h {
		near := y / 2
		far := near - 1
		if y%2 == 1 {
			far = near + 1
		}
		far = min(max(far, 0), ch-1)
		pn, pf := p[near*stride:near*stride+cw], p[far*stride:far*stride+cw]
		for c := range sums {
			sums[c] = 3*int32(pn[c]) + int32(pf[c])
		}
		row := out[y*w : (y+1)*w]
		row[0] = byte((sums[0]*4 + 8) >> 4)
		row[1] = byte((sums[0]*3 + sums[1] + 7) >> 4)
		for c := 1; c < cw-1; c++ {
			row[2*c] = byte((sums[c]*3 + sums[c-1] + 8) >> 4)
			row[2*c+1] = byte((sums[c]*3 + sums[c+1] + 7) >> 4)
		}
		c := cw - 1
		row[2*c] = byte((sums[c]*3 + sums[c-1] + 8) >> 4)
		if 2*c+1 < w {
			row[2*c+1] = byte((sums[c]*4 + 7) >> 4)
		}
	}
	return out
}

// jpegH2V1 is libjpeg's h2v1_fancy_upsample (4:2:2).
func jpegH2V1(p []byte, stride, cw, w, h int) []byte {
	out := make([]byte, w*h)
	for y := range h {
		in, row := p[y*stride:y*stride+cw], out[y*w:(y+1)*w]
		for x := range w {
			c := x / 2
			switch {
			case x == 0:
				row[x] = in[0]
			case x%2 == 0:
				row[x] = byte((3*int(in[c]) + int(in[c-1]) + 1) >> 2)
			case c == cw-1:
				row[x] = in[c]
			default:
				row[x] = byte((3*int(in[c]) + int(in[c+1]) + 2) >> 2)
			}
		}
	}
	return out
}

// webpFancy is libwebp's UpsampleRgbLinePair for 4:2:0: a = nearest
// sample, b = nearer row's other column, c = other row's column, d =
// the diagonal: ((a + 3b + 3c + d + 8) >> 3 + a) >> 1; first (and, for
// an even width, last) column (3a + c + 2) >> 2; the first row, and the
// last of an even height, pair a chroma row with itself.
func webpFancy(p []byte, stride, cw, ch, w, h int) []byte {
	out := make([]byte, w*h)
	for y := range h {
		near, far := 0, 0
		switch {
		case y == 0:
		case y%2 == 1:
			near, far = (y-1)/2, min((y+1)/2, ch-1)
		default:
			near, far = y/2, y/2-1
		}
		rn, rf := p[near*stride:near*stride+cw], p[far*stride:far*stride+cw]
		row := out[y*w : (y+1)*w]
		for x := range w {
			if x == 0 || (x == w-1 && w%2 == 0) {
				c := x / 2
				row[x] = byte((3*int(rn[c]) + int(rf[c]) + 2) >> 2)
				continue
			}
			nc, fc := (x-1)/2, (x+1)/2 // odd x: nearer column is the left one
			if x%2 == 0 {
				nc, fc = x/2, x/2-1
			}
			a, b, c, d := int(rn[nc]), int(rn[fc]), int(rf[nc]), int(rf[fc])
			row[x] = byte((((a + 3*b + 3*c + d + 8) >> 3) + a) >> 1)
		}
	}
	return out
}

// jfif holds libjpeg's ycc_rgb_convert tables (jdcolor.c): 16-bit fixed
// point, rounded.
var jfif struct {
	crR, cbB, crG, cbG [256]int32
}

func init() {
	const half = 1 << 15
	for i := range 256 {
		x := int32(i) - 128
		jfif.crR[i] = (91881*x + half) >> 16
		jfif.cbB[i] = (116130*x + half) >> 16
		jfif.crG[i] = -46802 * x
		jfif.cbG[i] = -22554*x + half
	}
}

// jfifToRGB is libjpeg's ycc_rgb_convert for one pixel.
func jfifToRGB(y, cb, cr uint8) (uint8, uint8, uint8) {
	yy := int(y)
	return clamp8(yy + int(jfif.crR[cr])), clamp8(yy + int((jfif.cbG[cb]+jfif.crG[cr])>>16)), clamp8(yy + int(jfif.cbB[cb]))
}

func clamp8(v int) uint8 {
	if uint(v) <= 255 {
		return uint8(v)
	}
	if v < 0 {
		return 0
	}
	return 255
}
