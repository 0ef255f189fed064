package image

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/pipe-ml/pipe/bridge/vips"
)

// FuzzImageDecode: no input makes the decoders (pure Go, and libvips with
// shrink-on-load), the EXIF reader or the resizer panic; every failure is
// one of the row error sentinels, and a decoded image has the size it
// claims.
func FuzzImageDecode(f *testing.F) {
	names, err := filepath.Glob("testdata/*.*")
	if err != nil {
		f.Fatal(err)
	}
	for _, n := range names {
		if filepath.Ext(n) == ".f32" || filepath.Ext(n) == ".json" {
			continue
		}
		b, err := os.ReadFile(n)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add(pngHeader(100000, 100000))
	f.Add(exifJPEG(binary.LittleEndian, "II", 0x0112, 3, 1, 6))
	p, err := check(Config{Resize: Resize{Mode: "shorter_side", Size: 12, Crop: 10}, Interpolation: "bicubic",
		Layout: "nchw", Channels: "rgb", DType: "float32", Scale: 1.0 / 255, Background: []int{1, 2, 3}, MaxPixels: 1, MaxFileBytes: 1, Decoder: "go"})
	if err != nil {
		f.Fatal(err)
	}
	if err := vips.Load(); err != nil && os.Getenv(envNoVips) != "1" {
		f.Fatalf("libvips is not loadable (set %s=1 to fuzz the Go decoder alone): %v", envNoVips, err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decode(b, 1<<20, p.bg)
		checkFuzzed(t, p, d, err)
		if vips.Load() == nil { // the libvips decoder, shrinking on load
			d, err = decodeNative(b, 1<<20, p, true)
			checkFuzzed(t, p, d, err)
		}
	})
}

// checkFuzzed checks one decoder's result: a row error sentinel, or an
// image of the size it claims that renders.
func checkFuzzed(t *testing.T, p *plan, d decoded, err error) {
	t.Helper()
	if err != nil {
		if !errors.Is(err, ErrNullImage) && !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
			t.Fatalf("unexpected error %v", err)
		}
		return
	}
	if d.w <= 0 || d.h <= 0 || len(d.rgb) != d.w*d.h*3 {
		t.Fatalf("decoded %dx%d with %d bytes", d.w, d.h, len(d.rgb))
	}
	if fw, fh := d.size(); fw < d.w || fh < d.h {
		t.Fatalf("pixels %dx%d larger than the image's size %dx%d", d.w, d.h, fw, fh)
	}
	canvas := make([]byte, 3*p.outW*p.outH)
	p.render(d, p.place(d.size()), canvas)
	p.writeFloat(canvas, make([]float32, len(canvas)))
}
