package onnx

import (
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// Marshal encodes m in the protobuf wire format of onnx.proto. Fields are
// written in field-number order, repeated scalars the way proto2 does
// (packed where onnx.proto says [packed = true]), so the same Model always
// gives the same bytes.
func (m *Model) Marshal() []byte {
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(m.IRVersion))
	b = appendString(b, 2, m.ProducerName)
	b = appendString(b, 3, m.ProducerVersion)
	b = appendString(b, 4, m.Domain)
	if m.ModelVersion != 0 {
		b = protowire.AppendTag(b, 5, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(m.ModelVersion))
	}
	b = appendString(b, 6, m.DocString)
	if m.Graph != nil {
		b = appendMessage(b, 7, m.Graph.marshal(nil))
	}
	for _, o := range m.OpsetImports {
		var ob []byte
		ob = appendString(ob, 1, o.Domain)
		ob = protowire.AppendTag(ob, 2, protowire.VarintType)
		ob = protowire.AppendVarint(ob, uint64(o.Version))
		b = appendMessage(b, 8, ob)
	}
	for _, e := range m.MetadataProps {
		b = appendMessage(b, 14, e.marshal(nil))
	}
	return b
}

func (e StringStringEntry) marshal(b []byte) []byte {
	b = appendString(b, 1, e.Key)
	return appendString(b, 2, e.Value)
}

func (g *Graph) marshal(b []byte) []byte {
	for _, n := range g.Nodes {
		b = appendMessage(b, 1, n.marshal(nil))
	}
	b = appendString(b, 2, g.Name)
	for _, t := range g.Initializers {
		b = appendMessage(b, 5, t.marshal(nil))
	}
	b = appendString(b, 10, g.DocString)
	for _, v := range g.Inputs {
		b = appendMessage(b, 11, v.marshal(nil))
	}
	for _, v := range g.Outputs {
		b = appendMessage(b, 12, v.marshal(nil))
	}
	for _, v := range g.ValueInfo {
		b = appendMessage(b, 13, v.marshal(nil))
	}
	return b
}

func (n *Node) marshal(b []byte) []byte {
	for _, s := range n.Inputs {
		b = protowire.AppendTag(b, 1, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	for _, s := range n.Outputs {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendString(b, s)
	}
	b = appendString(b, 3, n.Name)
	b = appendString(b, 4, n.OpType)
	for _, a := range n.Attributes {
		b = appendMessage(b, 5, a.marshal(nil))
	}
	b = appendString(b, 6, n.DocString)
	return appendString(b, 7, n.Domain)
}

func (a *Attribute) marshal(b []byte) []byte {
	b = appendString(b, 1, a.Name)
	switch a.Type {
	case AttrFloat:
		b = protowire.AppendTag(b, 2, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, 3, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = protowire.AppendTag(b, 4, protowire.BytesType)
		b = protowire.AppendBytes(b, a.S)
	case AttrTensor:
		if a.T != nil {
			b = appendMessage(b, 5, a.T.marshal(nil))
		}
	case AttrFloats:
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, 7, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttrInts:
		for _, i := range a.Ints {
			b = protowire.AppendTag(b, 8, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(i))
		}
	case AttrStrings:
		for _, s := range a.Strings {
			b = protowire.AppendTag(b, 9, protowire.BytesType)
			b = protowire.AppendBytes(b, s)
		}
	}
	b = protowire.AppendTag(b, 20, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Type))
}

func (t *Tensor) marshal(b []byte) []byte {
	for _, d := range t.Dims {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, 2, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(int64(t.DataType)))
	if len(t.FloatData) > 0 {
		p := make([]byte, 0, 4*len(t.FloatData))
		for _, f := range t.FloatData {
			p = protowire.AppendFixed32(p, math.Float32bits(f))
		}
		b = appendMessage(b, 4, p)
	}
	if len(t.Int32Data) > 0 {
		var p []byte
		for _, v := range t.Int32Data {
			p = protowire.AppendVarint(p, uint64(int64(v)))
		}
		b = appendMessage(b, 5, p)
	}
	for _, s := range t.StringData {
		b = protowire.AppendTag(b, 6, protowire.BytesType)
		b = protowire.AppendBytes(b, s)
	}
	if len(t.Int64Data) > 0 {
		var p []byte
		for _, v := range t.Int64Data {
			p = protowire.AppendVarint(p, uint64(v))
		}
		b = appendMessage(b, 7, p)
	}
	b = appendString(b, 8, t.Name)
	if t.RawData != nil {
		b = protowire.AppendTag(b, 9, protowire.BytesType)
		b = protowire.AppendBytes(b, t.RawData)
	}
	if len(t.DoubleData) > 0 {
		p := make([]byte, 0, 8*len(t.DoubleData))
		for _, f := range t.DoubleData {
			p = protowire.AppendFixed64(p, math.Float64bits(f))
		}
		b = appendMessage(b, 10, p)
	}
	return b
}

func (v *ValueInfo) marshal(b []byte) []byte {
	b = appendString(b, 1, v.Name)
	if v.Type != nil {
		b = appendMessage(b, 2, v.Type.marshal(nil))
	}
	return appendString(b, 3, v.DocString)
}

func (t *Type) marshal(b []byte) []byte {
	switch {
	case t.Tensor != nil:
		var tb []byte
		tb = protowire.AppendTag(tb, 1, protowire.VarintType)
		tb = protowire.AppendVarint(tb, uint64(int64(t.Tensor.ElemType)))
		if t.Tensor.Shape != nil {
			tb = appendMessage(tb, 2, t.Tensor.Shape.marshal(nil))
		}
		b = appendMessage(b, 1, tb)
	case t.Sequence != nil:
		var sb []byte
		if t.Sequence.Elem != nil {
			sb = appendMessage(sb, 1, t.Sequence.Elem.marshal(nil))
		}
		b = appendMessage(b, 4, sb)
	case t.Map != nil:
		var mb []byte
		mb = protowire.AppendTag(mb, 1, protowire.VarintType)
		mb = protowire.AppendVarint(mb, uint64(int64(t.Map.Key)))
		if t.Map.Value != nil {
			mb = appendMessage(mb, 2, t.Map.Value.marshal(nil))
		}
		b = appendMessage(b, 5, mb)
	}
	return b
}

func (s *Shape) marshal(b []byte) []byte {
	for _, d := range s.Dims {
		var db []byte
		switch {
		case d.Param != "":
			db = appendString(db, 2, d.Param)
		case d.Value >= 0:
			db = protowire.AppendTag(db, 1, protowire.VarintType)
			db = protowire.AppendVarint(db, uint64(d.Value))
		}
		b = appendMessage(b, 1, db)
	}
	return b
}

// appendString writes a string field unless it is empty.
func appendString(b []byte, num protowire.Number, s string) []byte {
	if s == "" {
		return b
	}
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, num protowire.Number, msg []byte) []byte {
	b = protowire.AppendTag(b, num, protowire.BytesType)
	return protowire.AppendBytes(b, msg)
}
