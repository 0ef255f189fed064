package image

import (
	"bytes"
	"context"
	goimage "image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// benchImages returns the JPEGs of $PIPE_IMAGE_BENCH_DIR (as written by
// scripts/image-ref/bench.py, to compare with Pillow on the same files),
// or else 16 generated 1280x960 photos-like JPEGs (4:2:0, quality 90).
func benchImages(b *testing.B) [][]byte {
	if dir := os.Getenv("PIPE_IMAGE_BENCH_DIR"); dir != "" {
		names, err := filepath.Glob(filepath.Join(dir, "*.jpg"))
		if err != nil || len(names) == 0 {
			b.Fatalf("PIPE_IMAGE_BENCH_DIR=%s: no .jpg files (%v)", dir, err)
		}
		sort.Strings(names)
		var out [][]byte
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				b.Fatal(err)
			}
			out = append(out, data)
		}
		return out
	}
	var out [][]byte
	for i := range 16 {
		img := goimage.NewRGBA(goimage.Rect(0, 0, 1280, 960))
		for y := range 960 {
			for x := range 1280 {
				img.SetRGBA(x, y, color.RGBA{uint8(x/5 + i), uint8(y / 4), uint8((x*y)>>10 + (x^y)&15), 255})
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

// BenchmarkImage224 decodes, resizes (shorter side 256, bilinear),
// centre-crops 224 and normalises batches of 1280x960 JPEGs with one
// thread per CPU, with each decoder (vips shrinks on load); images/s is
// the figure to compare with Pillow.
func BenchmarkImage224(b *testing.B) {
	for _, dec := range []string{"go", "vips", "vips-noshrink"} {
		b.Run(dec, func(b *testing.B) {
			with := "decoder: " + dec
			switch dec {
			case "vips":
				needVips(b)
			case "vips-noshrink":
				needVips(b)
				with = "decoder: vips, shrink_on_load: false"
			}
			benchImage(b, with)
		})
	}
}

func benchImage(b *testing.B, with string) {
	imgs := benchImages(b)
	mem := memory.NewGoAllocator()
	in := binaryBatch(mem, "bytes", imgs)
	defer in.Release()
	s := stagetest.MustBuild(b, nil, mem, "image", "{resize: {mode: shorter_side, size: 256, crop: 224}, "+
		"mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], "+with+"}", b.TempDir(), in.Schema())
	b.ResetTimer()
	cpu0 := cpuTime()
	for range b.N {
		out, err := s.(stages.Transform).Process(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	b.ReportMetric(float64(b.N*len(imgs))/b.Elapsed().Seconds(), "images/s")
	b.ReportMetric(float64(runtime.GOMAXPROCS(0)), "threads")
	b.ReportMetric(float64(cpuTime()-cpu0)/1e6/float64(b.N*len(imgs)), "cpu-ms/image")
}
