package transform

import (
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/stages"
)

// TestSpecs checks that every stage type of the package documents itself
// and that its example's `with:` block decodes with the type's own config.
func TestSpecs(t *testing.T) {
	for _, name := range []string{"select", "cast", "filter", "vectorize", "unvectorize", "merge", "zip"} {
		t.Run(name, func(t *testing.T) {
			e, err := stages.Default().Lookup(name)
			if err != nil {
				t.Fatal(err)
			}
			if e.Spec.Summary == "" || e.Spec.Description == "" || e.Spec.Example == "" || len(e.Spec.Fields) == 0 {
				t.Fatalf("incomplete spec: %+v", e.Spec)
			}
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(e.Spec.Example), &doc); err != nil {
				t.Fatalf("example: %v", err)
			}
			var entries []struct {
				Type string    `yaml:"type"`
				With yaml.Node `yaml:"with"`
			}
			if err := doc.Decode(&entries); err != nil || len(entries) != 1 {
				t.Fatalf("example is not one stage entry: %v", err)
			}
			if entries[0].Type != name {
				t.Errorf("example type %q", entries[0].Type)
			}
			if _, errs := e.Decode(&entries[0].With, ""); len(errs) > 0 {
				t.Errorf("example does not decode: %v", errs)
			}
		})
	}
}
