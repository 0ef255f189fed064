package image

import (
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/pipe-ml/pipe/bridge/vips"
)

// The decoder setting's values.
const (
	decoderAuto = "auto"
	decoderGo   = "go"
	decoderVips = "vips"
)

// fallbackOnce logs, once per process, why decoder auto decodes in Go.
var fallbackOnce sync.Once

// useNative resolves the decoder setting: true when JPEGs go to libvips.
// auto takes libvips when it loads and otherwise logs the reason once;
// vips without a loadable library is an error listing the paths tried.
func useNative(decoder string) (bool, error) {
	switch decoder {
	case decoderGo:
		return false, nil
	case decoderVips:
		if err := vips.Load(); err != nil {
			return false, fmt.Errorf("decoder: vips: %w", err)
		}
		return true, nil
	}
	if err := vips.Load(); err != nil {
		fallbackOnce.Do(func() {
			slog.Warn("image: decoder auto decodes JPEGs in pure Go (slower, no shrink-on-load): libvips did not load; run scripts/install-vips.sh or set decoder: go to silence this",
				"reason", err.Error())
		})
		return false, nil
	}
	return true, nil
}

// decodeNative decodes a JPEG with libvips, shrunk on load when shrink is
// set (the largest of 1/8, 1/4, 1/2 that keeps the image at least as
// large as its resized size, as Pillow's draft and sharp choose), and any
// other format with the pure-Go decode. The header, max_pixels, EXIF
// orientation, grey and CMYK rules are decode's.
func decodeNative(b []byte, maxPixels int64, p *plan, shrink bool) (decoded, error) {
	cfg, format, err := header(b, maxPixels)
	if err != nil {
		return decoded{}, err
	}
	if format != "jpeg" {
		return decode(b, maxPixels, p.bg)
	}
	o := jpegOrientation(b)
	fw, fh := cfg.Width, cfg.Height
	if o >= 5 && o <= 8 {
		fw, fh = fh, fw
	}
	factor := 1
	if shrink {
		r := p.place(fw, fh).r
		factor = shrinkFactor(fw, fh, r.ow, r.oh)
	}
	img, err := vips.DecodeJPEG(b, factor)
	if err != nil {
		if errors.Is(err, vips.ErrDecode) {
			return decoded{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		return decoded{}, err
	}
	if img.Width != cfg.Width/factor || img.Height != cfg.Height/factor {
		return decoded{}, fmt.Errorf("%w: jpeg header declares %dx%d, libvips decoded %dx%d at 1/%d", ErrCorrupt,
			cfg.Width, cfg.Height, img.Width, img.Height, factor)
	}
	d := decoded{rgb: samplesToRGB(img), w: img.Width, h: img.Height}
	d.rgb, d.w, d.h = orient(d.rgb, d.w, d.h, o)
	if factor > 1 {
		d.fullW, d.fullH = fw, fh
	}
	return d, nil
}

// shrinkFactor is the largest of 8, 4, 2 that leaves a w x h image at
// least tw x th (Pillow's draft: min(w/tw, h/th), integer division), or 1.
func shrinkFactor(w, h, tw, th int) int {
	scale := min(w/max(tw, 1), h/max(th, 1))
	for _, f := range []int{8, 4, 2} {
		if scale >= f {
			return f
		}
	}
	return 1
}

// samplesToRGB converts libvips' samples to packed RGB by decode's rules:
// grey replicated, CMYK as Pillow's cmyk2rgb.
func samplesToRGB(img vips.Image) []byte {
	switch img.Bands {
	case 3:
		return img.Pix
	case 1:
		out := make([]byte, len(img.Pix)*3)
		for i, v := range img.Pix {
			out[i*3], out[i*3+1], out[i*3+2] = v, v, v
		}
		return out
	}
	n := len(img.Pix) / 4
	out := make([]byte, n*3)
	for i := range n {
		out[i*3], out[i*3+1], out[i*3+2] = cmykToRGB(img.Pix[i*4 : i*4+4])
	}
	return out
}
