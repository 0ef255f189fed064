package apple

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCacheKey(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "m.onnx")
	write(t, file, "onnx bytes")
	pkg := filepath.Join(dir, "m.mlpackage")
	write(t, filepath.Join(pkg, "Manifest.json"), "{}")
	write(t, filepath.Join(pkg, "Data", "weights.bin"), "weights")
	env := CacheEnv{OSBuild: "23E224", Chip: "Apple M2"}

	key := func(path string, u ComputeUnits, e CacheEnv) string {
		t.Helper()
		k, err := CacheKey(path, u, e)
		if err != nil {
			t.Fatalf("CacheKey(%s): %v", path, err)
		}
		if len(k) != CacheKeyLen {
			t.Fatalf("key %q has length %d", k, len(k))
		}
		return k
	}
	base := key(file, CPUAndNeuralEngine, env)
	if again := key(file, CPUAndNeuralEngine, env); again != base {
		t.Errorf("key not stable: %s then %s", base, again)
	}
	pkgKey := key(pkg, CPUAndNeuralEngine, env)

	// Moving the package folder keeps its key.
	moved := filepath.Join(dir, "elsewhere", "m.mlpackage")
	if err := os.MkdirAll(filepath.Dir(moved), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(pkg, moved); err != nil {
		t.Fatal(err)
	}
	if k := key(moved, CPUAndNeuralEngine, env); k != pkgKey {
		t.Errorf("moving the package changed its key")
	}

	changes := []struct {
		name string
		k    func() string
	}{
		{"units", func() string { return key(file, CPUAndGPU, env) }},
		{"os build", func() string { return key(file, CPUAndNeuralEngine, CacheEnv{OSBuild: "24A335", Chip: "Apple M2"}) }},
		{"ort version", func() string {
			return key(file, CPUAndNeuralEngine, CacheEnv{OSBuild: "23E224", Chip: "Apple M2", ORTVersion: "1.30.0"})
		}},
		{"options", func() string {
			return key(file, CPUAndNeuralEngine, CacheEnv{OSBuild: "23E224", Chip: "Apple M2", Options: []string{"ModelFormat=MLProgram"}})
		}},
		{"content", func() string { write(t, file, "onnx bytes!"); return key(file, CPUAndNeuralEngine, env) }},
	}
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			if got := c.k(); got == base {
				t.Errorf("changing %s kept key %s", c.name, got)
			}
		})
	}
	t.Run("file in package", func(t *testing.T) {
		write(t, filepath.Join(moved, "Data", "weights.bin"), "weightz")
		if k := key(moved, CPUAndNeuralEngine, env); k == pkgKey {
			t.Errorf("changing a weight file kept the package key")
		}
	})
	t.Run("options order", func(t *testing.T) {
		a := key(file, All, CacheEnv{Options: []string{"a=1", "b=2"}})
		b := key(file, All, CacheEnv{Options: []string{"b=2", "a=1"}})
		if a != b {
			t.Errorf("option order changed the key")
		}
	})
	t.Run("missing model", func(t *testing.T) {
		if _, err := CacheKey(filepath.Join(dir, "nope.onnx"), All, env); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("CacheKey(missing) error = %v", err)
		}
	})
}

func TestCacheRoot(t *testing.T) {
	home := func() (string, error) { return "/home/u", nil }
	noHome := func() (string, error) { return "", errors.New("no home") }
	tests := []struct {
		name string
		xdg  string
		home func() (string, error)
		want string
		err  bool
	}{
		{"xdg", "/xdg", home, "/xdg/pipe/coreml", false},
		{"relative xdg ignored", "rel", home, "/home/u/.cache/pipe/coreml", false},
		{"home", "", home, "/home/u/.cache/pipe/coreml", false},
		{"nothing", "", noHome, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := cacheRoot(func(string) string { return tt.xdg }, tt.home)
			if (err != nil) != tt.err || got != filepath.FromSlash(tt.want) {
				t.Errorf("cacheRoot = %q, %v; want %q (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestCacheDir(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", "/xdg")
	key := "0123456789abcdef0123456789abcdef0123456789abcdef"
	got, err := CacheDir(key)
	if err != nil || got != filepath.Join("/xdg", "pipe", "coreml", key) {
		t.Errorf("CacheDir = %q, %v", got, err)
	}
	for _, bad := range []string{"", "../../etc", key[:47] + "G"} {
		if _, err := CacheDir(bad); err == nil {
			t.Errorf("CacheDir(%q) accepted", bad)
		}
	}
	if got := CompiledModelPath("/c/k", "/models/enc.v2.mlpackage"); got != filepath.Join("/c/k", "enc.v2.mlmodelc") {
		t.Errorf("CompiledModelPath = %q", got)
	}
}
