package testmodels

import (
	"fmt"
	"math"

	"github.com/pipe-ml/pipe/internal/onnx"
	"github.com/pipe-ml/pipe/internal/onnxref"
)

// intBound limits the int64 inputs that are indices into a small table
// (the encoders' two token types) or flags (attention_mask); other int64
// inputs get values from 0 to 99.
var intBound = map[string]uint64{"token_type_ids": 2, "attention_mask": 2}

// check runs m in the reference interpreter on a small batch (N set to 1,
// other symbolic dimensions to 5) and fails unless every tensor output
// comes out with its declared type and shape and finite, not all-zero
// values. Non-tensor outputs (ZipMap's sequence) are skipped.
func check(m *onnx.Model) error {
	ref, err := onnxref.New(m)
	if err != nil {
		return err
	}
	r := &rng{s: 99}
	in := map[string]onnxref.Tensor{}
	for _, v := range m.Info().Inputs {
		shape := make([]int64, len(v.Shape))
		for i, d := range v.Shape {
			switch {
			case !d.Dynamic():
				shape[i] = d.Size
			case d.Name == "N":
				shape[i] = 1
			default:
				shape[i] = 5
			}
		}
		t := onnxref.Tensor{Shape: shape}
		n := 1
		for _, d := range shape {
			n *= int(d)
		}
		switch onnx.DataType(v.Type) {
		case onnx.Float:
			t.F32 = r.uniform(n, 1)
		case onnx.Int64:
			bound := uint64(100)
			if b, ok := intBound[v.Name]; ok {
				bound = b
			}
			for range n {
				t.I64 = append(t.I64, int64(r.next()%bound))
			}
		case onnx.Bool:
			for range n {
				t.Bool = append(t.Bool, r.next()%2 == 1)
			}
		default:
			return fmt.Errorf("input %q: no test data for %v", v.Name, v.Type)
		}
		in[v.Name] = t
	}
	var names []string
	for _, o := range m.Graph.Outputs {
		if o.Type.Tensor != nil {
			names = append(names, o.Name)
		}
	}
	out, err := ref.Run(in, names...)
	if err != nil {
		return err
	}
	for name, t := range out {
		if t.F32 == nil {
			continue
		}
		nonzero := false
		for _, v := range t.F32 {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("output %q is not finite: %v", name, v)
			}
			nonzero = nonzero || v != 0
		}
		if !nonzero {
			return fmt.Errorf("output %q is all zero", name)
		}
	}
	return nil
}
