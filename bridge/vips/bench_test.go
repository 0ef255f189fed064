//go:build cgo

package vips

import (
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// BenchmarkDecodeJPEG decodes the JPEGs of $PIPE_IMAGE_BENCH_DIR (or one
// generated 1280x960 image) at each shrink, on one goroutine.
func BenchmarkDecodeJPEG(b *testing.B) {
	needVips(b)
	var imgs [][]byte
	if dir := os.Getenv("PIPE_IMAGE_BENCH_DIR"); dir != "" {
		names, _ := filepath.Glob(filepath.Join(dir, "*.jpg"))
		sort.Strings(names)
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				b.Fatal(err)
			}
			imgs = append(imgs, data)
		}
	}
	if len(imgs) == 0 {
		imgs = [][]byte{testJPEG(b, 1280, 960, false)}
	}
	for _, s := range []int{1, 2, 4, 8} {
		b.Run("shrink"+string(rune('0'+s)), func(b *testing.B) {
			for i := range b.N {
				if _, err := DecodeJPEG(imgs[i%len(imgs)], s); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
