package executor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/backendtest"
)

func TestSubmitWarmsUpOnceBeforeTheFirstCall(t *testing.T) {
	v := newEnv(t, Options{})
	b := v.fake("fa", backendtest.Config{})
	m := v.open(ModelSpec{Path: v.model("m.fake", "one"), Backends: []string{"fa"}})
	if got := b.Rows(); len(got) != 1 || got[0] != 1 {
		t.Fatalf("runs after Open = %v, want one warm-up run of 1 row", got)
	}
	for range 3 {
		if err := v.run(context.Background(), m, 5); err != nil {
			t.Fatal(err)
		}
	}
	if got := b.Rows(); len(got) != 4 || got[0] != 1 || got[1] != 5 || got[3] != 5 {
		t.Fatalf("runs = %v, want [1 5 5 5]", got)
	}
	if info := m.Info(); len(info.Inputs) != 1 || info.Inputs[0].Name != "x" {
		t.Fatalf("Info = %+v", info)
	}
}

func TestZeros(t *testing.T) {
	dyn := bridge.Dim{Size: -1, Name: "N"}
	tests := []struct {
		name   string
		inputs []bridge.TensorInfo
		shapes [][]int64
		why    string
	}{
		{"batch and width", []bridge.TensorInfo{{Name: "x", Type: bridge.Float32, Shape: bridge.Shape{dyn, {Size: 4}}}}, [][]int64{{1, 4}}, ""},
		{"static", []bridge.TensorInfo{{Name: "x", Type: bridge.Int64, Shape: bridge.Shape{{Size: 8}, {Size: 2}}}, {Name: "s", Type: bridge.String, Shape: bridge.Shape{dyn}}}, [][]int64{{8, 2}, {1}}, ""},
		{"image", []bridge.TensorInfo{{Name: "img", Type: bridge.Float32, Shape: bridge.Shape{dyn, {Size: 3}, {Size: -1, Name: "H"}, {Size: -1, Name: "W"}}}}, nil, "input img has the dynamic dimension H at axis 2"},
		{"sequence", []bridge.TensorInfo{{Name: "q", Type: bridge.Float32, Kind: "sequence"}}, nil, "input q is a sequence"},
		{"none", nil, nil, "the model declares no inputs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, why := zeros(bridge.ModelInfo{Inputs: tt.inputs})
			if why != tt.why {
				t.Fatalf("why = %q, want %q", why, tt.why)
			}
			for i, s := range tt.shapes {
				if got := in[i].Shape; len(got) != len(s) || got[0] != s[0] {
					t.Fatalf("shape %d = %v, want %v", i, got, s)
				}
				if n := in[i].NumElements(); in[i].Type != bridge.String && int64(len(in[i].Data)) != n*int64(in[i].Type.Size()) {
					t.Fatalf("tensor %d: %d bytes for %d elements", i, len(in[i].Data), n)
				}
			}
		})
	}
}

func TestModelSharing(t *testing.T) {
	v := newEnv(t, Options{})
	b := v.fake("fa", backendtest.Config{})
	path := v.model("m.fake", "shared")
	spec := ModelSpec{Path: path, Backends: []string{"fa"}}
	m1 := v.open(spec)
	spec.Stage = "other"
	m2 := v.open(spec)
	// Same content under another name is the same model.
	spec.Path = v.model("copy.fake", "shared")
	m3 := v.open(spec)
	if b.Opens() != 1 {
		t.Fatalf("three Opens of one content loaded %d sessions, want 1", b.Opens())
	}
	spec.Session = bridge.Options{IntraOpThreads: 2}
	v.open(spec)
	if b.Opens() != 2 {
		t.Fatalf("other options loaded %d sessions in all, want 2", b.Opens())
	}
	for _, m := range []*Model{m1, m2, m3} {
		if err := v.run(context.Background(), m, 2); err != nil {
			t.Fatal(err)
		}
		if err := m.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if b.Closes() != 0 {
		t.Fatalf("closing the users closed %d sessions; the cache should keep them", b.Closes())
	}
	if _, err := m1.Submit(context.Background(), nil, v.mem); !errors.Is(err, ErrClosed) {
		t.Fatalf("Submit on a closed model = %v, want ErrClosed", err)
	}
	if err := v.e.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Closes() != 2 {
		t.Fatalf("Executor.Close closed %d sessions, want 2", b.Closes())
	}
	if _, err := v.e.Open(context.Background(), spec); !errors.Is(err, ErrClosed) {
		t.Fatalf("Open after Close = %v", err)
	}
}

func TestLRUEviction(t *testing.T) {
	// Each model file is 10 bytes; the budget holds two.
	v := newEnv(t, Options{ModelMemory: 20})
	b := v.fake("fa", backendtest.Config{})
	open := func(content string) *Model {
		m, err := v.e.Open(context.Background(), ModelSpec{Stage: content, Path: v.model(content+".fake", content+"-model"), Backends: []string{"fa"}})
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	a, bm, c := open("aaaa"), open("bbbb"), open("cccc")
	if b.Opens() != 3 || b.Closes() != 0 {
		t.Fatalf("opens %d closes %d: referenced models must not be evicted", b.Opens(), b.Closes())
	}
	_ = a.Close()
	_ = c.Close()
	_ = bm.Close() // b is now the most recently used, a the least
	if b.Closes() != 1 || v.e.reg.loadedCount() != 2 {
		t.Fatalf("after releasing all: closes %d loaded %d, want 1 and 2", b.Closes(), v.e.reg.loadedCount())
	}
	// a was evicted: opening it again loads it again and evicts c.
	a = open("aaaa")
	defer a.Close()
	if b.Opens() != 4 || b.Closes() != 2 {
		t.Fatalf("reopen: opens %d closes %d, want 4 and 2", b.Opens(), b.Closes())
	}
	bm = open("bbbb") // still cached
	defer bm.Close()
	if b.Opens() != 4 {
		t.Fatalf("b was evicted (opens %d); c was the least recently used", b.Opens())
	}
}

func TestHashPin(t *testing.T) {
	v := newEnv(t, Options{})
	v.fake("fa", backendtest.Config{})
	path := v.model("m.fake", "pinned")
	sum, _, err := hashModel(path)
	if err != nil {
		t.Fatal(err)
	}
	v.open(ModelSpec{Path: path, Backends: []string{"fa"}, SHA256: strings.ToUpper(sum)})
	bad := strings.Repeat("0", 64)
	_, err = v.e.Open(context.Background(), ModelSpec{Path: path, Backends: []string{"fa"}, SHA256: bad})
	var hm *HashMismatchError
	if !errors.As(err, &hm) || bridge.ClassOf(err) != bridge.ClassModelCorrupt {
		t.Fatalf("Open with a wrong pin = %v, want a model-corrupt *HashMismatchError", err)
	}
	for _, s := range []string{path, sum, bad} {
		if !strings.Contains(err.Error(), s) {
			t.Fatalf("error %q does not name %s", err, s)
		}
	}
	if _, err := v.e.Open(context.Background(), ModelSpec{Path: v.dir + "/missing.fake", Backends: []string{"fa"}}); bridge.ClassOf(err) != bridge.ClassModelCorrupt || !strings.Contains(err.Error(), "missing.fake") {
		t.Fatalf("Open of a missing file = %v", err)
	}
}

func TestPlacement(t *testing.T) {
	order := []string{"t-ane", "t-mps", "t-metal", "t-cpu"}
	tests := []struct {
		name     string
		fakes    map[string]backendtest.Config
		backends []string
		strict   bool
		padTo    int
		want     string // backend, or "" for an error
		reason   []string
	}{
		{"auto skips unavailable and formats", map[string]backendtest.Config{
			"t-ane": {Unavailable: errors.New("not macOS")},
			"t-mps": {Formats: []string{".mlpackage"}},
			"t-cpu": {},
		}, nil, false, 0, "t-cpu", []string{"auto: t-ane unavailable", "not macOS", "t-mps cannot open .fake", "t-metal not registered", "t-cpu"}},
		{"auto skips static shapes", map[string]backendtest.Config{
			"t-ane": {StaticShapes: true}, "t-cpu": {},
		}, nil, false, 0, "t-cpu", []string{"t-ane needs static shapes; input x is [N, 4]"}},
		{"pad_to makes the batch static", map[string]backendtest.Config{
			"t-ane": {StaticShapes: true}, "t-cpu": {},
		}, []string{"auto"}, false, 8, "t-ane", []string{"auto: t-mps not registered"}},
		{"auto skips element types", map[string]backendtest.Config{
			"t-ane": {ElemTypes: []bridge.ElemType{bridge.Float16}}, "t-cpu": {},
		}, nil, false, 0, "t-cpu", []string{"t-ane does not take float32 tensors (x)"}},
		{"explicit order", map[string]backendtest.Config{"t-ane": {}, "t-cpu": {}},
			[]string{"t-cpu", "t-ane"}, false, 0, "t-cpu", []string{"explicit [t-cpu t-ane]: t-cpu"}},
		{"explicit falls back at open", map[string]backendtest.Config{"t-ane": {}, "t-cpu": {Unavailable: errors.New("no library")}},
			[]string{"t-cpu", "t-ane"}, false, 0, "t-ane", []string{"t-cpu unavailable"}},
		{"strict refuses the fallback", map[string]backendtest.Config{"t-ane": {}, "t-cpu": {Unavailable: errors.New("no library")}},
			[]string{"t-cpu", "t-ane"}, true, 0, "", []string{"strict placement refused a fallback", "t-cpu unavailable"}},
		{"nothing fits", map[string]backendtest.Config{"t-ane": {Formats: []string{".onnx"}}},
			nil, false, 0, "", []string{"no backend can run it", "t-ane cannot open .fake", "t-cpu not registered"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newEnv(t, Options{AutoOrder: order})
			for name, cfg := range tt.fakes {
				v.fake(name, cfg)
			}
			spec := ModelSpec{Stage: "s", Path: v.model("m.fake", "x"), Backends: tt.backends, Strict: tt.strict, PadTo: tt.padTo}
			m, err := v.e.Open(context.Background(), spec)
			if tt.want == "" {
				var pe *PlacementError
				if !errors.As(err, &pe) || !errors.Is(err, ErrNoBackend) {
					t.Fatalf("Open = %v, want a *PlacementError", err)
				}
				for _, r := range tt.reason {
					if !strings.Contains(err.Error(), r) {
						t.Fatalf("error %q lacks %q", err, r)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer m.Close()
			got, reason := m.Placement()
			if got != tt.want {
				t.Fatalf("placed on %s (%s), want %s", got, reason, tt.want)
			}
			for _, r := range tt.reason {
				if !strings.Contains(reason, r) {
					t.Fatalf("reason %q lacks %q", reason, r)
				}
			}
		})
	}
}

func TestAutoAvoidsDegraded(t *testing.T) {
	v := newEnv(t, Options{AutoOrder: []string{"t-ane", "t-cpu"}})
	ane := v.fake("t-ane", backendtest.Config{})
	v.fake("t-cpu", backendtest.Config{})
	path := v.model("m.fake", "x")
	m := v.open(ModelSpec{Path: path, Retry: RetryPolicy{MaxAttempts: 1}, Breaker: BreakerPolicy{Failures: 1000}})
	if got, _ := m.Placement(); got != "t-ane" {
		t.Fatalf("first placement %s, want t-ane", got)
	}
	ane.FailAlways(bridge.ClassTransient)
	for range healthMinRuns {
		if err := v.run(context.Background(), m, 1); bridge.ClassOf(err) != bridge.ClassTransient {
			t.Fatalf("run = %v, want the injected transient error", err)
		}
	}
	m2 := v.open(ModelSpec{Stage: "again", Path: path})
	got, reason := m2.Placement()
	if got != "t-cpu" || !strings.Contains(reason, "t-ane degraded or breaker open, tried last") {
		t.Fatalf("placement of a new open = %s (%s), want t-cpu avoiding the degraded t-ane", got, reason)
	}
	var found bool
	for _, st := range v.e.Backends() {
		if st.Name == "t-ane" {
			found = len(st.Models) == 1 && st.Models[0].Degraded && st.Models[0].Runs == int64(healthMinRuns) && st.Models[0].Model == "m.fake"
		}
	}
	if !found {
		t.Fatalf("Backends() does not report t-ane degraded: %+v", v.e.Backends())
	}
}

func TestHashModelFolder(t *testing.T) {
	dir := t.TempDir() + "/m.mlpackage"
	write := func(rel, content string) {
		t.Helper()
		p := dir + "/" + rel
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("Manifest.json", "{}")
	write("Data/weights.bin", "0123456789")
	sum1, size, err := hashModel(dir)
	if err != nil || size != 12 || len(sum1) != 64 {
		t.Fatalf("hashModel = %s, %d, %v", sum1, size, err)
	}
	if again, _, _ := hashModel(dir); again != sum1 {
		t.Fatal("hash of an unchanged folder changed")
	}
	write("Data/weights.bin", "0123456780")
	if sum2, _, _ := hashModel(dir); sum2 == sum1 {
		t.Fatal("hash ignores file content")
	}
	if modelExt(dir+"/") != ".mlpackage" || modelLabel(dir+"/") != "m.mlpackage" {
		t.Fatalf("ext %q label %q", modelExt(dir+"/"), modelLabel(dir+"/"))
	}
}
