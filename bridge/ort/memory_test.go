//go:build cgo

package ort

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestOpenMemory loads a model from its bytes under a path that does not
// exist: the session runs it (an Identity model returns its input), so the
// file was not read; empty and malformed bytes are model-corrupt errors
// naming the path.
func TestOpenMemory(t *testing.T) {
	b := cpuBackend(t)
	mo, ok := b.(bridge.MemoryOpener)
	if !ok {
		t.Fatal("the cpu backend does not load from memory")
	}
	data, err := os.ReadFile(identityModel(t, bridge.Float32))
	if err != nil {
		t.Fatal(err)
	}
	ghost := filepath.Join(t.TempDir(), "absent.onnx")
	s, err := mo.OpenMemory(context.Background(), ghost, data, bridge.Options{IntraOpThreads: 1})
	if err != nil {
		t.Fatalf("OpenMemory: %v", err)
	}
	defer s.Close()
	mem := stagetest.Mem(t)
	in := bridge.Tensor{Type: bridge.Float32, Shape: []int64{1, 2}, Data: []byte{0, 0, 128, 63, 0, 0, 0, 64}} // 1, 2
	out, err := s.Run(context.Background(), []bridge.Tensor{in}, mem)
	if err != nil {
		t.Fatal(err)
	}
	if string(out[0].Data) != string(in.Data) {
		t.Fatalf("identity model from memory returned %v, want %v", out[0].Data, in.Data)
	}
	mem.Free(out[0].Data)
	for _, bad := range [][]byte{nil, []byte("not a model")} {
		_, err := mo.OpenMemory(context.Background(), ghost, bad, bridge.Options{})
		if bridge.ClassOf(err) != bridge.ClassModelCorrupt || !strings.Contains(err.Error(), ghost) {
			t.Fatalf("OpenMemory(%q) = %v, want a model-corrupt error naming %s", bad, err, ghost)
		}
	}
}
