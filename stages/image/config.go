package image

import (
	"fmt"
	"math"
	"strconv"

	"github.com/pipe-ml/pipe/stages"
)

// Config is the `with:` block of an image stage.
type Config struct {
	Column        string          `yaml:"column" doc:"The input column: binary (encoded image bytes) or struct<bytes: binary, path: string> (the Hugging Face datasets Image layout). A struct row whose bytes are null is read from the file its path names (datasets saved with decode=False or external files), relative to the job file's folder unless absolute; otherwise the path only names the row in errors. Without a struct path, a utf8 path column of the input (files_source writes one) names the rows in errors."`
	Into          string          `yaml:"into" doc:"Name of the output tensor column, fixed_size_list<float32> (uint8 with dtype: uint8) of channels x height x width values in layout order."`
	Prefix        string          `yaml:"prefix" doc:"Prefix of the other columns the stage adds (width, height; valid_width with fixed_height; scale, pad_x, pad_y with letterbox), so that chained image stages do not clash: prefix cls_ adds cls_width, cls_height. None by default."`
	MaxFileBytes  stages.ByteSize `yaml:"max_file_bytes" doc:"Largest image file read for a struct row whose bytes are null (its path names the file); a larger one is a row error naming the row, the path and both sizes. Up to 1GiB."`
	Resize        Resize          `yaml:"resize" doc:"How each image becomes the output size (mode: exact, shorter_side, letterbox, fixed_height)."`
	Interpolation string          `yaml:"interpolation" doc:"nearest, bilinear or bicubic, computed as Pillow's Image.resize (antialiased when shrinking: the kernel widens with the shrink factor)."`
	Layout        string          `yaml:"layout" doc:"nchw (channels first, as torchvision) or nhwc (channels last)."`
	Channels      string          `yaml:"channels" doc:"Channel order: rgb, or bgr (OpenCV-trained models)."`
	Scale         float64         `yaml:"scale" doc:"Each 0-255 pixel value is multiplied by this before mean and std (default 1/255, torchvision's ToTensor)."`
	Mean          []float64       `yaml:"mean" doc:"Per-channel mean subtracted after scale, in channels order; none by default (ImageNet: [0.485, 0.456, 0.406])."`
	Std           []float64       `yaml:"std" doc:"Per-channel standard deviation divided by after mean; none by default (ImageNet: [0.229, 0.224, 0.225])."`
	DType         string          `yaml:"dtype" doc:"float32, or uint8: the raw 0-255 pixels for quantized models (scale, mean and std must be left unset)."`
	Background    []int           `yaml:"background" doc:"RGB colour (0-255 each) that transparent pixels are composited on, before resizing: c' = (c*a + bg*(255-a) + 127) / 255."`
	MaxPixels     int64           `yaml:"max_pixels" doc:"An image whose header declares more pixels than this is a row error, found before any pixel is decoded."`
	Threads       int             `yaml:"threads" doc:"Images decoded and resized at once per batch (each holds one decoded image); 0: one per CPU."`
	Decoder       string          `yaml:"decoder" doc:"JPEG decoder: auto (libvips when it loads, else go, logging why once), vips (libvips, loaded at run time from PIPE_VIPS_LIB or where scripts/install-vips.sh puts it; a build error when it does not load), or go (pure Go, slower). Other formats are always decoded in Go. libvips decodes as Pillow's libjpeg does (closer to Pillow than go)."`
	ShrinkOnLoad  bool            `yaml:"shrink_on_load" doc:"With libvips, decode a JPEG at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling, as Pillow's draft mode and sharp) when that still leaves it at least its resized size, then resize exactly: a third less CPU on the benchmark's mixed 0.3-2 MP photos (more on larger ones), but not Pillow's full-size pixels (mean difference 0.007, at most about 0.5 at sharp edges, after ImageNet normalisation). false for Pillow parity: libvips then gives Pillow's JPEG pixels exactly."`
}

// Resize is the `resize:` block.
type Resize struct {
	Mode     string `yaml:"mode" doc:"exact (width x height, aspect ignored), shorter_side (torchvision Resize(size) then CenterCrop(crop)), letterbox (fit inside width x height keeping aspect, centred, padded: YOLO) or fixed_height (height fixed, width ceil(height * w / h) up to max_width, right-padded: OCR line recognisers; adds valid_width int32, the unpadded width in pixels, to mask the padding)."`
	Width    int    `yaml:"width" doc:"exact, letterbox: output width."`
	Height   int    `yaml:"height" doc:"exact, letterbox, fixed_height: output height."`
	Size     int    `yaml:"size" doc:"shorter_side: length of the shorter side after resizing (the longer is int(size * long / short))."`
	Crop     int    `yaml:"crop" doc:"shorter_side: side of the square centre crop, at most size; torchvision's rounding of the offsets."`
	MaxWidth int    `yaml:"max_width" doc:"fixed_height: output width; a wider line is squeezed to it."`
	PadValue *int   `yaml:"pad_value" doc:"letterbox, fixed_height: pixel value (0-255, before scale, mean and std) of the padding; default 114 for letterbox, 0 for fixed_height."`
}

const (
	// defaultMaxFileBytes is the default of max_file_bytes, as files_source's.
	defaultMaxFileBytes = 64 << 20
	// maxFileBytesLimit bounds max_file_bytes.
	maxFileBytesLimit = 1 << 30
)

func defaults() Config {
	return Config{
		Column: "bytes", Into: "pixel_values", Interpolation: "bilinear", Layout: "nchw",
		Channels: "rgb", Scale: 1.0 / 255, DType: "float32", Background: []int{255, 255, 255},
		MaxPixels: 50_000_000, MaxFileBytes: defaultMaxFileBytes, Decoder: decoderAuto, ShrinkOnLoad: true,
	}
}

// plan is a checked config: the output geometry and the value mapping.
type plan struct {
	filter   Filter
	resize   Resize
	outW     int
	outH     int
	pad      byte
	nhwc     bool
	bgr      bool
	uint8Out bool
	bg       [3]uint8
	lut      [3][256]float32 // channel (rgb order) x pixel -> output value
}

// check validates conf and returns its plan.
func check(conf Config) (*plan, error) {
	p := &plan{resize: conf.Resize, nhwc: conf.Layout == "nhwc", bgr: conf.Channels == "bgr", uint8Out: conf.DType == "uint8"}
	var err error
	if p.filter, err = parseFilter(conf.Interpolation); err != nil {
		return nil, err
	}
	if err := oneOf("layout", conf.Layout, "nchw", "nhwc"); err != nil {
		return nil, err
	}
	if err := oneOf("channels", conf.Channels, "rgb", "bgr"); err != nil {
		return nil, err
	}
	if err := oneOf("dtype", conf.DType, "float32", "uint8"); err != nil {
		return nil, err
	}
	if err := oneOf("decoder", conf.Decoder, decoderAuto, decoderGo, decoderVips); err != nil {
		return nil, err
	}
	if conf.MaxPixels <= 0 {
		return nil, fmt.Errorf("max_pixels: %d is not positive", conf.MaxPixels)
	}
	if conf.MaxFileBytes <= 0 || conf.MaxFileBytes > maxFileBytesLimit {
		return nil, fmt.Errorf("max_file_bytes: %v is not between 1 and 1GiB", conf.MaxFileBytes)
	}
	if len(conf.Background) != 3 || !inByte(conf.Background...) {
		return nil, fmt.Errorf("background: %v is not three values 0-255", conf.Background)
	}
	p.bg = [3]uint8{uint8(conf.Background[0]), uint8(conf.Background[1]), uint8(conf.Background[2])}
	if err := p.geometry(conf.Resize); err != nil {
		return nil, err
	}
	return p, p.values(conf)
}

func parseFilter(s string) (Filter, error) {
	switch s {
	case "nearest":
		return Nearest, nil
	case "bilinear":
		return Bilinear, nil
	case "bicubic":
		return Bicubic, nil
	}
	return 0, fmt.Errorf("interpolation: %q is not nearest, bilinear or bicubic", s)
}

func oneOf(key, v string, valid ...string) error {
	for _, s := range valid {
		if v == s {
			return nil
		}
	}
	if len(valid) == 3 {
		return fmt.Errorf("%s: %q is not %s, %s or %s", key, v, valid[0], valid[1], valid[2])
	}
	return fmt.Errorf("%s: %q is not %s or %s", key, v, valid[0], valid[1])
}

func inByte(vs ...int) bool {
	for _, v := range vs {
		if v < 0 || v > 255 {
			return false
		}
	}
	return true
}

// geometry checks the resize block and sets the output size and padding.
func (p *plan) geometry(r Resize) error {
	pos := func(key string, v int) error {
		if v <= 0 {
			return fmt.Errorf("resize.%s: must be positive for mode %s (got %d)", key, r.Mode, v)
		}
		return nil
	}
	var errW, errH error
	switch r.Mode {
	case "exact", "letterbox":
		errW, errH = pos("width", r.Width), pos("height", r.Height)
		p.outW, p.outH = r.Width, r.Height
		p.pad = 114
	case "shorter_side":
		errW, errH = pos("size", r.Size), pos("crop", r.Crop)
		if errW == nil && errH == nil && r.Crop > r.Size {
			errH = fmt.Errorf("resize.crop: %d is larger than size %d", r.Crop, r.Size)
		}
		p.outW, p.outH = r.Crop, r.Crop
	case "fixed_height":
		errW, errH = pos("max_width", r.MaxWidth), pos("height", r.Height)
		p.outW, p.outH = r.MaxWidth, r.Height
	default:
		return fmt.Errorf("resize.mode: %q is not exact, shorter_side, letterbox or fixed_height", r.Mode)
	}
	if errW != nil {
		return errW
	}
	if errH != nil {
		return errH
	}
	if int64(p.outW)*int64(p.outH) > 1<<26 {
		return fmt.Errorf("resize: output %dx%d is too large", p.outW, p.outH)
	}
	if r.PadValue != nil {
		if !inByte(*r.PadValue) {
			return fmt.Errorf("resize.pad_value: %d is not 0-255", *r.PadValue)
		}
		p.pad = byte(*r.PadValue)
	}
	return nil
}

// values checks scale, mean and std and fills the lookup table that maps
// a pixel to its output value: (v*scale - mean) / std, in float32 as
// torchvision computes it.
func (p *plan) values(conf Config) error {
	d := defaults()
	if p.uint8Out && (conf.Scale != d.Scale || conf.Mean != nil || conf.Std != nil) {
		return fmt.Errorf("dtype: uint8 emits raw pixels; leave scale, mean and std unset")
	}
	if math.IsNaN(conf.Scale) || math.IsInf(conf.Scale, 0) || conf.Scale == 0 {
		return fmt.Errorf("scale: %v is not a finite non-zero number", conf.Scale)
	}
	mean, std := []float64{0, 0, 0}, []float64{1, 1, 1}
	if conf.Mean != nil {
		if len(conf.Mean) != 3 {
			return fmt.Errorf("mean: %v has %d values, want 3", conf.Mean, len(conf.Mean))
		}
		mean = conf.Mean
	}
	if conf.Std != nil {
		if len(conf.Std) != 3 {
			return fmt.Errorf("std: %v has %d values, want 3", conf.Std, len(conf.Std))
		}
		std = conf.Std
	}
	for c := range 3 {
		if std[c] == 0 {
			return fmt.Errorf("std: value %d is zero", c)
		}
		src := c // mean and std are in output channel order
		if p.bgr {
			src = 2 - c
		}
		for v := range 256 {
			x := float32(v) * float32(conf.Scale)
			if conf.Scale == d.Scale {
				x = float32(v) / 255 // ToTensor divides
			}
			p.lut[src][v] = (x - float32(mean[c])) / float32(std[c])
		}
	}
	return nil
}

// shape is the per-row tensor shape, for the column's pipe.shape metadata.
func (p *plan) shape() string {
	dims := []int{3, p.outH, p.outW}
	if p.nhwc {
		dims = []int{p.outH, p.outW, 3}
	}
	return strconv.Itoa(dims[0]) + "," + strconv.Itoa(dims[1]) + "," + strconv.Itoa(dims[2])
}
