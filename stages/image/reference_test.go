package image

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// refCase is one entry of testdata/index.json (scripts/image-ref/gen.py).
type refCase struct {
	Name   string  `json:"name"`
	Image  string  `json:"image"`
	Class  string  `json:"class"`
	With   string  `json:"with"`
	Shape  []int   `json:"shape"`
	Tensor string  `json:"tensor"`
	Width  int     `json:"width"`
	Height int     `json:"height"`
	Scale  float64 `json:"scale"`
	PadX   int     `json:"pad_x"`
	PadY   int     `json:"pad_y"`
}

// tolerance is the largest absolute difference from Pillow allowed per
// decoder class, after ImageNet normalisation (values span about 4.5; one
// 8-bit step is 1/255/0.224 = 0.0175).
var tolerance = map[string]struct{ max, mean float64 }{
	// Lossless formats: Pillow's exact pixels, to float32 rounding.
	"exact": {max: 1e-5, mean: 1e-6},
	// JPEG (4:4:4, 4:2:0 and CMYK): chroma upsampling and colour
	// conversion repeat libjpeg's, but Go's IDCT rounds differently from
	// libjpeg's islow IDCT: a few pixels are 1 or 2 levels apart.
	"jpeg444":  {max: 0.036, mean: 0.0015},
	"jpeg420":  {max: 0.036, mean: 0.0015},
	"jpegcmyk": {max: 0.036, mean: 0.0015},
	// Lossy WebP: x/image/webp's VP8 reconstruction is bit-exact and the
	// upsampling and conversion repeat libwebp's.
	"webplossy": {max: 1e-5, mean: 1e-6},
}

func binaryBatch(mem memory.Allocator, col string, rows [][]byte) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: col, Type: arrow.BinaryTypes.Binary, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	bb := b.Field(0).(*array.BinaryBuilder)
	for _, r := range rows {
		if r == nil {
			bb.AppendNull()
		} else {
			bb.Append(r)
		}
	}
	return b.NewRecordBatch()
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func loadCases(t testing.TB) []refCase {
	var idx struct{ Cases []refCase }
	if err := json.Unmarshal(readTestdata(t, "index.json"), &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Cases) < 25 {
		t.Fatalf("index.json lists %d cases; regenerate with scripts/image-ref/gen.py", len(idx.Cases))
	}
	return idx.Cases
}

// process builds an image stage from with, runs one batch of rows through
// it and returns the output; the caller releases it.
func process(t *testing.T, mem memory.Allocator, with string, rows ...[]byte) (arrow.RecordBatch, error) {
	t.Helper()
	in := binaryBatch(mem, "bytes", rows)
	defer in.Release()
	s := stagetest.MustBuild(t, nil, mem, "image", with, t.TempDir(), in.Schema())
	return s.(stages.Transform).Process(context.Background(), in)
}

func float32s(a arrow.Array, row int) []float32 {
	l := a.(*array.FixedSizeList)
	per := l.DataType().(*arrow.FixedSizeListType).Len()
	return l.ListValues().(*array.Float32).Float32Values()[row*int(per) : (row+1)*int(per)]
}

// decoderVariant is one way of decoding the reference images: the with
// lines it adds and its tolerance per class (a class it leaves out is
// checked with the go decoder's).
type decoderVariant struct {
	name      string
	with      string
	tolerance map[string]struct{ max, mean float64 }
	native    bool // needs libvips
}

// decoderVariants are the decoders checked against Pillow.
var decoderVariants = []decoderVariant{
	{name: "go", with: "decoder: go\n", tolerance: tolerance},
	// libvips' decoder is libjpeg-turbo's family (mozjpeg), as Pillow's:
	// the islow IDCT, fancy upsampling and colour conversion are the same.
	{name: "vips", with: "decoder: vips\nshrink_on_load: false\n", native: true, tolerance: map[string]struct{ max, mean float64 }{
		"jpeg444": {max: 1e-5, mean: 1e-6}, "jpeg420": {max: 1e-5, mean: 1e-6}, "jpegcmyk": {max: 1e-5, mean: 1e-6},
	}},
	// Shrink-on-load decodes at 1/2, 1/4 or 1/8 in the DCT domain (as
	// Pillow's draft mode), then resizes: close to Pillow's full-size
	// decode + antialiased resize, not equal.
	{name: "vips-shrink", with: "decoder: vips\n", native: true, tolerance: map[string]struct{ max, mean float64 }{
		"jpeg444": {max: 0.25, mean: 0.02}, "jpeg420": {max: 0.25, mean: 0.02}, "jpegcmyk": {max: 0.25, mean: 0.02},
	}},
}

// TestPillowReference: every reference tensor of testdata is reproduced
// within its decoder class's tolerance by each decoder, and the size
// columns are right.
func TestPillowReference(t *testing.T) {
	mem := stagetest.Mem(t)
	for _, v := range decoderVariants {
		t.Run(v.name, func(t *testing.T) {
			if v.native {
				needVips(t)
			}
			for _, c := range loadCases(t) {
				t.Run(c.Name, func(t *testing.T) { checkReference(t, mem, v, c) })
			}
		})
	}
}

// checkReference runs one case with one decoder and compares with Pillow.
func checkReference(t *testing.T, mem memory.Allocator, v decoderVariant, c refCase) {
	tol, ok := v.tolerance[c.Class]
	if !ok {
		if tol, ok = tolerance[c.Class]; !ok {
			t.Fatalf("no tolerance for class %q", c.Class)
		}
	}
	want := readTestdata(t, c.Tensor)
	out, err := process(t, mem, c.With+v.with+"threads: 2\n", readTestdata(t, c.Image))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	got := float32s(out.Column(1), 0)
	if len(got)*4 != len(want) {
		t.Fatalf("%d values, reference has %d", len(got), len(want)/4)
	}
	var maxd, sum float64
	for i, g := range got {
		w := math.Float32frombits(binary.LittleEndian.Uint32(want[i*4:]))
		d := math.Abs(float64(g) - float64(w))
		maxd, sum = max(maxd, d), sum+d
	}
	mean := sum / float64(len(got))
	t.Logf("%-10s max %.4f mean %.5f", c.Class, maxd, mean)
	if maxd > tol.max || mean > tol.mean {
		t.Errorf("max diff %.4f mean %.5f, tolerance %.4f / %.5f", maxd, mean, tol.max, tol.mean)
	}
	checkSizes(t, c, out)
}

func checkSizes(t *testing.T, c refCase, out arrow.RecordBatch) {
	t.Helper()
	w, h := out.Column(2).(*array.Int32).Value(0), out.Column(3).(*array.Int32).Value(0)
	if c.Width != 0 && (int(w) != c.Width || int(h) != c.Height) {
		t.Errorf("width x height %dx%d, want %dx%d", w, h, c.Width, c.Height)
	}
	if c.Scale == 0 {
		return
	}
	scale := out.Column(4).(*array.Float32).Value(0)
	px, py := out.Column(5).(*array.Int32).Value(0), out.Column(6).(*array.Int32).Value(0)
	if float32(c.Scale) != scale || int(px) != c.PadX || int(py) != c.PadY {
		t.Errorf("scale %v pad %d,%d, want %v %d,%d", scale, px, py, c.Scale, c.PadX, c.PadY)
	}
}
