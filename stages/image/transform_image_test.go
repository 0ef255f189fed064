package image

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	goimage "image"
	"image/color"
	"image/gif"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// pngHeader is a valid PNG signature and IHDR declaring w x h RGB 8-bit,
// with no image data: a decompression bomb's header.
func pngHeader(w, h uint32) []byte {
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2
	b := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR")
	b = append(b, ihdr[:]...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(append([]byte("IHDR"), ihdr[:]...)))
}

// TestImageBadRows: each kind of bad image is a RowError with its
// sentinel, naming the row counted from the stage's first input row.
func TestImageBadRows(t *testing.T) {
	good := readTestdata(t, "rgb.png")
	jpg := readTestdata(t, "baseline.jpg")
	cases := []badRowCase{
		{"null", nil, ErrNullImage},
		{"empty", []byte{}, ErrNullImage},
		{"text", []byte("hello, not an image at all"), ErrNotImage},
		{"truncated png", good[:len(good)/2], ErrCorrupt},
		{"truncated jpeg", jpg[:len(jpg)*2/3], ErrCorrupt},
		{"header only", good[:40], ErrCorrupt},
		{"bomb", pngHeader(100000, 100000), ErrTooLarge},
		{"zero width", pngHeader(0, 10), ErrCorrupt},
		{"jpeg bomb", jpegSized(t, jpg, 60000, 60000), ErrTooLarge},
		{"jpeg data cut", jpg[:len(jpg)-40], ErrCorrupt},
	}
	mem := stagetest.Mem(t)
	for _, dec := range []string{decoderGo, decoderVips} {
		t.Run(dec, func(t *testing.T) {
			if dec == decoderVips {
				needVips(t)
			}
			with := "{resize: {mode: exact, width: 8, height: 8}, decoder: " + dec + "}"
			badRows(t, mem, with, good, cases)
		})
	}
}

// badRowCase is one bad image of TestImageBadRows.
type badRowCase struct {
	name string
	data []byte
	want error
}

// badRows runs each case as the third row of a batch after a good batch.
func badRows(t *testing.T, mem memory.Allocator, with string, good []byte, cases []badRowCase) {
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := binaryBatch(mem, "bytes", [][]byte{good, good})
			defer in.Release()
			s := stagetest.MustBuild(t, nil, mem, "image", with, t.TempDir(), in.Schema())
			out, err := s.(stages.Transform).Process(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			out.Release()
			bad := binaryBatch(mem, "bytes", [][]byte{good, good, c.data, good})
			defer bad.Release()
			_, err = s.(stages.Transform).Process(context.Background(), bad)
			var re *RowError
			if !errors.As(err, &re) || !errors.Is(err, c.want) || re.Row != 4 || re.Column != "bytes" {
				t.Fatalf("got %v, want a RowError for row 4 wrapping %v", err, c.want)
			}
			if !strings.Contains(err.Error(), `column "bytes", row 4`) {
				t.Errorf("message %q does not name the row", err)
			}
		})
	}
}

// TestBombDoesNotAllocate: a header declaring 10^10 pixels is refused
// before any pixel buffer is allocated, whatever max_pixels allows for
// smaller images.
func TestBombDoesNotAllocate(t *testing.T) {
	bomb := pngHeader(100000, 100000)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := decode(bomb, 50_000_000, [3]uint8{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "100000x100000") {
		t.Fatalf("got %v, want ErrTooLarge naming the size", err)
	}
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("refusing the bomb allocated %d bytes", d)
	}
	if _, err := decode(readTestdata(t, "rgb.png"), 120*90-1, [3]uint8{}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("120x90 with max_pixels 10799: %v, want ErrTooLarge", err)
	}
	if _, err := decode(readTestdata(t, "rgb.png"), 120*90, [3]uint8{}); err != nil {
		t.Errorf("120x90 with max_pixels 10800: %v", err)
	}
}

// structBatch is the Hugging Face datasets Image layout.
func structBatch(mem memory.Allocator, rows [][]byte, paths []string) arrow.RecordBatch {
	st := arrow.StructOf(arrow.Field{Name: "bytes", Type: arrow.BinaryTypes.Binary, Nullable: true},
		arrow.Field{Name: "path", Type: arrow.BinaryTypes.String, Nullable: true})
	schema := arrow.NewSchema([]arrow.Field{{Name: "image", Type: st, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	sb := b.Field(0).(*array.StructBuilder)
	for i, r := range rows {
		sb.Append(true)
		if r == nil {
			sb.FieldBuilder(0).AppendNull()
		} else {
			sb.FieldBuilder(0).(*array.BinaryBuilder).Append(r)
		}
		sb.FieldBuilder(1).(*array.StringBuilder).Append(paths[i])
	}
	return b.NewRecordBatch()
}

// TestStructColumn: the struct<bytes, path> layout gives the same tensor
// as a binary column, and a row without bytes names its path.
func TestStructColumn(t *testing.T) {
	mem := stagetest.Mem(t)
	img := readTestdata(t, "palette.png")
	with := "{column: image, resize: {mode: shorter_side, size: 20, crop: 16}}"
	want, err := process(t, mem, "{resize: {mode: shorter_side, size: 20, crop: 16}}", img)
	if err != nil {
		t.Fatal(err)
	}
	defer want.Release()
	in := structBatch(mem, [][]byte{img, nil}, []string{"a.png", "train/b.png"})
	defer in.Release()
	s := stagetest.MustBuild(t, nil, mem, "image", with, t.TempDir(), in.Schema())
	_, err = s.(stages.Transform).Process(context.Background(), in)
	var re *RowError
	if !errors.As(err, &re) || re.Row != 1 || re.Path != "train/b.png" || !strings.Contains(err.Error(), "train/b.png") {
		t.Fatalf("got %v, want a RowError for row 1 naming train/b.png", err)
	}
	one := in.NewSlice(0, 1)
	defer one.Release()
	s = stagetest.MustBuild(t, nil, mem, "image", with, t.TempDir(), in.Schema())
	got, err := s.(stages.Transform).Process(context.Background(), one)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Release()
	if !slices.Equal(float32s(got.Column(1), 0), float32s(want.Column(1), 0)) {
		t.Error("struct layout tensor differs from the binary column's")
	}
}

// TestLayouts: nhwc, bgr and uint8 are permutations of the nchw rgb
// tensor; scale, mean and std apply per output channel.
func TestLayouts(t *testing.T) {
	mem := stagetest.Mem(t)
	img := readTestdata(t, "rgb.png")
	const rs = "resize: {mode: exact, width: 5, height: 4}\ninterpolation: bicubic\n"
	base := run1(t, mem, rs+"scale: 1\n", img)
	const hw = 20
	at := func(c, i int) float32 { return base[c*hw+i] }
	cases := []struct {
		with string
		want func(c, i int) float32 // value of output channel c at pixel i
		nhwc bool
	}{
		{"layout: nhwc\nscale: 1\n", at, true},
		{"channels: bgr\nscale: 1\n", func(c, i int) float32 { return at(2-c, i) }, false},
		{"channels: bgr\nlayout: nhwc\nscale: 1\n", func(c, i int) float32 { return at(2-c, i) }, true},
		{"scale: 2\nmean: [1, 2, 3]\nstd: [2, 4, 8]\n", func(c, i int) float32 {
			return (at(c, i)*2 - float32(c+1)) / float32(int(2)<<c)
		}, false},
	}
	for _, c := range cases {
		got := run1(t, mem, rs+c.with, img)
		for ch := range 3 {
			for i := range hw {
				g := got[ch*hw+i]
				if c.nhwc {
					g = got[i*3+ch]
				}
				if w := c.want(ch, i); g != w {
					t.Fatalf("%q: channel %d pixel %d = %v, want %v", c.with, ch, i, g, w)
				}
			}
		}
	}
	out, err := process(t, mem, rs+"dtype: uint8\nchannels: bgr\n", img)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	u8 := out.Column(1).(*array.FixedSizeList).ListValues().(*array.Uint8).Uint8Values()
	for i, v := range u8 {
		if float32(v) != at(2-i/hw, i%hw) {
			t.Fatalf("uint8 value %d = %d, want %v", i, v, at(2-i/hw, i%hw))
		}
	}
}

// run1 processes one image and returns a copy of its float tensor.
func run1(t *testing.T, mem memory.Allocator, with string, img []byte) []float32 {
	t.Helper()
	out, err := process(t, mem, with, img)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	return slices.Clone(float32s(out.Column(1), 0))
}

// TestBackground: fully transparent pixels take the background colour;
// opaque ones keep theirs.
func TestBackground(t *testing.T) {
	mem := stagetest.Mem(t)
	for _, bg := range [][3]byte{{0, 0, 255}, {255, 255, 255}, {10, 200, 30}} {
		with := fmt.Sprintf("{resize: {mode: exact, width: 120, height: 90}, dtype: uint8, layout: nhwc, background: [%d, %d, %d]}", bg[0], bg[1], bg[2])
		out, err := process(t, mem, with, readTestdata(t, "rgba.png"))
		if err != nil {
			t.Fatal(err)
		}
		px := out.Column(1).(*array.FixedSizeList).ListValues().(*array.Uint8).Uint8Values()
		if !bytes.Equal(px[:3], bg[:]) { // column 0 has alpha 0
			t.Errorf("background %v: transparent pixel is %v", bg, px[:3])
		}
		out.Release()
	}
}

// TestGIFFrameOnScreen: a first frame smaller than the GIF's screen is
// drawn at its offset on a screen of the declared size, the rest being
// background.
func TestGIFFrameOnScreen(t *testing.T) {
	pal := color.Palette{color.RGBA{200, 10, 20, 255}, color.RGBA{0, 0, 0, 0}}
	frame := goimage.NewPaletted(goimage.Rect(2, 1, 5, 3), pal)
	var buf bytes.Buffer
	err := gif.EncodeAll(&buf, &gif.GIF{Image: []*goimage.Paletted{frame}, Delay: []int{0},
		Config: goimage.Config{ColorModel: pal, Width: 6, Height: 4}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := decode(buf.Bytes(), 100, [3]uint8{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if d.w != 6 || d.h != 4 {
		t.Fatalf("size %dx%d, want the screen's 6x4", d.w, d.h)
	}
	for y := range 4 {
		for x := range 6 {
			want := []byte{1, 2, 3}
			if x >= 2 && x < 5 && y >= 1 && y < 3 {
				want = []byte{200, 10, 20}
			}
			if got := d.rgb[(y*6+x)*3:][:3]; !bytes.Equal(got, want) {
				t.Errorf("pixel %d,%d = %v, want %v", x, y, got, want)
			}
		}
	}
}

// A format whose decoder panics, registered for this test binary only.
func init() {
	goimage.RegisterFormat("panicky", "PANICKY", func(io.Reader) (goimage.Image, error) {
		panic("index out of range [7] with length 3")
	}, func(io.Reader) (goimage.Config, error) {
		return goimage.Config{Width: 4, Height: 4}, nil
	})
}

// TestDecoderPanic: a decoder that panics is a corrupt image, not a crash.
func TestDecoderPanic(t *testing.T) {
	_, err := decode([]byte("PANICKY image"), 100, [3]uint8{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "panicked: index out of range") {
		t.Fatalf("got %v, want ErrCorrupt naming the panic", err)
	}
}
