package executor

import (
	"context"
	"encoding/binary"
	"maps"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

// skewed wraps a fake backend: its sessions scale every output by 1+skew,
// like a backend computing in lower precision, and it records the options
// each Open got.
type skewed struct {
	*backendtest.Backend
	skew float32

	mu    sync.Mutex
	opens []bridge.Options
}

// register registers a skewed fake backend named name for the test.
func (v *env) skewed(name string, skew float32) *skewed {
	s := &skewed{Backend: backendtest.New(backendtest.Config{Name: name}), skew: skew}
	bridge.Register(s)
	v.t.Cleanup(func() { bridge.Unregister(name) })
	return s
}

func (s *skewed) Open(ctx context.Context, path string, opts bridge.Options) (bridge.Session, error) {
	s.mu.Lock()
	opts.Extra = maps.Clone(opts.Extra)
	s.opens = append(s.opens, opts)
	s.mu.Unlock()
	sess, err := s.Backend.Open(ctx, path, opts)
	if err != nil {
		return nil, err
	}
	return &skewedSession{Session: sess, skew: s.skew}, nil
}

func (s *skewed) options() []bridge.Options {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]bridge.Options(nil), s.opens...)
}

type skewedSession struct {
	bridge.Session
	skew float32
}

func (s *skewedSession) Run(ctx context.Context, in []bridge.Tensor, mem memory.Allocator) ([]bridge.Tensor, error) {
	out, err := s.Session.Run(ctx, in, mem)
	if err != nil {
		return nil, err
	}
	for _, t := range out {
		for i, y := range backendtest.Floats(t) {
			backendtest.SetFloat(t, i, y*(1+s.skew))
		}
	}
	return out, nil
}

// submit runs rows rows on m and frees the outputs.
func (v *env) submit(m *Model, rows int) {
	v.t.Helper()
	in := backendtest.Input(v.mem, rows, 4)
	defer v.mem.Free(in.Data)
	c, err := m.Submit(context.Background(), []bridge.Tensor{in}, v.mem)
	if err != nil {
		v.t.Fatal(err)
	}
	out, err := c.Result()
	backendtest.Free(v.mem, out)
	if err != nil {
		v.t.Fatal(err)
	}
}

func TestCanaryComparesFirstBatchWithReference(t *testing.T) {
	v := newEnv(t, Options{CanaryBackend: "t-cpu"})
	v.skewed("t-ane", 1e-3)
	cpu := v.fake("t-cpu", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"t-ane", "t-cpu"}})
	if _, ok := m.Canary(); ok {
		t.Fatal("Canary() ok before any batch")
	}
	v.submit(m, 3)
	r, ok := m.Canary()
	if !ok {
		t.Fatal("Canary() not ok after the first batch")
	}
	if r.Error != "" || r.Backend != "t-ane" || r.Reference != "t-cpu" || r.Rows != 3 || len(r.Outputs) != 1 {
		t.Fatalf("report %+v", r)
	}
	o := r.Outputs[0]
	// y = 2x+1 over x = 0..11, the largest 23: abs diff 23e-3, rel 1e-3.
	if o.Name != "y" || o.Elements != 12 || o.Mismatches != 12 || o.Note != "" {
		t.Fatalf("output diff %+v", o)
	}
	if math.Abs(o.MaxRel-1e-3) > 1e-5 || math.Abs(o.MaxAbs-23e-3) > 1e-4 || r.MaxAbs != o.MaxAbs || r.MaxRel != o.MaxRel {
		t.Fatalf("diffs abs %g rel %g (report %g %g), want about 0.023 and 0.001", o.MaxAbs, o.MaxRel, r.MaxAbs, r.MaxRel)
	}
	if !strings.Contains(r.String(), "t-ane vs t-cpu on 3 rows") {
		t.Errorf("String() = %q", r.String())
	}
	runs := cpu.Calls() // warm-up and the canary
	v.submit(m, 2)
	if cpu.Calls() != runs {
		t.Errorf("reference ran again on the second batch: %d calls, then %d", runs, cpu.Calls())
	}
	if again, _ := m.Canary(); again.Rows != 3 {
		t.Errorf("canary replaced by a later batch: %+v", again)
	}
}

func TestCanarySkipped(t *testing.T) {
	tests := []struct {
		name      string
		canary    string
		backends  []string
		wantOK    bool
		wantError string
	}{
		{"placed on the reference", "t-cpu", []string{"t-cpu"}, false, ""},
		{"canary off", "none", []string{"t-ane"}, false, ""},
		{"reference not registered", "t-missing", []string{"t-ane"}, true, "t-missing not registered"},
		{"reference cannot open the model", "t-cpu", []string{"t-ane"}, true, "t-cpu failed to open the model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, Options{CanaryBackend: tt.canary})
			v.skewed("t-ane", 1e-3)
			cpu := v.fake("t-cpu", backendtest.Config{})
			if tt.wantError != "" {
				cpu.FailOpen(bridge.ClassUnsupported)
			}
			m := v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: tt.backends})
			v.submit(m, 2)
			r, ok := m.Canary()
			if ok != tt.wantOK || !strings.Contains(r.Error, tt.wantError) {
				t.Fatalf("Canary() = %+v, %v; want ok %v, error containing %q", r, ok, tt.wantOK, tt.wantError)
			}
		})
	}
}

func TestStrictPlacementReachesTheBackend(t *testing.T) {
	for _, strict := range []bool{false, true} {
		v := newEnv(t, Options{})
		b := v.skewed("t-ane", 0)
		own := map[string]string{"cache_dir": "/tmp/x"}
		v.open(ModelSpec{Path: v.model("m.fake", "x"), Backends: []string{"t-ane"}, Strict: strict,
			Session: bridge.Options{Extra: own}})
		opens := b.options()
		if len(opens) != 1 {
			t.Fatalf("strict %v: %d opens", strict, len(opens))
		}
		got := opens[0].Extra
		if (got[ExtraStrict] == "1") != strict || got["cache_dir"] != "/tmp/x" {
			t.Errorf("strict %v: backend got Extra %v", strict, got)
		}
		if _, changed := own[ExtraStrict]; changed {
			t.Errorf("strict %v: the spec's own Extra map was modified: %v", strict, own)
		}
		bridge.Unregister("t-ane")
	}
}

func f32(vals ...float32) bridge.Tensor {
	t := bridge.Tensor{Type: bridge.Float32, Shape: []int64{int64(len(vals))}, Data: make([]byte, 4*len(vals))}
	for i, x := range vals {
		binary.LittleEndian.PutUint32(t.Data[4*i:], math.Float32bits(x))
	}
	return t
}

func f16(vals ...float32) bridge.Tensor {
	t := bridge.Tensor{Type: bridge.Float16, Shape: []int64{int64(len(vals))}, Data: make([]byte, 2*len(vals))}
	for i, x := range vals {
		binary.LittleEndian.PutUint16(t.Data[2*i:], float16.New(x).Uint16())
	}
	return t
}

func TestCompareTensors(t *testing.T) {
	nan := float32(math.NaN())
	h := math.Abs(float64(float16.New(0.1).Float32()) - float64(float32(0.1))) // 0.1 in float16
	tests := []struct {
		name       string
		got, ref   bridge.Tensor
		abs, rel   float64
		mismatches int64
		note       string
	}{
		{"equal", f32(1, 2, 3), f32(1, 2, 3), 0, 0, 0, ""},
		{"float32 differences", f32(1, 2.5, 0.5), f32(1, 2, 0), 0.5, 0.25, 2, ""},
		{"float16 against float32", f16(0.1, 2), f32(0.1, 2), h, h / float64(float32(0.1)), 1, ""},
		{"both NaN", f32(nan), f32(nan), 0, 0, 0, ""},
		{"NaN against a number", f32(nan), f32(1), math.Inf(1), math.Inf(1), 1, ""},
		{"shape differs", f32(1, 2), f32(1, 2, 3), 0, 0, 0, "shape [2], reference [3]"},
		{"strings", bridge.Tensor{Type: bridge.String, Shape: []int64{2}, Strings: []string{"a", "b"}},
			bridge.Tensor{Type: bridge.String, Shape: []int64{2}, Strings: []string{"a", "c"}}, 0, 0, 1, ""},
		{"string against float", bridge.Tensor{Type: bridge.String, Shape: []int64{1}, Strings: []string{"a"}}, f32(1), 0, 0, 0, "type string, reference float32"},
		{"int64", bridge.Tensor{Type: bridge.Int64, Shape: []int64{1}, Data: []byte{5, 0, 0, 0, 0, 0, 0, 0}},
			bridge.Tensor{Type: bridge.Int64, Shape: []int64{1}, Data: []byte{4, 0, 0, 0, 0, 0, 0, 0}}, 1, 0.25, 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := compareTensors(tt.got, tt.ref)
			if d.Note != tt.note || d.Mismatches != tt.mismatches {
				t.Fatalf("diff %+v, want note %q and %d mismatches", d, tt.note, tt.mismatches)
			}
			if !near(d.MaxAbs, tt.abs) || !near(d.MaxRel, tt.rel) {
				t.Fatalf("diff abs %g rel %g, want %g and %g", d.MaxAbs, d.MaxRel, tt.abs, tt.rel)
			}
		})
	}
}

// near reports whether a and b agree to 1e-9 (or are the same infinity).
func near(a, b float64) bool { return a == b || math.Abs(a-b) < 1e-9 }
