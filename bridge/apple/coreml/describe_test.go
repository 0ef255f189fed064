package coreml

import (
	"reflect"
	"testing"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
)

// recordedDescription is shaped like ab_coreml_describe's output for an
// encoder converted with enumerated batch shapes.
const recordedDescription = `{
 "inputs": [{"name": "x", "type": 5, "dtype": 65568, "shape": [1, 16],
   "constraint": {"kind": 2, "enumerated": [[1, 16], [8, 16], [32, 16]], "ranges": [[1, 32], [16, 16]]}}],
 "outputs": [{"name": "emb", "type": 5, "dtype": 65552, "shape": [1, 4]},
             {"name": "label", "type": 3}],
 "metadata": {"description": "tiny encoder", "author": "pipe tests"}
}`

func TestParseDescription(t *testing.T) {
	info, specs, err := parseDescription([]byte(recordedDescription))
	if err != nil {
		t.Fatalf("parseDescription: %v", err)
	}
	wantIn := bridge.TensorInfo{Name: "x", Type: bridge.Float32, Kind: "tensor",
		Shape: bridge.Shape{{Size: -1, Name: "x_0"}, {Size: 16}}}
	if len(info.Inputs) != 1 || !reflect.DeepEqual(info.Inputs[0], wantIn) {
		t.Errorf("inputs = %+v, want %+v", info.Inputs, wantIn)
	}
	if len(info.Outputs) != 2 || info.Outputs[0].Type != bridge.Float16 || info.Outputs[1].Kind != "string" {
		t.Errorf("outputs = %+v", info.Outputs)
	}
	if info.Description != "tiny encoder" || info.Producer != "pipe tests" {
		t.Errorf("metadata = %q %q", info.Description, info.Producer)
	}
	if len(specs) != 1 || specs[0].Constraint.Kind != apple.ConstraintEnumerated || len(specs[0].Constraint.Enumerated) != 3 ||
		specs[0].Constraint.Ranges[0] != (apple.DimRange{Min: 1, Max: 32}) {
		t.Errorf("specs = %+v", specs)
	}
	plan, err := apple.PlanShapes(specs, apple.BatchPolicy{MaxRows: 16}, false)
	if err != nil || plan.PadTo != 8 || !reflect.DeepEqual(plan.BatchSizes, []int{1, 8}) {
		t.Errorf("plan from description = %+v, %v", plan, err)
	}
}

func TestParseDescriptionErrors(t *testing.T) {
	tests := map[string]string{
		"not json":      `{`,
		"no inputs":     `{"inputs": [], "outputs": []}`,
		"unknown type":  `{"inputs": [{"name": "x", "type": 42}]}`,
		"unknown dtype": `{"inputs": [{"name": "x", "type": 5, "dtype": 7, "shape": [1]}]}`,
		"bad output":    `{"inputs": [{"name": "x", "type": 5, "dtype": 65568, "shape": [1]}], "outputs": [{"name": "y", "type": 99}]}`,
	}
	for name, js := range tests {
		t.Run(name, func(t *testing.T) {
			if _, _, err := parseDescription([]byte(js)); err == nil {
				t.Errorf("parseDescription accepted %s", js)
			}
		})
	}
}
