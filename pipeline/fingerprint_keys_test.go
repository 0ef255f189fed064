package pipeline

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"testing"

	"go.yaml.in/yaml/v3"
)

type fpInner struct {
	Rows  int `yaml:"rows" fingerprint:"-"`
	PadTo int `yaml:"pad_to"`
}

type fpBase struct {
	Threads int `yaml:"threads" fingerprint:"-"`
}

type fpConf struct {
	fpBase `yaml:",inline"`
	Model  string   `yaml:"model"`
	Batch  fpInner  `yaml:"batch"`
	Opt    *fpInner `yaml:"opt"`
}

// TestFingerprintLeavesOutTaggedKeys hashes `with:` blocks through
// withoutUnfingerprinted: keys tagged fingerprint:"-" (nested, inlined,
// behind a pointer) do not count, the others do.
func TestFingerprintLeavesOutTaggedKeys(t *testing.T) {
	hash := func(text string) string {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(text), &doc); err != nil {
			t.Fatal(err)
		}
		h := sha256.New()
		fpNode(h, withoutUnfingerprinted(doc.Content[0], reflect.TypeFor[fpConf]()))
		return hex.EncodeToString(h.Sum(nil))
	}
	base := hash("{model: m.onnx, batch: {pad_to: 8}}")
	tests := []struct {
		with string
		same bool
	}{
		{"{model: m.onnx, batch: {pad_to: 8, rows: 64}}", true},
		{"{model: m.onnx, batch: {pad_to: 8}, threads: 4}", true},
		{"{model: m.onnx, batch: {pad_to: 8}, opt: {rows: 3}}", true},
		{"{batch: {pad_to: 8}, model: m.onnx}", true},
		{"{model: m.onnx, batch: {pad_to: 16}}", false},
		{"{model: n.onnx, batch: {pad_to: 8}}", false},
		{"{model: m.onnx, batch: {pad_to: 8}, opt: {pad_to: 1}}", false},
	}
	for _, tc := range tests {
		if got := hash(tc.with) == base; got != tc.same {
			t.Errorf("%s: same fingerprint %v, want %v", tc.with, got, tc.same)
		}
	}
}
