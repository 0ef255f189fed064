//go:build cgo

package vips

import (
	"bytes"
	"errors"
	goimage "image"
	"image/color"
	"image/jpeg"
	"os"
	"strings"
	"testing"
)

// envNoVips lets a machine without libvips skip the tests that need it;
// without it they fail, saying why.
const envNoVips = "PIPE_TEST_NO_VIPS"

func needVips(t testing.TB) {
	t.Helper()
	if err := Load(); err != nil {
		if os.Getenv(envNoVips) == "1" {
			t.Skipf("%s=1 and libvips is not loadable: %v", envNoVips, err)
		}
		t.Fatalf("libvips is not loadable (install it with scripts/install-vips.sh and set %s, or set %s=1 to skip): %v", EnvLib, envNoVips, err)
	}
}

// testJPEG encodes a w x h gradient (grey when gray) with Go's encoder.
func testJPEG(t testing.TB, w, h int, gray bool) []byte {
	t.Helper()
	var img goimage.Image
	if gray {
		g := goimage.NewGray(goimage.Rect(0, 0, w, h))
		for i := range g.Pix {
			g.Pix[i] = uint8(i % 251)
		}
		img = g
	} else {
		c := goimage.NewRGBA(goimage.Rect(0, 0, w, h))
		for y := range h {
			for x := range w {
				c.Set(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
			}
		}
		img = c
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestDecodeJPEG: each shrink gives the size divided by it, rounded down
// (libvips crops libjpeg's rounded-up scaled image),
// the bands of the colour space, and pixels close to Go's decoder's.
func TestDecodeJPEG(t *testing.T) {
	needVips(t)
	for _, tc := range []struct {
		name         string
		gray         bool
		shrink       int
		w, h, bands  int
		wantW, wantH int
	}{
		{"rgb full", false, 1, 67, 45, 3, 67, 45},
		{"rgb half", false, 2, 67, 45, 3, 33, 22},
		{"rgb quarter", false, 4, 67, 45, 3, 16, 11},
		{"rgb eighth", false, 8, 67, 45, 3, 8, 5},
		{"grey", true, 1, 40, 30, 1, 40, 30},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := testJPEG(t, tc.w, tc.h, tc.gray)
			img, err := DecodeJPEG(b, tc.shrink)
			if err != nil {
				t.Fatal(err)
			}
			if img.Width != tc.wantW || img.Height != tc.wantH || img.Bands != tc.bands || img.CMYK {
				t.Fatalf("got %dx%d, %d bands (cmyk %v); want %dx%d, %d", img.Width, img.Height, img.Bands, img.CMYK, tc.wantW, tc.wantH, tc.bands)
			}
			if len(img.Pix) != img.Width*img.Height*img.Bands {
				t.Fatalf("%d bytes for %dx%dx%d", len(img.Pix), img.Width, img.Height, img.Bands)
			}
			if tc.shrink == 1 {
				comparePixels(t, b, img)
			}
		})
	}
	if n := LiveBuffers(); n != 0 {
		t.Errorf("%d libvips buffers not freed", n)
	}
}

// comparePixels checks a full-size decode against Go's image/jpeg: the
// IDCTs round differently and Go replicates the 4:2:0 chroma that libjpeg
// interpolates, a few levels at most.
func comparePixels(t *testing.T, b []byte, img Image) {
	t.Helper()
	ref, err := jpeg.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	worst := 0
	for y := range img.Height {
		for x := range img.Width {
			r, g, bl, _ := ref.At(x, y).RGBA()
			want := []int{int(r >> 8), int(g >> 8), int(bl >> 8)}
			for c := range img.Bands {
				got := int(img.Pix[(y*img.Width+x)*img.Bands+c])
				worst = max(worst, abs(got-want[c]))
			}
		}
	}
	if worst > 8 {
		t.Errorf("pixels differ from Go's decoder by up to %d levels", worst)
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestDecodeErrors: bad input is a *DecodeError (or ErrShrink), never a
// crash, and leaks no buffer.
func TestDecodeErrors(t *testing.T) {
	needVips(t)
	good := testJPEG(t, 64, 64, false)
	for _, tc := range []struct {
		name   string
		b      []byte
		shrink int
		want   error
		msg    string
	}{
		{"empty", nil, 1, ErrDecode, "empty"},
		{"not a jpeg", []byte("hello, world, not an image at all"), 1, ErrDecode, "jpegload"},
		{"truncated", good[:len(good)/2], 1, ErrDecode, "premature end"},
		{"header only", good[:200], 2, ErrDecode, "jpegload"},
		{"bad shrink", good, 3, ErrShrink, "shrink"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeJPEG(tc.b, tc.shrink)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("error %v, want %v containing %q", err, tc.want, tc.msg)
			}
		})
	}
	if n := LiveBuffers(); n != 0 {
		t.Errorf("%d libvips buffers not freed", n)
	}
}

// TestLibraryInfo: the loaded library is the pinned version, found where
// the search says.
func TestLibraryInfo(t *testing.T) {
	needVips(t)
	v, err := LibraryVersion()
	if err != nil || v == "" {
		t.Fatalf("version %q, %v", v, err)
	}
	if os.Getenv(EnvLib) != "" && !strings.HasPrefix(v, Version) {
		t.Errorf("%s names libvips %s, pinned %s", EnvLib, v, Version)
	}
	p, err := LibraryPath()
	if err != nil || p == "" {
		t.Fatalf("path %q, %v", p, err)
	}
}

// TestFindLibraryError: when nothing loads, the error wraps
// ErrUnavailable and names every place tried with its reason.
func TestFindLibraryError(t *testing.T) {
	missing := t.TempDir() + "/libvips-missing.so"
	cands := []candidate{
		{Path: missing, Label: EnvLib + "=" + missing, File: true},
		{Path: "libvips-nope.so.42", Label: "libvips-nope.so.42 (system library path)"},
	}
	_, err := findLibrary(cands, func(p string) error { return errors.New("cannot open " + p) })
	if !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error %v does not wrap ErrUnavailable", err)
	}
	for _, want := range []string{EnvLib + "=" + missing + ": no such file", "libvips-nope.so.42 (system library path): cannot open", "scripts/install-vips.sh"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	got, err := findLibrary(cands[1:], func(string) error { return nil })
	if err != nil || got != "libvips-nope.so.42" {
		t.Errorf("found %q, %v", got, err)
	}
}
