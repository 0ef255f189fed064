package image

import (
	"bytes"
	"errors"
	"fmt"
	goimage "image"
	"image/color"
	_ "image/gif"  // registers GIF with image.Decode
	_ "image/jpeg" // registers JPEG
	_ "image/png"  // registers PNG

	_ "golang.org/x/image/bmp"  // registers BMP
	_ "golang.org/x/image/webp" // registers WebP
)

// Errors of a row's image; a [*RowError] wraps one of them.
var (
	ErrNullImage = errors.New("null or empty image")
	ErrNotImage  = errors.New("not an image in a known format (jpeg, png, gif, bmp, webp)")
	ErrCorrupt   = errors.New("corrupt or truncated image")
	ErrTooLarge  = errors.New("image declares more pixels than max_pixels")
)

// decoded is an image as packed 8-bit RGB, oriented for display.
type decoded struct {
	rgb  []byte
	w, h int // of rgb
	// fullW and fullH are the image's own size when rgb holds it shrunk
	// on load (decode_vips.go); zero when rgb is full size.
	fullW, fullH int
}

// size is the image's size, oriented: what the placement is computed
// from and what the width and height columns report.
func (d decoded) size() (int, int) {
	if d.fullW > 0 {
		return d.fullW, d.fullH
	}
	return d.w, d.h
}

// decode reads an encoded image into packed RGB: it checks the header's
// size against maxPixels before decoding anything, recovers a panicking
// decoder, applies a JPEG's EXIF orientation and composites alpha on bg.
func decode(b []byte, maxPixels int64, bg [3]uint8) (d decoded, err error) {
	cfg, format, err := header(b, maxPixels)
	if err != nil {
		return d, err
	}
	img, err := safeDecode(b)
	if err != nil {
		return d, err
	}
	r := img.Bounds()
	if int64(r.Dx())*int64(r.Dy()) > maxPixels { // a decoder that disagrees with its header
		return d, fmt.Errorf("%w: %s decodes to %dx%d", ErrTooLarge, format, r.Dx(), r.Dy())
	}
	d.rgb, d.w, d.h = toRGB(img, format == "webp", bg), r.Dx(), r.Dy()
	if r != goimage.Rect(0, 0, cfg.Width, cfg.Height) { // a GIF frame smaller than its screen
		d = onScreen(d, r, cfg.Width, cfg.Height, bg)
	}
	if format == "jpeg" {
		d.rgb, d.w, d.h = orient(d.rgb, d.w, d.h, jpegOrientation(b))
	}
	return d, nil
}

// header reads the image's header and refuses it when it is empty, not an
// image, or declares no pixels or more than maxPixels; it decodes no
// pixel.
func header(b []byte, maxPixels int64) (goimage.Config, string, error) {
	if len(b) == 0 {
		return goimage.Config{}, "", ErrNullImage
	}
	cfg, format, err := goimage.DecodeConfig(bytes.NewReader(b))
	if errors.Is(err, goimage.ErrFormat) {
		return cfg, "", ErrNotImage
	}
	if err != nil {
		return cfg, "", fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return cfg, "", fmt.Errorf("%w: %s header declares %dx%d", ErrCorrupt, format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > maxPixels {
		return cfg, "", fmt.Errorf("%w: %s header declares %dx%d (%d pixels, max_pixels %d)", ErrTooLarge, format, cfg.Width, cfg.Height, px, maxPixels)
	}
	return cfg, format, nil
}

// onScreen places a frame decoded at bounds r on a w x h screen whose
// uncovered area is transparent, hence the background colour.
func onScreen(d decoded, r goimage.Rectangle, w, h int, bg [3]uint8) decoded {
	out := make([]byte, w*h*3)
	for i := 0; i < len(out); i += 3 {
		out[i], out[i+1], out[i+2] = bg[0], bg[1], bg[2]
	}
	vis := r.Intersect(goimage.Rect(0, 0, w, h))
	for y := vis.Min.Y; y < vis.Max.Y; y++ {
		src := d.rgb[((y-r.Min.Y)*d.w+vis.Min.X-r.Min.X)*3:]
		copy(out[(y*w+vis.Min.X)*3:(y*w+vis.Max.X)*3], src)
	}
	return decoded{rgb: out, w: w, h: h}
}

// safeDecode runs image.Decode, turning a panic into ErrCorrupt.
func safeDecode(b []byte) (img goimage.Image, err error) {
	defer func() {
		if p := recover(); p != nil {
			img, err = nil, fmt.Errorf("%w: decoder panicked: %v", ErrCorrupt, p)
		}
	}()
	img, _, err = goimage.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return img, nil
}

// toRGB converts any decoded image to packed 8-bit RGB. Grey is
// replicated; CMYK is converted as Pillow does; 16-bit samples keep
// their high byte; a pixel with alpha a (0-255, not premultiplied) is
// composited on bg: (c*a + bg*(255-a) + 127) / 255.
//
// A WebP's YCbCr is VP8's limited-range BT.601, not JFIF's full range
// that image.YCbCr assumes: it is converted as libwebp does.
func toRGB(img goimage.Image, vp8 bool, bg [3]uint8) []byte {
	r := img.Bounds()
	w, h := r.Dx(), r.Dy()
	out := make([]byte, w*h*3)
	switch m := img.(type) {
	case *goimage.YCbCr:
		fromYCbCr(m, out, vp8)
	case *goimage.NYCbCrA:
		fromYCbCr(&m.YCbCr, out, vp8)
		for y := range h {
			for x := range w {
				o := (y*w + x) * 3
				composite(out[o:], out[o], out[o+1], out[o+2], m.A[m.AOffset(x+r.Min.X, y+r.Min.Y)], bg)
			}
		}
	case *goimage.Gray:
		for y := range h {
			row := m.Pix[y*m.Stride : y*m.Stride+w]
			for x, v := range row {
				o := (y*w + x) * 3
				out[o], out[o+1], out[o+2] = v, v, v
			}
		}
	case *goimage.CMYK:
		for y := range h {
			for x := range w {
				i, o := y*m.Stride+x*4, (y*w+x)*3
				out[o], out[o+1], out[o+2] = cmykToRGB(m.Pix[i : i+4])
			}
		}
	case *goimage.NRGBA:
		for y := range h {
			for x := range w {
				p := m.Pix[y*m.Stride+x*4:]
				composite(out[(y*w+x)*3:], p[0], p[1], p[2], p[3], bg)
			}
		}
	case *goimage.Paletted:
		fromPaletted(m, out, bg)
	default:
		generic(img, out, bg)
	}
	return out
}

// fromYCbCr converts YCbCr planes as libjpeg does, or libwebp for a
// WebP (vp8), chroma upsampling included (chroma.go).
func fromYCbCr(m *goimage.YCbCr, out []byte, vp8 bool) {
	cb, cr := chromaPlanes(m, vp8)
	r := m.Rect
	w := r.Dx()
	for y := range r.Dy() {
		yrow := m.Y[m.YOffset(r.Min.X, r.Min.Y+y):][:w]
		cbr, crr, o := cb[y*w:(y+1)*w], cr[y*w:(y+1)*w], out[y*w*3:(y+1)*w*3]
		if vp8 {
			for x, yv := range yrow {
				o[x*3], o[x*3+1], o[x*3+2] = vp8ToRGB(yv, cbr[x], crr[x])
			}
			continue
		}
		for x, yv := range yrow {
			o[x*3], o[x*3+1], o[x*3+2] = jfifToRGB(yv, cbr[x], crr[x])
		}
	}
}

// vp8ToRGB is libwebp's VP8YUVToR/G/B (yuv.h): BT.601 limited range in
// 14-bit fixed point.
func vp8ToRGB(y, u, v uint8) (uint8, uint8, uint8) {
	mh := func(a uint8, c int) int { return (int(a) * c) >> 8 }
	clip := func(x int) uint8 {
		if x&^(256<<6-1) == 0 {
			return uint8(x >> 6)
		}
		if x < 0 {
			return 0
		}
		return 255
	}
	yy := mh(y, 19077)
	return clip(yy + mh(v, 26149) - 14234), clip(yy - mh(u, 6419) - mh(v, 13320) + 8708), clip(yy + mh(u, 33050) - 17685)
}

// fromPaletted composites each palette entry once, then looks pixels up.
func fromPaletted(m *goimage.Paletted, out []byte, bg [3]uint8) {
	var lut [256][3]byte // decoders reject an index past the palette; it would read black
	for i, c := range m.Palette {
		n := color.NRGBAModel.Convert(c).(color.NRGBA)
		composite(lut[i][:], n.R, n.G, n.B, n.A, bg)
	}
	w := m.Rect.Dx()
	for y := range m.Rect.Dy() {
		for x, v := range m.Pix[y*m.Stride : y*m.Stride+w] {
			copy(out[(y*w+x)*3:], lut[v][:])
		}
	}
}

// cmykToRGB is Pillow's cmyk2rgb: c' = 255-k - (c*(255-k))/255, rounded.
func cmykToRGB(p []byte) (uint8, uint8, uint8) {
	nk := 255 - int(p[3])
	f := func(c byte) uint8 {
		t := int(c)*nk + 128
		return uint8(max(0, nk-((t>>8)+t)>>8))
	}
	return f(p[0]), f(p[1]), f(p[2])
}

// composite writes the RGB of a non-premultiplied pixel over bg.
func composite(dst []byte, r, g, b, a uint8, bg [3]uint8) {
	if a == 255 {
		dst[0], dst[1], dst[2] = r, g, b
		return
	}
	ia, na := int(a), 255-int(a)
	dst[0] = uint8((int(r)*ia + int(bg[0])*na + 127) / 255)
	dst[1] = uint8((int(g)*ia + int(bg[1])*na + 127) / 255)
	dst[2] = uint8((int(b)*ia + int(bg[2])*na + 127) / 255)
}

// generic converts through color.NRGBA64 (16-bit, not premultiplied) and
// keeps the high byte of each sample, as Pillow reads 16-bit PNGs.
func generic(img goimage.Image, out []byte, bg [3]uint8) {
	r := img.Bounds()
	w := r.Dx()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
			o := ((y-r.Min.Y)*w + x - r.Min.X) * 3
			composite(out[o:], uint8(c.R>>8), uint8(c.G>>8), uint8(c.B>>8), uint8(c.A>>8), bg)
		}
	}
}
