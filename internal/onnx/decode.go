package onnx

import (
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// ErrMalformed is the sentinel under every decoding error: the bytes are
// not a well-formed ONNX model.
var ErrMalformed = errors.New("malformed onnx model")

// DecodeError reports where decoding failed: the field path from the model
// root (such as "graph.node[3].attribute[0].t.dims") and the byte offset in
// the input. It unwraps to [ErrMalformed].
type DecodeError struct {
	Path   string
	Offset int
	Msg    string
}

func (e *DecodeError) Error() string {
	p := e.Path
	if p == "" {
		p = "model"
	}
	return fmt.Sprintf("%v: %s at byte %d: %s", ErrMalformed, p, e.Offset, e.Msg)
}

// Unwrap returns [ErrMalformed].
func (e *DecodeError) Unwrap() error { return ErrMalformed }

// maxTypeDepth bounds the nesting of sequence and map types, so that
// hostile input cannot exhaust the stack.
const maxTypeDepth = 16

// Decode parses b as an ONNX ModelProto. It never panics: malformed input
// gives a [*DecodeError]. Allocations are proportional to len(b); the
// returned Model does not alias b. Unknown fields are skipped; graph-valued
// attributes (field 6) and sparse tensors are skipped as unknown.
func Decode(b []byte) (*Model, error) {
	m := &Model{}
	err := fields(b, 0, func(f field) error {
		switch f.num {
		case 1:
			return f.varint(&m.IRVersion)
		case 2:
			return f.str(&m.ProducerName)
		case 3:
			return f.str(&m.ProducerVersion)
		case 4:
			return f.str(&m.Domain)
		case 5:
			return f.varint(&m.ModelVersion)
		case 6:
			return f.str(&m.DocString)
		case 7:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			g, err := decodeGraph(f.b, f.off)
			if err != nil {
				return nest("graph", err)
			}
			m.Graph = g
		case 8:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			var o OpsetID
			err := fields(f.b, f.off, func(f field) error {
				switch f.num {
				case 1:
					return f.str(&o.Domain)
				case 2:
					return f.varint(&o.Version)
				}
				return nil
			})
			if err != nil {
				return nest(fmt.Sprintf("opset_import[%d]", len(m.OpsetImports)), err)
			}
			m.OpsetImports = append(m.OpsetImports, o)
		case 14:
			e, err := decodeEntry(f)
			if err != nil {
				return nest(fmt.Sprintf("metadata_props[%d]", len(m.MetadataProps)), err)
			}
			m.MetadataProps = append(m.MetadataProps, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

func decodeEntry(f field) (StringStringEntry, error) {
	var e StringStringEntry
	if err := f.want(protowire.BytesType); err != nil {
		return e, err
	}
	err := fields(f.b, f.off, func(f field) error {
		switch f.num {
		case 1:
			return f.str(&e.Key)
		case 2:
			return f.str(&e.Value)
		}
		return nil
	})
	return e, err
}

func decodeGraph(b []byte, off int) (*Graph, error) {
	g := &Graph{}
	err := fields(b, off, func(f field) error {
		switch f.num {
		case 1:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			n, err := decodeNode(f.b, f.off)
			if err != nil {
				return nest(fmt.Sprintf("node[%d]", len(g.Nodes)), err)
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			return f.str(&g.Name)
		case 5:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			t, err := decodeTensor(f.b, f.off)
			if err != nil {
				return nest(fmt.Sprintf("initializer[%d]", len(g.Initializers)), err)
			}
			g.Initializers = append(g.Initializers, t)
		case 10:
			return f.str(&g.DocString)
		case 11, 12, 13:
			list := map[protowire.Number]*[]*ValueInfo{11: &g.Inputs, 12: &g.Outputs, 13: &g.ValueInfo}[f.num]
			name := map[protowire.Number]string{11: "input", 12: "output", 13: "value_info"}[f.num]
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			v, err := decodeValueInfo(f.b, f.off)
			if err != nil {
				return nest(fmt.Sprintf("%s[%d]", name, len(*list)), err)
			}
			*list = append(*list, v)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return g, nil
}

func decodeNode(b []byte, off int) (*Node, error) {
	n := &Node{}
	err := fields(b, off, func(f field) error {
		switch f.num {
		case 1:
			var s string
			if err := f.str(&s); err != nil {
				return err
			}
			n.Inputs = append(n.Inputs, s)
		case 2:
			var s string
			if err := f.str(&s); err != nil {
				return err
			}
			n.Outputs = append(n.Outputs, s)
		case 3:
			return f.str(&n.Name)
		case 4:
			return f.str(&n.OpType)
		case 5:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			a, err := decodeAttribute(f.b, f.off)
			if err != nil {
				return nest(fmt.Sprintf("attribute[%d]", len(n.Attributes)), err)
			}
			n.Attributes = append(n.Attributes, a)
		case 6:
			return f.str(&n.DocString)
		case 7:
			return f.str(&n.Domain)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return n, nil
}

func decodeAttribute(b []byte, off int) (*Attribute, error) {
	a := &Attribute{}
	err := fields(b, off, func(f field) error {
		switch f.num {
		case 1:
			return f.str(&a.Name)
		case 2:
			if err := f.want(protowire.Fixed32Type); err != nil {
				return err
			}
			a.F = math.Float32frombits(uint32(f.u))
		case 3:
			return f.varint(&a.I)
		case 4:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			a.S = clone(f.b)
		case 5:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			t, err := decodeTensor(f.b, f.off)
			if err != nil {
				return nest("t", err)
			}
			a.T = t
		case 7:
			return f.float32s(&a.Floats)
		case 8:
			return f.int64s(&a.Ints)
		case 9:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			a.Strings = append(a.Strings, clone(f.b))
		case 20:
			var t int64
			if err := f.varint(&t); err != nil {
				return err
			}
			a.Type = AttrType(t)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

func decodeTensor(b []byte, off int) (*Tensor, error) {
	t := &Tensor{}
	err := fields(b, off, func(f field) error {
		switch f.num {
		case 1:
			return f.int64s(&t.Dims)
		case 2:
			var v int64
			if err := f.varint(&v); err != nil {
				return err
			}
			t.DataType = DataType(v)
		case 4:
			return f.float32s(&t.FloatData)
		case 5:
			var vs []int64
			if err := f.int64s(&vs); err != nil {
				return err
			}
			for _, v := range vs {
				t.Int32Data = append(t.Int32Data, int32(v))
			}
		case 6:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			t.StringData = append(t.StringData, clone(f.b))
		case 7:
			return f.int64s(&t.Int64Data)
		case 8:
			return f.str(&t.Name)
		case 9:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			t.RawData = clone(f.b)
		case 10:
			return f.float64s(&t.DoubleData)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

func decodeValueInfo(b []byte, off int) (*ValueInfo, error) {
	v := &ValueInfo{}
	err := fields(b, off, func(f field) error {
		switch f.num {
		case 1:
			return f.str(&v.Name)
		case 2:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			t, err := decodeType(f.b, f.off, 0)
			if err != nil {
				return nest("type", err)
			}
			v.Type = t
		case 3:
			return f.str(&v.DocString)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// decodeType decodes a TypeProto at off in b; depth counts the enclosing
// types, so a hostile model cannot nest them without bound.
func decodeType(b []byte, off, depth int) (*Type, error) {
	if depth >= maxTypeDepth {
		return nil, &DecodeError{Offset: off, Msg: fmt.Sprintf("types nested deeper than %d", maxTypeDepth)}
	}
	t := &Type{}
	err := fields(b, off, func(f field) error {
		if f.num != 1 && f.num != 4 && f.num != 5 {
			return nil
		}
		if err := f.want(protowire.BytesType); err != nil {
			return err
		}
		var err error
		switch f.num {
		case 1:
			if t.Tensor, err = decodeTensorType(f.b, f.off); err != nil {
				return nest("tensor_type", err)
			}
		case 4:
			if t.Sequence, err = decodeSequenceType(f.b, f.off, depth); err != nil {
				return nest("sequence_type", err)
			}
		case 5:
			if t.Map, err = decodeMapType(f.b, f.off, depth); err != nil {
				return nest("map_type", err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// decodeTensorType decodes a TypeProto.Tensor at off in b.
func decodeTensorType(b []byte, off int) (*TensorType, error) {
	tt := &TensorType{}
	err := fields(b, off, func(f field) error {
		switch f.num {
		case 1:
			var v int64
			if err := f.varint(&v); err != nil {
				return err
			}
			tt.ElemType = DataType(v)
		case 2:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			s, err := decodeShape(f.b, f.off)
			if err != nil {
				return nest("shape", err)
			}
			tt.Shape = s
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return tt, nil
}

// decodeSequenceType decodes a TypeProto.Sequence at off in b, nested in
// depth enclosing types.
func decodeSequenceType(b []byte, off, depth int) (*SequenceType, error) {
	st := &SequenceType{}
	err := fields(b, off, func(f field) error {
		if f.num != 1 {
			return nil
		}
		if err := f.want(protowire.BytesType); err != nil {
			return err
		}
		e, err := decodeType(f.b, f.off, depth+1)
		if err != nil {
			return nest("elem_type", err)
		}
		st.Elem = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return st, nil
}

// decodeMapType decodes a TypeProto.Map at off in b, nested in depth
// enclosing types.
func decodeMapType(b []byte, off, depth int) (*MapType, error) {
	mt := &MapType{}
	err := fields(b, off, func(f field) error {
		switch f.num {
		case 1:
			var v int64
			if err := f.varint(&v); err != nil {
				return err
			}
			mt.Key = DataType(v)
		case 2:
			if err := f.want(protowire.BytesType); err != nil {
				return err
			}
			e, err := decodeType(f.b, f.off, depth+1)
			if err != nil {
				return nest("value_type", err)
			}
			mt.Value = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return mt, nil
}

func decodeShape(b []byte, off int) (*Shape, error) {
	s := &Shape{}
	err := fields(b, off, func(f field) error {
		if f.num != 1 {
			return nil
		}
		if err := f.want(protowire.BytesType); err != nil {
			return err
		}
		d := Dim{Value: -1}
		err := fields(f.b, f.off, func(f field) error {
			switch f.num {
			case 1:
				return f.varint(&d.Value)
			case 2:
				return f.str(&d.Param)
			}
			return nil
		})
		if err != nil {
			return nest(fmt.Sprintf("dim[%d]", len(s.Dims)), err)
		}
		s.Dims = append(s.Dims, d)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}
