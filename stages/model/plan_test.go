package model

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/bridge"
)

// TestNewPlanChecks covers newPlan's checks that need a model signature
// no test model has: fixed batch sizes, and several problems reported at
// once.
func TestNewPlanChecks(t *testing.T) {
	in := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Float32},
		{Name: "b", Type: arrow.PrimitiveTypes.Float32},
	}, nil)
	tensor := func(name string, batch int64) bridge.TensorInfo {
		return bridge.TensorInfo{Name: name, Type: bridge.Float32, Shape: bridge.Shape{{Size: batch}, {Size: 1}}}
	}
	out := []bridge.TensorInfo{{Name: "y", Type: bridge.Float32, Shape: bridge.Shape{{Size: -1}, {Size: 1}}}}
	bind := map[string]InputBinding{"x1": {Column: "a"}, "x2": {Column: "b"}}
	keep := []string{"a", "nope"}
	tests := []struct {
		name      string
		conf      Config
		inputs    []bridge.TensorInfo
		wantBatch int64
		wantErr   []string // every one must appear, in this (sorted) order
	}{
		{name: "dynamic batch", conf: Config{Inputs: bind}, inputs: []bridge.TensorInfo{tensor("x1", -1), tensor("x2", -1)}},
		{name: "same fixed batch", conf: Config{Inputs: bind}, inputs: []bridge.TensorInfo{tensor("x1", 4), tensor("x2", 4)}, wantBatch: 4},
		{name: "fixed batches disagree", conf: Config{Inputs: bind}, inputs: []bridge.TensorInfo{tensor("x1", 4), tensor("x2", 8)},
			wantErr: []string{"model inputs disagree on the batch size: 4 and 8"}},
		{name: "every problem at once",
			conf: Config{Inputs: map[string]InputBinding{"x1": {Column: "a"}, "x3": {Column: "b"}},
				Constants: map[string]Constant{"x1": {Values: []float64{1}}}, Keep: &keep},
			inputs: []bridge.TensorInfo{tensor("x1", -1), tensor("x2", -1)},
			wantErr: []string{`inputs: the model has no input "x3"`, `keep: `, `model input "x1" is given both in inputs and in constants`,
				`model input "x2" (float32 [?, 1]) is not fed`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newPlan(&tt.conf, in, bridge.ModelInfo{Inputs: tt.inputs, Outputs: out})
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if p.staticBatch != tt.wantBatch || len(p.inputs) != 2 || p.schema.NumFields() != 3 {
					t.Errorf("static batch %d, %d inputs, schema %v; want batch %d, 2 inputs, a, b, y", p.staticBatch, len(p.inputs), p.schema, tt.wantBatch)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tt.wantErr)
			}
			msg, at := err.Error(), 0
			for _, want := range tt.wantErr {
				i := strings.Index(msg[at:], want)
				if i < 0 {
					t.Fatalf("error %q lacks %q after position %d", msg, want, at)
				}
				at += i + len(want)
			}
		})
	}
}
