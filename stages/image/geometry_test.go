package image

import "testing"

// TestPlace: the geometry of each mode, with torchvision's and YOLO's
// rounding.
func TestPlace(t *testing.T) {
	pv := 0
	cases := []struct {
		name string
		rs   Resize
		w, h int
		want placement
	}{
		{"shorter_side landscape", Resize{Mode: "shorter_side", Size: 256, Crop: 224}, 640, 480,
			placement{r: region{ow: 341, oh: 256, x0: 58, y0: 16, w: 224, h: 224}}},
		{"shorter_side portrait, half offset rounds to even", Resize{Mode: "shorter_side", Size: 5, Crop: 2}, 5, 7,
			placement{r: region{ow: 5, oh: 7, x0: 2, y0: 2, w: 2, h: 2}}},
		{"letterbox wide", Resize{Mode: "letterbox", Width: 640, Height: 640}, 1280, 720,
			placement{r: region{ow: 640, oh: 360, w: 640, h: 360}, dx: 0, dy: 140, scale: 0.5}},
		{"letterbox odd pad", Resize{Mode: "letterbox", Width: 10, Height: 10}, 10, 7,
			placement{r: region{ow: 10, oh: 7, w: 10, h: 7}, dy: 1, scale: 1}},
		{"fixed_height short line", Resize{Mode: "fixed_height", Height: 48, MaxWidth: 320, PadValue: &pv}, 100, 32,
			placement{r: region{ow: 150, oh: 48, w: 150, h: 48}}},
		{"fixed_height long line", Resize{Mode: "fixed_height", Height: 48, MaxWidth: 320}, 1000, 40,
			placement{r: region{ow: 320, oh: 48, w: 320, h: 48}}},
		{"exact", Resize{Mode: "exact", Width: 7, Height: 3}, 100, 100,
			placement{r: region{ow: 7, oh: 3, w: 7, h: 3}}},
	}
	for _, c := range cases {
		p := &plan{resize: c.rs}
		if err := p.geometry(c.rs); err != nil {
			t.Fatal(err)
		}
		if got := p.place(c.w, c.h); got != c.want {
			t.Errorf("%s: %+v, want %+v", c.name, got, c.want)
		}
	}
}

// TestExtremeAspect: a 20000x1 line resized shorter side 256 (5,120,000
// columns) then cropped computes only the crop window, in every filter.
func TestExtremeAspect(t *testing.T) {
	src := make([]byte, 20000*3)
	for i := range src {
		src[i] = byte(i / 3 % 251)
	}
	for _, f := range []Filter{Nearest, Bilinear, Bicubic} {
		p := &plan{resize: Resize{Mode: "shorter_side", Size: 256, Crop: 224}, filter: f, outW: 224, outH: 224}
		pl := p.place(20000, 1)
		if pl.r.ow != 5_120_000 || pl.r.x0 != 2_559_888 {
			t.Fatalf("placement %+v", pl)
		}
		canvas := make([]byte, 224*224*3)
		p.render(decoded{rgb: src, w: 20000, h: 1}, pl, canvas)
		// The window covers source columns 9999.6 to 10000.4: all of it
		// reads columns 9999 and 10000 (values 210, 211).
		for i, v := range canvas {
			if v != 210 && v != 211 {
				t.Fatalf("filter %d: canvas[%d] = %d, want 210 or 211", f, i, v)
			}
		}
	}
}
