package onnx

import (
	"fmt"
	"os"

	"github.com/pipe-ml/pipe/bridge"
)

// ReadFile reads and decodes the model at path. Errors name the path.
func ReadFile(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("onnx: %w", err)
	}
	m, err := Decode(b)
	if err != nil {
		return nil, fmt.Errorf("onnx: %s: %w", path, err)
	}
	return m, nil
}

// ReadOpset returns the default-domain operator set version of the model
// at path (0 if it imports none).
func ReadOpset(path string) (int64, error) {
	m, err := ReadFile(path)
	if err != nil {
		return 0, err
	}
	return m.Opset(""), nil
}

// ReadInfo returns the description of the model at path: its real inputs
// (initializers listed as inputs are left out), outputs, default opset,
// producer and metadata.
func ReadInfo(path string) (*bridge.ModelInfo, error) {
	m, err := ReadFile(path)
	if err != nil {
		return nil, err
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("onnx: %s: %w: no graph", path, ErrInvalid)
	}
	return m.Info(), nil
}

// Opset returns the highest version imported for domain ("" and "ai.onnx"
// both name the default domain), or 0.
func (m *Model) Opset(domain string) int64 {
	if domain == "ai.onnx" {
		domain = ""
	}
	var v int64
	for _, o := range m.OpsetImports {
		d := o.Domain
		if d == "ai.onnx" {
			d = ""
		}
		if d == domain && o.Version > v {
			v = o.Version
		}
	}
	return v
}

// Info describes m in bridge terms. Symbolic and unknown dimensions become
// negative sizes; non-tensor values get Kind "sequence" or "map" and the
// element type of the innermost tensor (the map value for maps).
func (m *Model) Info() *bridge.ModelInfo {
	info := &bridge.ModelInfo{
		Format:      "onnx",
		Opset:       m.Opset(""),
		Producer:    m.ProducerName,
		Domain:      m.Domain,
		Description: m.DocString,
	}
	if m.ProducerVersion != "" {
		info.Producer += " " + m.ProducerVersion
	}
	if len(m.MetadataProps) > 0 {
		info.Metadata = make(map[string]string, len(m.MetadataProps))
		for _, e := range m.MetadataProps {
			info.Metadata[e.Key] = e.Value
		}
	}
	if m.Graph == nil {
		return info
	}
	if info.Description == "" {
		info.Description = m.Graph.DocString
	}
	inits := map[string]bool{}
	for _, t := range m.Graph.Initializers {
		inits[t.Name] = true
	}
	for _, v := range m.Graph.Inputs {
		if !inits[v.Name] {
			info.Inputs = append(info.Inputs, tensorInfo(v))
		}
	}
	for _, v := range m.Graph.Outputs {
		info.Outputs = append(info.Outputs, tensorInfo(v))
	}
	return info
}

func tensorInfo(v *ValueInfo) bridge.TensorInfo {
	ti := bridge.TensorInfo{Name: v.Name, Kind: v.Type.Kind()}
	t := v.Type
	for depth := 0; t != nil && depth < maxTypeDepth; depth++ {
		switch {
		case t.Sequence != nil:
			t = t.Sequence.Elem
			continue
		case t.Map != nil:
			t = t.Map.Value
			continue
		case t.Tensor != nil:
			ti.Type = bridge.ElemType(t.Tensor.ElemType)
			if v.Type.Tensor != nil && t.Tensor.Shape != nil {
				ti.Shape = make(bridge.Shape, len(t.Tensor.Shape.Dims))
				for i, d := range t.Tensor.Shape.Dims {
					if d.Fixed() {
						ti.Shape[i] = bridge.Dim{Size: d.Value}
					} else {
						ti.Shape[i] = bridge.Dim{Size: -1, Name: d.Param}
					}
				}
			}
		}
		break
	}
	return ti
}
