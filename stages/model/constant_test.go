package model

import (
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// zerosYAML is a flat YAML list of n zeros.
func zerosYAML(n int) string {
	return "[" + strings.TrimSuffix(strings.Repeat("0, ", n), ", ") + "]"
}

// TestConstantShapes feeds constants written as a number, a flat list or
// nested lists to model inputs of several declared shapes.
func TestConstantShapes(t *testing.T) {
	dims := func(sizes ...int64) bridge.Shape {
		s := bridge.Shape{}
		for _, n := range sizes {
			s = append(s, bridge.Dim{Size: n})
		}
		return s
	}
	row128 := zerosYAML(128)
	tests := []struct {
		name     string
		value    string
		shape    bridge.Shape
		elem     bridge.ElemType
		wantRow  []int64
		batched  bool
		wantErr  []string // every one must appear
		yamlErrs string
	}{
		{name: "scalar", value: "16000", shape: dims()},
		{name: "scalar broadcast over the batch", value: "2", shape: dims(-1), batched: true},
		{name: "scalar into [N, 1]", value: "2", shape: dims(-1, 1), batched: true, wantRow: []int64{1}},
		{name: "flat list [4]", value: "[1, 2, 3, 4]", shape: dims(4), wantRow: []int64{4}},
		{name: "flat list [N, 4]", value: "[1, 2, 3, 4]", shape: dims(-1, 4), batched: true, wantRow: []int64{4}},
		{name: "flat list of 256 for [2, 1, 128]", value: zerosYAML(256), shape: dims(2, 1, 128), wantRow: []int64{2, 1, 128}},
		{name: "flat list of 256 for [N, 2, 128]", value: zerosYAML(256), shape: dims(-1, 2, 128), batched: true, wantRow: []int64{2, 128}},
		{name: "nested lists for [2, 1, 128]", value: "[[" + row128 + "], [" + row128 + "]]", shape: dims(2, 1, 128), wantRow: []int64{2, 1, 128}},
		{name: "open dimension sized by the values", value: "[1, 2, 3, 4, 5, 6]", shape: dims(-1, -1, 3), batched: true, wantRow: []int64{2, 3}},
		{name: "nested lists size an open dimension", value: "[[1, 2, 3], [4, 5, 6]]", shape: dims(-1, -1, 3), batched: true, wantRow: []int64{2, 3}},
		{name: "bool", value: "true", shape: dims(-1), elem: bridge.Bool, batched: true},
		{name: "255 values for [2, 1, 128]", value: zerosYAML(255), shape: dims(2, 1, 128),
			wantErr: []string{`constant "c": 255 values given, 256 wanted, for the model input's shape [2, 1, 128]`}},
		{name: "2 values for [N, 4]", value: "[1, 2]", shape: dims(-1, 4),
			wantErr: []string{"2 values given, 4 wanted", "[?, 4]", "the batch"}},
		{name: "list for one value per row", value: "[1]", shape: dims(-1), wantErr: []string{"a list given but the model input [?] holds one value per row"}},
		{name: "not a multiple of the fixed dimensions", value: "[1, 2, 3, 4]", shape: dims(-1, -1, 3), wantErr: []string{"4 values given, not a multiple of 3"}},
		{name: "two open dimensions", value: "[1, 2]", shape: dims(-1, -1, -1), wantErr: []string{"two dimensions of open size"}},
		{name: "nesting of another shape", value: "[[1, 2], [3, 4]]", shape: dims(4), wantErr: []string{"nested lists of shape [2 2] do not follow the model input's shape [4]"}},
		{name: "nesting with another size", value: "[[1, 2], [3, 4]]", shape: dims(2, 3), wantErr: []string{"shape [2 2]", "[2, 3]"}},
		{name: "bool for a float input", value: "true", shape: dims(), wantErr: []string{"true/false given"}},
		{name: "ragged nested lists", value: "[[1, 2], [3]]", yamlErrs: "nested lists of different lengths ([2] and [1])"},
		{name: "a word in nested lists", value: "[[1, x]]", yamlErrs: "expected a number in the nested lists"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var c Constant
			err := yaml.Unmarshal([]byte(tc.value), &c)
			if tc.yamlErrs != "" {
				if err == nil || !strings.Contains(err.Error(), tc.yamlErrs) {
					t.Fatalf("error %v, want %q", err, tc.yamlErrs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			elem := tc.elem
			if elem == 0 {
				elem = bridge.Float32
			}
			ip, err := planConstant(bridge.TensorInfo{Name: "c", Type: elem, Shape: tc.shape}, c)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("accepted: row shape %v", ip.rowShape)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not say %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ip.rowShape, tc.wantRow) || ip.batched != tc.batched {
				t.Fatalf("row shape %v batched %v, want %v %v", ip.rowShape, ip.batched, tc.wantRow, tc.batched)
			}
			// The tensor of a batch of 3 rows has the model's shape.
			mem := stagetest.Mem(t)
			tensor, buf := constantTensor(ip, 3, mem)
			defer mem.Free(buf)
			want := slices.Clone(tc.wantRow)
			if tc.batched {
				want = append([]int64{3}, want...)
			}
			if !slices.Equal(tensor.Shape, want) || len(buf) != int(product(want))*elem.Size() {
				t.Fatalf("tensor shape %v of %d bytes, want %v", tensor.Shape, len(buf), want)
			}
		})
	}
}

// TestConstantNestedRoundTrip writes nested constants back as nested
// lists, as `pipe validate --explain` shows them.
func TestConstantNestedRoundTrip(t *testing.T) {
	var c Constant
	if err := yaml.Unmarshal([]byte("[[1, 2, 3], [4, 5, 6]]"), &c); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.Nest, []int64{2, 3}) || !slices.Equal(c.Values, []float64{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("nest %v values %v", c.Nest, c.Values)
	}
	out, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(strings.Fields(string(out)), " "); got != "- - 1 - 2 - 3 - - 4 - 5 - 6" {
		t.Fatalf("marshalled as %q", out)
	}
}
