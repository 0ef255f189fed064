package image

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzImageDecode: no input makes the decoders, the EXIF reader or the
// resizer panic; every failure is one of the row error sentinels, and a
// decoded image has the size it claims.
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
		Layout: "nchw", Channels: "rgb", DType: "float32", Scale: 1.0 / 255, Background: []int{1, 2, 3}, MaxPixels: 1, MaxFileBytes: 1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := decode(b, 1<<20, p.bg)
		if err != nil {
			if !errors.Is(err, ErrNullImage) && !errors.Is(err, ErrNotImage) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if d.w <= 0 || d.h <= 0 || len(d.rgb) != d.w*d.h*3 {
			t.Fatalf("decoded %dx%d with %d bytes", d.w, d.h, len(d.rgb))
		}
		canvas := make([]byte, 3*p.outW*p.outH)
		p.render(d, p.place(d.w, d.h), canvas)
		p.writeFloat(canvas, make([]float32, len(canvas)))
	})
}
