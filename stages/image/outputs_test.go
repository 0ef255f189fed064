package image

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	goimage "image"
	"image/color"
	"image/png"
	"log/slog"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// solidPNG is a w x h PNG of one opaque colour.
func solidPNG(t testing.TB, w, h int, c color.RGBA) []byte {
	t.Helper()
	img := goimage.NewRGBA(goimage.Rect(0, 0, w, h))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestFixedHeightValidWidth: valid_width is ceil(height * w / h) clamped
// to [1, max_width], and it is exactly where the image ends and the
// padding begins in every row of the tensor.
func TestFixedHeightValidWidth(t *testing.T) {
	mem := stagetest.Mem(t)
	const height, maxWidth, pad = 48, 320, 7
	fill := color.RGBA{200, 100, 50, 255}
	cases := []struct {
		name string
		w, h int
		want int32
	}{
		{"same height", 100, 48, 100},
		{"half scale", 200, 100, 96},
		{"fractional rounds up", 30, 7, 206},  // 48*30/7 = 205.7
		{"upscaled", 10, 12, 40},              // 48*10/12 = 40 exactly
		{"thin", 1, 100, 1},                   // 0.48 rounds up to 1
		{"at max width", 640, 96, 320},        // exactly max_width: no padding
		{"clamped", 1000, 20, 320},            // 2400 squeezed to max_width
		{"clamped by one", 321, 48, maxWidth}, // 321 squeezed
	}
	var rows [][]byte
	for _, c := range cases {
		rows = append(rows, solidPNG(t, c.w, c.h, fill))
	}
	with := fmt.Sprintf("{resize: {mode: fixed_height, height: %d, max_width: %d, pad_value: %d}, dtype: uint8, prefix: rec_, threads: 3}", height, maxWidth, pad)
	out, err := process(t, mem, with, rows...)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got := out.Schema().Field(4).Name; got != "rec_valid_width" {
		t.Fatalf("column 4 is %q, want rec_valid_width", got)
	}
	valid := out.Column(4).(*array.Int32)
	px := out.Column(1).(*array.FixedSizeList).ListValues().(*array.Uint8).Uint8Values()
	const per = 3 * height * maxWidth
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			vw := valid.Value(i)
			if vw != c.want {
				t.Fatalf("%dx%d: valid_width %d, want %d", c.w, c.h, vw, c.want)
			}
			if w, h := out.Column(2).(*array.Int32).Value(i), out.Column(3).(*array.Int32).Value(i); w != int32(c.w) || h != int32(c.h) {
				t.Errorf("width, height = %d, %d, want %d, %d", w, h, c.w, c.h)
			}
			red := px[i*per : i*per+height*maxWidth] // channel 0, nchw
			for y := range height {
				for x := range maxWidth {
					want := fill.R
					if int32(x) >= vw {
						want = pad
					}
					if v := red[y*maxWidth+x]; v != want {
						t.Fatalf("pixel %d,%d = %d, want %d (valid_width %d)", x, y, v, want, vw)
					}
				}
			}
		})
	}
}

// TestChainedImageStages: a second image stage on the first's output
// builds when prefix names the columns apart, and otherwise fails naming
// the clashing column, the stage it comes from and the prefix setting.
func TestChainedImageStages(t *testing.T) {
	mem := stagetest.Mem(t)
	const cls = "{into: cls_x, resize: {mode: fixed_height, height: 8, max_width: 16}%s}"
	const rec = "{into: rec_x, resize: {mode: %s, height: 8, width: 8, max_width: 32}%s}"
	cases := []struct {
		name, first, second string
		wantCols            []string // the second stage's columns, when it builds
		wantErr             []string // substrings of its build error
	}{
		{"prefix on the first", fmt.Sprintf(cls, ", prefix: cls_"), fmt.Sprintf(rec, "fixed_height", ""),
			[]string{"bytes", "cls_x", "cls_width", "cls_height", "cls_valid_width", "rec_x", "width", "height", "valid_width"}, nil},
		{"prefix on the second", fmt.Sprintf(cls, ""), fmt.Sprintf(rec, "letterbox", ", prefix: lb_"),
			[]string{"bytes", "cls_x", "width", "height", "valid_width", "rec_x", "lb_width", "lb_height", "lb_scale", "lb_pad_x", "lb_pad_y"}, nil},
		{"no prefix", fmt.Sprintf(cls, ""), fmt.Sprintf(rec, "fixed_height", ""), nil,
			[]string{`column "width"`, `from stage "first"`, "prefix: second_"}},
		{"same prefix", fmt.Sprintf(cls, ", prefix: p_"), fmt.Sprintf(rec, "exact", ", prefix: p_"), nil,
			[]string{`column "p_width"`, `from stage "first"`}},
		{"only valid_width clashes", fmt.Sprintf(cls, ", prefix: valid_"), fmt.Sprintf(rec, "fixed_height", ""), nil,
			[]string{`column "valid_width"`, "prefix: second_"}},
		{"same into", fmt.Sprintf(cls, ", prefix: a_"), strings.Replace(fmt.Sprintf(rec, "exact", ", prefix: b_"), "rec_x", "cls_x", 1), nil,
			[]string{`column "cls_x"`, "set into"}},
	}
	bin := arrow.NewSchema([]arrow.Field{{Name: "bytes", Type: arrow.BinaryTypes.Binary}}, nil)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := stagetest.MustBuild(t, nil, mem, "image", c.first, t.TempDir(), bin)
			env := &stages.Env{ID: "second", Inputs: []*arrow.Schema{first.Schema()}, InputIDs: []string{"first"},
				Mem: mem, Log: slog.New(slog.DiscardHandler), JobDir: t.TempDir()}
			second, err := stagetest.BuildEnv(t, nil, "image", c.second, env)
			if c.wantErr != nil {
				var ce *stages.ColumnError
				if !errors.As(err, &ce) {
					t.Fatalf("got %v, want a ColumnError", err)
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %s", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, f := range second.Schema().Fields() {
				names = append(names, f.Name)
			}
			if strings.Join(names, ",") != strings.Join(c.wantCols, ",") {
				t.Errorf("columns %v, want %v", names, c.wantCols)
			}
			runChain(t, first.(stages.Transform), second.(stages.Transform))
		})
	}
}

// runChain passes one image through both stages and checks that the
// second's output batch has its schema.
func runChain(t *testing.T, first, second stages.Transform) {
	t.Helper()
	mem := stagetest.Mem(t)
	in := binaryBatch(mem, "bytes", [][]byte{solidPNG(t, 12, 4, color.RGBA{1, 2, 3, 255})})
	defer in.Release()
	mid, err := first.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	defer mid.Release()
	out, err := second.Process(context.Background(), mid)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if !out.Schema().Equal(second.Schema()) || out.NumRows() != 1 {
		t.Errorf("output %v, want one row of %v", out.Schema(), second.Schema())
	}
}
