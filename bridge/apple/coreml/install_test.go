package coreml

import (
	"os"
	"path/filepath"
	"testing"
)

func TestInstallCompiled(t *testing.T) {
	dir := t.TempDir()
	mk := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "model.mil"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	final := filepath.Join(dir, "m.mlmodelc")
	first := mk("m.mlmodelc.tmp-1", "first")
	if err := installCompiled(first, final); err != nil {
		t.Fatalf("installCompiled: %v", err)
	}
	second := mk("m.mlmodelc.tmp-2", "second")
	if err := installCompiled(second, final); err != nil {
		t.Fatalf("installCompiled over an existing model: %v", err)
	}
	b, err := os.ReadFile(filepath.Join(final, "model.mil"))
	if err != nil || string(b) != "first" {
		t.Errorf("final holds %q, %v; want the first install kept", b, err)
	}
	for _, p := range []string{first, second} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("staging %s left behind", p)
		}
	}
	if err := installCompiled(filepath.Join(dir, "missing"), filepath.Join(dir, "other.mlmodelc")); err == nil {
		t.Errorf("installCompiled of a missing staging folder succeeded")
	}
}
