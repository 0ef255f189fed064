package coreml

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/bridge/apple"
)

// MLMultiArrayDataType values (Apple's numbering).
const (
	mlFloat32 = 0x10000 | 32
	mlFloat16 = 0x10000 | 16
	mlFloat64 = 0x10000 | 64
	mlInt32   = 0x20000 | 32
	mlInt8    = 0x20000 | 8
)

// elemOf maps an MLMultiArrayDataType to a bridge element type.
func elemOf(dt int64) bridge.ElemType {
	switch dt {
	case mlFloat32:
		return bridge.Float32
	case mlFloat16:
		return bridge.Float16
	case mlFloat64:
		return bridge.Float64
	case mlInt32:
		return bridge.Int32
	case mlInt8:
		return bridge.Int8
	}
	return bridge.Undefined
}

// MLFeatureType values that have a name in [bridge.TensorInfo.Kind].
var featureKinds = map[int]string{1: "int64", 2: "double", 3: "string", 4: "image", 5: "tensor", 6: "dictionary", 7: "sequence", 8: "state"}

// description is the JSON the shim's ab_coreml_describe writes.
type description struct {
	Inputs   []featureJSON     `json:"inputs"`
	Outputs  []featureJSON     `json:"outputs"`
	Metadata map[string]string `json:"metadata"`
}

type featureJSON struct {
	Name       string  `json:"name"`
	Type       int     `json:"type"`  // MLFeatureType
	DType      int64   `json:"dtype"` // MLMultiArrayDataType, multi-arrays only
	Shape      []int64 `json:"shape"`
	Constraint *struct {
		Kind       int        `json:"kind"` // MLMultiArrayShapeConstraintType
		Enumerated [][]int64  `json:"enumerated"`
		Ranges     [][2]int64 `json:"ranges"` // [min, max]; max -1: unbounded
	} `json:"constraint"`
}

// parseDescription turns the shim's JSON into the model's description and
// the shape constraints of its inputs, for [apple.PlanShapes].
func parseDescription(js []byte) (bridge.ModelInfo, []apple.InputSpec, error) {
	var d description
	if err := json.Unmarshal(js, &d); err != nil {
		return bridge.ModelInfo{}, nil, fmt.Errorf("model description: %w", err)
	}
	info := bridge.ModelInfo{Format: "mlmodelc", Metadata: d.Metadata}
	if d.Metadata != nil {
		info.Description = d.Metadata["description"]
		info.Producer = d.Metadata["author"]
	}
	var specs []apple.InputSpec
	for _, f := range d.Inputs {
		ti, c, err := feature(f)
		if err != nil {
			return bridge.ModelInfo{}, nil, fmt.Errorf("model input %q: %w", f.Name, err)
		}
		info.Inputs = append(info.Inputs, ti)
		specs = append(specs, apple.InputSpec{Info: ti, Constraint: c})
	}
	for _, f := range d.Outputs {
		ti, _, err := feature(f)
		if err != nil {
			return bridge.ModelInfo{}, nil, fmt.Errorf("model output %q: %w", f.Name, err)
		}
		info.Outputs = append(info.Outputs, ti)
	}
	if len(info.Inputs) == 0 {
		return bridge.ModelInfo{}, nil, fmt.Errorf("model description: no inputs")
	}
	return info, specs, nil
}

func feature(f featureJSON) (bridge.TensorInfo, apple.ShapeConstraint, error) {
	kind, ok := featureKinds[f.Type]
	if !ok {
		return bridge.TensorInfo{}, apple.ShapeConstraint{}, fmt.Errorf("unknown feature type %d", f.Type)
	}
	ti := bridge.TensorInfo{Name: f.Name, Kind: kind}
	if kind != "tensor" {
		return ti, apple.ShapeConstraint{}, nil
	}
	ti.Type = elemOf(f.DType)
	if ti.Type == bridge.Undefined {
		return bridge.TensorInfo{}, apple.ShapeConstraint{}, fmt.Errorf("unsupported multi-array data type %#x", f.DType)
	}
	var c apple.ShapeConstraint
	if f.Constraint != nil {
		c.Kind = apple.ConstraintKind(f.Constraint.Kind)
		c.Enumerated = f.Constraint.Enumerated
		for _, r := range f.Constraint.Ranges {
			c.Ranges = append(c.Ranges, apple.DimRange{Min: r[0], Max: r[1]})
		}
	}
	shape := make(bridge.Shape, len(f.Shape))
	for i, s := range f.Shape {
		shape[i] = bridge.Dim{Size: s}
		if flexibleDim(c, i) {
			shape[i] = bridge.Dim{Size: -1, Name: fmt.Sprintf("%s_%d", f.Name, i)}
		}
	}
	ti.Shape = shape
	return ti, c, nil
}

// flexibleDim reports whether dimension i varies under the constraint.
func flexibleDim(c apple.ShapeConstraint, i int) bool {
	switch c.Kind {
	case apple.ConstraintRange:
		return i < len(c.Ranges) && c.Ranges[i].Min != c.Ranges[i].Max
	case apple.ConstraintEnumerated:
		var sizes []int64
		for _, s := range c.Enumerated {
			if i < len(s) && !slices.Contains(sizes, s[i]) {
				sizes = append(sizes, s[i])
			}
		}
		return len(sizes) > 1
	}
	return false
}
