package backendtest

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
)

func model(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "m.fake")
	if err := os.WriteFile(p, []byte("fake model"), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func open(t *testing.T, b *Backend) bridge.Session {
	t.Helper()
	s, err := b.Open(context.Background(), model(t), bridge.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestRunComputesTwoXPlusOne(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := New(Config{K: 3})
	s := open(t, b)
	in := Input(mem, 2, 3)
	defer mem.Free(in.Data)
	out, err := s.Run(context.Background(), []bridge.Tensor{in}, mem)
	if err != nil {
		t.Fatal(err)
	}
	defer Free(mem, out)
	got := Floats(out[0])
	for i, v := range got {
		if want := 2*float32(i) + 1; v != want {
			t.Fatalf("y[%d] = %v, want %v", i, v, want)
		}
	}
	if b.Calls() != 1 || b.Opens() != 1 {
		t.Fatalf("calls %d opens %d, want 1 1", b.Calls(), b.Opens())
	}
	if info := s.Info(); info.Inputs[0].Name != "x" || !info.Inputs[0].Shape[0].Dynamic() || info.Outputs[0].Shape[1].Size != 3 {
		t.Fatalf("info = %+v", info)
	}
}

func TestFaults(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tests := []struct {
		name  string
		setup func(b *Backend)
		input func() bridge.Tensor
		want  []bridge.Class // per call; -1 = success
	}{
		{"first two transient", func(b *Backend) { b.FailFirst(2, bridge.ClassTransient) }, nil,
			[]bridge.Class{bridge.ClassTransient, bridge.ClassTransient, -1}},
		{"always unsupported", func(b *Backend) { b.FailAlways(bridge.ClassUnsupported) }, nil,
			[]bridge.Class{bridge.ClassUnsupported, bridge.ClassUnsupported}},
		{"nan row", nil, func() bridge.Tensor { in := Input(mem, 3, 4); SetFloat(in, 9, float32(math.NaN())); return in },
			[]bridge.Class{bridge.ClassInvalidInput}},
		{"wrong width", nil, func() bridge.Tensor { return Input(mem, 3, 5) }, []bridge.Class{bridge.ClassInvalidInput}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(Config{})
			if tt.setup != nil {
				tt.setup(b)
			}
			s := open(t, b)
			for i, want := range tt.want {
				var in bridge.Tensor
				if tt.input != nil {
					in = tt.input()
				} else {
					in = Input(mem, 2, 4)
				}
				out, err := s.Run(context.Background(), []bridge.Tensor{in}, mem)
				mem.Free(in.Data)
				Free(mem, out)
				if want == -1 {
					if err != nil {
						t.Fatalf("call %d: %v", i, err)
					}
					continue
				}
				if got := bridge.ClassOf(err); got != want {
					t.Fatalf("call %d: class %v (%v), want %v", i, got, err, want)
				}
			}
		})
	}
}

func TestNaNRowNamed(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	s := open(t, New(Config{}))
	in := Input(mem, 3, 4)
	defer mem.Free(in.Data)
	SetFloat(in, 9, float32(math.NaN()))
	_, err := s.Run(context.Background(), []bridge.Tensor{in}, mem)
	var be *bridge.Error
	if !errors.As(err, &be) || be.Msg != "input x: row 2 holds the marker value NaN" {
		t.Fatalf("err = %v", err)
	}
}

func TestAvailabilityAndOpen(t *testing.T) {
	b := New(Config{Name: "gone", Unavailable: errors.New("not here")})
	if !errors.Is(b.Available(), bridge.ErrUnavailable) {
		t.Fatalf("Available = %v", b.Available())
	}
	if _, err := b.Open(context.Background(), model(t), bridge.Options{}); bridge.ClassOf(err) != bridge.ClassUnavailable {
		t.Fatalf("Open = %v", err)
	}
	ok := New(Config{Formats: []string{".onnx"}})
	if _, err := ok.Open(context.Background(), model(t), bridge.Options{}); bridge.ClassOf(err) != bridge.ClassUnsupported {
		t.Fatalf("Open of .fake = %v, want unsupported", err)
	}
	ok.FailOpen(bridge.ClassTransient)
	if _, err := ok.Open(context.Background(), model(t), bridge.Options{}); bridge.ClassOf(err) != bridge.ClassTransient {
		t.Fatalf("Open with FailOpen = %v, want transient", err)
	}
	if _, err := New(Config{}).Open(context.Background(), filepath.Join(t.TempDir(), "missing.fake"), bridge.Options{}); bridge.ClassOf(err) != bridge.ClassModelCorrupt {
		t.Fatalf("Open of a missing file = %v", err)
	}
}

func TestGateAndCancel(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := New(Config{})
	b.SetGate(make(chan struct{}))
	b.SetLatency(time.Hour)
	s := open(t, b)
	in := Input(mem, 1, 4)
	defer mem.Free(in.Data)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := s.Run(ctx, []bridge.Tensor{in}, mem)
	if bridge.ClassOf(err) != bridge.ClassCanceled || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if b.Running() != 0 || b.Peak() != 1 || len(b.Rows()) != 1 || b.Rows()[0] != 1 {
		t.Fatalf("running %d peak %d rows %v", b.Running(), b.Peak(), b.Rows())
	}
}
