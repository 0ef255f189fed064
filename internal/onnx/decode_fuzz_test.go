package onnx

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// FuzzDecode checks that Decode never panics, and that whatever it accepts
// encodes to bytes that decode again and re-encode identically.
func FuzzDecode(f *testing.F) {
	f.Add(fullModel().Marshal())
	f.Add([]byte{})
	f.Add([]byte{0x3a, 0x02, 0x0a, 0x00})
	paths, err := filepath.Glob("../../testdata/models/*.onnx")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		if filepath.Base(p) == "slow.onnx" {
			continue // 1 MB: too big a seed
		}
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := Decode(b)
		if err != nil {
			return
		}
		b2 := m.Marshal()
		m2, err := Decode(b2)
		if err != nil {
			t.Fatalf("re-encoded model does not decode: %v", err)
		}
		if b3 := m2.Marshal(); !bytes.Equal(b2, b3) {
			t.Fatalf("encoding is not stable: %d then %d bytes", len(b2), len(b3))
		}
		_ = Validate(m)
		_ = m.Info()
		if m.Graph != nil {
			for _, t := range m.Graph.Initializers {
				_, _ = t.Float64s()
			}
		}
	})
}
