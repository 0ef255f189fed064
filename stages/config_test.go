package stages_test

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/stages"
)

// decodeConf has a field of each kind DecodeNode walks: scalars, a
// pointer, a nested struct, a list and a map.
type decodeConf struct {
	Name  string            `yaml:"name" required:"true"`
	Rows  int               `yaml:"rows"`
	Limit *int              `yaml:"limit"`
	Inner struct{ On bool } `yaml:"inner"`
	Paths []string          `yaml:"paths"`
	Tags  map[string]string `yaml:"tags"`
}

// TestDecodeNode: each kind of field decodes, and each mistake is an
// error positioned at its own node and naming its key path.
func TestDecodeNode(t *testing.T) {
	seven := 7
	tests := []struct {
		name string
		yaml string
		want decodeConf // checked when errs is empty
		errs []string
	}{
		{name: "scalars and pointer", yaml: "name: a\nrows: 3\nlimit: 7",
			want: decodeConf{Name: "a", Rows: 3, Limit: &seven}},
		{name: "null pointer", yaml: "name: a\nlimit: null", want: decodeConf{Name: "a"}},
		{name: "list", yaml: "name: a\npaths: [x, y]", want: decodeConf{Name: "a", Paths: []string{"x", "y"}}},
		{name: "scalar as one-element list", yaml: "name: a\npaths: x", want: decodeConf{Name: "a", Paths: []string{"x"}}},
		{name: "null list", yaml: "name: a\npaths: null", want: decodeConf{Name: "a"}},
		{name: "map", yaml: "name: a\ntags: {k: v}", want: decodeConf{Name: "a", Tags: map[string]string{"k": "v"}}},
		{name: "unknown key", yaml: "name: a\nrowz: 1",
			errs: []string{`2:1: with: unknown key "rowz" (did you mean "rows"?)`}},
		{name: "missing required", yaml: "rows: 1",
			errs: []string{`1:1: with: missing required key "name"`}},
		{name: "struct not a mapping", yaml: "name: a\ninner: 3",
			errs: []string{`2:8: with.inner: expected a mapping, got integer 3`}},
		{name: "list not a list", yaml: "name: a\npaths: {x: 1}",
			errs: []string{`2:8: with.paths: expected a list, got a mapping`}},
		{name: "list element", yaml: "name: a\npaths: [x, [y]]",
			errs: []string{`2:12: with.paths[1]: expected a string, got a list`}},
		{name: "map not a mapping", yaml: "name: a\ntags: [x]",
			errs: []string{`2:7: with.tags: expected a mapping, got a list`}},
		{name: "map key not a scalar", yaml: "name: a\ntags: {[k]: v}",
			errs: []string{`2:8: with.tags: expected a string key, got a list`}},
		{name: "every error", yaml: "rowz: 1\nrows: x",
			errs: []string{
				`1:1: with: unknown key "rowz" (did you mean "rows"?)`,
				`2:7: with.rows: expected an integer, got string "x"`,
				`1:1: with: missing required key "name"`,
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var doc yaml.Node
			if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
				t.Fatal(err)
			}
			var got decodeConf
			errs := stages.DecodeNode(doc.Content[0], &got, "with", "")
			if msgs := errStrings(errs); !reflect.DeepEqual(msgs, tc.errs) {
				t.Fatalf("errors:\n%q\nwant:\n%q", msgs, tc.errs)
			}
			if len(tc.errs) == 0 && !reflect.DeepEqual(got, tc.want) {
				t.Errorf("decoded %s, want %s", show(got), show(tc.want))
			}
		})
	}
}

// errStrings returns the messages of errs, nil for none.
func errStrings(errs []error) []string {
	var out []string
	for _, err := range errs {
		out = append(out, err.Error())
	}
	return out
}

// show prints c with its Limit's value rather than its address.
func show(c decodeConf) string {
	limit := "nil"
	if c.Limit != nil {
		limit = fmt.Sprint(*c.Limit)
	}
	return strings.Replace(fmt.Sprintf("%+v", c), fmt.Sprintf("Limit:%p", c.Limit), "Limit:"+limit, 1)
}
