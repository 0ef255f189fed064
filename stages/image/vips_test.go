package image

import (
	"bytes"
	"encoding/binary"
	"fmt"
	goimage "image"
	"image/color"
	"image/jpeg"
	"math"
	"os"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge/vips"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// envNoVips lets a machine without libvips skip the tests that need it;
// without it they fail, saying why.
const envNoVips = "PIPE_TEST_NO_VIPS"

func needVips(t testing.TB) {
	t.Helper()
	if err := vips.Load(); err != nil {
		if os.Getenv(envNoVips) == "1" {
			t.Skipf("%s=1 and libvips is not loadable: %v", envNoVips, err)
		}
		t.Fatalf("libvips is not loadable (install it with scripts/install-vips.sh and set %s, or set %s=1 to skip): %v", vips.EnvLib, envNoVips, err)
	}
}

// jpegSized returns a copy of the JPEG b whose frame header (SOF0 or SOF2)
// declares w x h.
func jpegSized(t testing.TB, b []byte, w, h uint16) []byte {
	t.Helper()
	out := append([]byte(nil), b...)
	for p := 2; p+9 < len(out); {
		if out[p] != 0xFF {
			break
		}
		m, n := out[p+1], int(out[p+2])<<8|int(out[p+3])
		if m == 0xC0 || m == 0xC2 {
			out[p+5], out[p+6], out[p+7], out[p+8] = byte(h>>8), byte(h), byte(w>>8), byte(w)
			return out
		}
		p += 2 + n
	}
	t.Fatal("no SOF0/SOF2 marker")
	return nil
}

// TestShrinkFactor: the largest of 8, 4, 2 that keeps the image at least
// the target size on both axes, as Pillow's draft picks it.
func TestShrinkFactor(t *testing.T) {
	for _, c := range []struct{ w, h, tw, th, want int }{
		{1920, 1080, 455, 256, 4}, // shorter side 256
		{1920, 1080, 454, 256, 4},
		{1280, 960, 341, 256, 2},
		{640, 480, 341, 256, 1},
		{4000, 3000, 341, 256, 8},
		{100, 100, 12, 12, 8},
		{100, 100, 13, 12, 4},
		{10, 10, 20, 20, 1}, // enlarging
		{10, 10, 0, 0, 8},   // degenerate target
	} {
		t.Run(fmt.Sprintf("%dx%d_to_%dx%d", c.w, c.h, c.tw, c.th), func(t *testing.T) {
			if got := shrinkFactor(c.w, c.h, c.tw, c.th); got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}
}

// photoJPEG encodes a w x h smooth test photo, with an EXIF orientation
// segment when o > 1.
func photoJPEG(t testing.TB, w, h, o int) []byte {
	t.Helper()
	img := goimage.NewRGBA(goimage.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8((x + y) % 200), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 92}); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if o <= 1 {
		return b
	}
	// An APP1 Exif segment right after SOI, as exifJPEG builds it.
	app1 := exifJPEG(binary.BigEndian, "MM", 0x0112, 3, 1, uint16(o))
	return append(app1[:len(app1)-4], b[2:]...) // app1 ends with an SOS
}

// TestVipsShrinkOnLoad: a large JPEG decoded at 1/4 scale reports its own
// size (oriented), and its tensor stays close to the full-size decode's;
// shrink_on_load: false gives the full-size decode exactly.
func TestVipsShrinkOnLoad(t *testing.T) {
	needVips(t)
	mem := stagetest.Mem(t)
	const with = "{resize: {mode: shorter_side, size: 64, crop: 56}, mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], "
	for _, o := range []int{1, 6} {
		t.Run(fmt.Sprintf("orientation %d", o), func(t *testing.T) {
			img := photoJPEG(t, 400, 300, o)
			d, err := decodeNative(img, 1<<30, mustPlan(t, 64, 56), true)
			if err != nil {
				t.Fatal(err)
			}
			fw, fh := d.size()
			wantW, wantH := 400, 300
			if o == 6 {
				wantW, wantH = 300, 400
			}
			if fw != wantW || fh != wantH || d.w != wantW/4 || d.h != wantH/4 {
				t.Fatalf("size %dx%d, pixels %dx%d; want %dx%d at 1/4", fw, fh, d.w, d.h, wantW, wantH)
			}
			full := tensorOf(t, mem, with+"decoder: vips, shrink_on_load: false}", img)
			ref := tensorOf(t, mem, with+"decoder: go}", img)
			shrunk := tensorOf(t, mem, with+"decoder: vips}", img)
			if m := maxDiff(full, ref); m > 0.15 {
				t.Errorf("vips full size vs go: max diff %.4f", m)
			}
			if m := maxDiff(shrunk, full); m == 0 || m > 0.25 {
				t.Errorf("shrunk vs full size: max diff %.4f, want (0, 0.25]", m)
			}
		})
	}
}

func mustPlan(t testing.TB, size, crop int) *plan {
	t.Helper()
	c := defaults()
	c.Resize = Resize{Mode: "shorter_side", Size: size, Crop: crop}
	p, err := check(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// tensorOf runs one image through a stage and returns its tensor and
// width and height columns checked against the image's own size.
func tensorOf(t *testing.T, mem memory.Allocator, with string, img []byte) []float32 {
	t.Helper()
	out, err := process(t, mem, with, img)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	cfg, _, err := goimage.DecodeConfig(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	w, h := out.Column(2).(*array.Int32).Value(0), out.Column(3).(*array.Int32).Value(0)
	if int(w*h) != cfg.Width*cfg.Height {
		t.Errorf("width x height %dx%d for a %dx%d image", w, h, cfg.Width, cfg.Height)
	}
	return append([]float32(nil), float32s(out.Column(1), 0)...)
}

func maxDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
