//go:build cgo

package ort

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
)

func TestFindLibraryListsEveryPlace(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "libonnxruntime.so.1")
	if err := os.WriteFile(present, []byte("not a library"), 0o644); err != nil {
		t.Fatal(err)
	}
	cands := []candidate{
		{Path: filepath.Join(dir, "missing.so"), Label: "PIPE_ORT_LIB=" + filepath.Join(dir, "missing.so"), File: true},
		{Path: present, Label: present, File: true},
		{Path: "libonnxruntime.so.1", Label: "libonnxruntime.so.1 (system library path)"},
	}
	var loaded []string
	load := func(p string) error {
		loaded = append(loaded, p)
		return errors.New("cannot open " + p)
	}
	_, err := findLibrary(cands, load)
	if !errors.Is(err, errNotFound) {
		t.Fatalf("err = %v, want errNotFound", err)
	}
	msg := err.Error()
	for _, want := range []string{"missing.so: no such file", present + ": cannot open " + present,
		"(system library path): cannot open libonnxruntime.so.1", "scripts/install-ort.sh", "make ort", EnvLib} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if len(loaded) != 2 {
		t.Errorf("load called for %v; a missing file must not reach dlopen", loaded)
	}

	path, err := findLibrary(cands, func(p string) error {
		if p == "libonnxruntime.so.1" {
			return nil
		}
		return errors.New("no")
	})
	if err != nil || path != "libonnxruntime.so.1" {
		t.Fatalf("findLibrary = %q, %v; want the system library", path, err)
	}
}

func TestCandidateOrder(t *testing.T) {
	t.Setenv(EnvLib, "/opt/ort/libonnxruntime.so.1")
	t.Setenv("XDG_CACHE_HOME", "/cache-root")
	c := candidates()
	if len(c) < 3 || c[0].Path != "/opt/ort/libonnxruntime.so.1" || !c[0].File {
		t.Fatalf("first candidate should be $%s: %+v", EnvLib, c)
	}
	if !strings.HasPrefix(c[1].Path, "/cache-root/pipe/onnxruntime/"+Version+"/") || !c[1].File {
		t.Fatalf("second candidate should be in the cache: %+v", c)
	}
	if last := c[len(c)-1]; last.File || strings.Contains(last.Path, "/") {
		t.Fatalf("last candidate %+v should be a bare name for the system search", last)
	}
	t.Setenv(EnvLib, "")
	if c := candidates(); strings.HasPrefix(c[0].Label, EnvLib) {
		t.Fatalf("with %s empty the first candidate is %+v", EnvLib, c[0])
	}
}

func TestAvailableAndVersion(t *testing.T) {
	b := cpuBackend(t)
	if err := b.Available(); err != nil {
		t.Fatalf("Available() = %v", err)
	}
	v, err := LibraryVersion()
	if err != nil || !strings.HasPrefix(v, "1.") {
		t.Fatalf("LibraryVersion() = %q, %v", v, err)
	}
	if v != Version {
		t.Logf("note: loaded ONNX Runtime %s, pipe pins %s", v, Version)
	}
	if p, err := LibraryPath(); err != nil || p == "" {
		t.Fatalf("LibraryPath() = %q, %v", p, err)
	}
	caps := b.Capabilities()
	if len(caps.Formats) != 1 || caps.Formats[0] != ".onnx" || len(caps.Devices) != 1 || caps.Devices[0].Kind != "cpu" {
		t.Fatalf("Capabilities() = %+v", caps)
	}
}

func TestExecutionProviderBackend(t *testing.T) {
	needORT(t)
	tests := []struct {
		name  string
		extra map[string]string
		class bridge.Class
		want  string
	}{
		{"provider missing from the build", map[string]string{"ep": "NoSuchProvider"}, bridge.ClassUnavailable, "NoSuchProvider"},
		{"option without provider", map[string]string{"ep.MLComputeUnits": "ALL"}, bridge.ClassUnavailable, "ep.MLComputeUnits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBackend("test-ep", tt.extra, CPUCapabilities())
			err := b.Available()
			if err == nil {
				t.Fatal("Available() = nil, want an error")
			}
			if got := bridge.ClassOf(err); got != tt.class || !errors.Is(err, bridge.ErrUnavailable) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Available() = %v (class %v), want class %v mentioning %q", err, got, tt.class, tt.want)
			}
			if _, err := b.Open(context.Background(), modelPath(t, "mlp.onnx"), bridge.Options{}); err == nil {
				t.Fatal("Open() = nil error on an unavailable backend")
			}
		})
	}
}

func TestSessionOptions(t *testing.T) {
	b := cpuBackend(t)
	on, off := true, false
	tests := []struct {
		name    string
		opts    bridge.Options
		wantErr error
	}{
		{"defaults", bridge.Options{}, nil},
		{"threads and spinning on", bridge.Options{IntraOpThreads: 1, InterOpThreads: 1, Spinning: &on}, nil},
		{"spinning off", bridge.Options{IntraOpThreads: 1, Spinning: &off}, nil},
		{"graph opt disable", bridge.Options{IntraOpThreads: 1, GraphOpt: "disable"}, nil},
		{"graph opt basic", bridge.Options{IntraOpThreads: 1, GraphOpt: "basic"}, nil},
		{"graph opt extended", bridge.Options{IntraOpThreads: 1, GraphOpt: "extended"}, nil},
		{"graph opt all", bridge.Options{IntraOpThreads: 1, GraphOpt: "all"}, nil},
		{"extra keys that are not ours are ignored", bridge.Options{IntraOpThreads: 1, Extra: map[string]string{"cache_dir": "/tmp"}}, nil},
		{"bad graph opt", bridge.Options{GraphOpt: "max"}, ErrInvalidOption},
		{"negative threads", bridge.Options{IntraOpThreads: -1}, ErrInvalidOption},
		{"unknown provider", bridge.Options{Extra: map[string]string{"ep": "NoSuchProvider"}}, bridge.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := b.Open(context.Background(), modelPath(t, "head.onnx"), tt.opts)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Open() = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open() = %v", err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(); err != nil {
				t.Fatalf("second Close() = %v", err)
			}
		})
	}
}

func TestLogLevel(t *testing.T) {
	for _, tc := range []struct {
		v    string
		want int
		ok   bool
	}{{"", 4, true}, {"verbose", 0, true}, {"WARNING", 2, true}, {"error", 3, true}, {"loud", 0, false}} {
		t.Setenv(LogLevelEnv, tc.v)
		got, err := logLevel()
		if (err == nil) != tc.ok || (tc.ok && int(got) != tc.want) {
			t.Errorf("%s=%q: level %d, %v; want %d (ok=%v)", LogLevelEnv, tc.v, got, err, tc.want, tc.ok)
		}
		if !tc.ok && (err == nil || !strings.Contains(err.Error(), "fatal")) {
			t.Errorf("%s=%q: error %v does not list the levels", LogLevelEnv, tc.v, err)
		}
	}
}
