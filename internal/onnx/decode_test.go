package onnx

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

// fullModel sets every field the structs hold.
func fullModel() *Model {
	g := NewGraph("g")
	g.DocString = "graph doc"
	g.AddInput(
		TensorValue("x", Float, Sym("N"), Fix(3), Dim{Value: -1}),
		Value("s", SequenceOf(MapOf(Int64, &Type{Tensor: &TensorType{ElemType: Float}}))),
	)
	g.AddInitializer(
		FloatTensor("w", []int64{3, 2}, []float32{1, -2, 3.5, 0, 1e-3, 7}),
		Int64Tensor("axes", []int64{1}, []int64{-1}),
		&Tensor{Name: "f", Dims: []int64{2}, DataType: Float, FloatData: []float32{1.5, -2}},
		&Tensor{Name: "i32", Dims: []int64{2}, DataType: Int32, Int32Data: []int32{-7, 9}},
		&Tensor{Name: "d", Dims: []int64{1}, DataType: Double, DoubleData: []float64{3.25}},
		&Tensor{Name: "str", Dims: []int64{2}, DataType: String, StringData: [][]byte{[]byte("a"), []byte("")}},
	)
	n := g.AddNode("Custom", []string{"x", "", "w"}, []string{"y", "z"},
		IntAttr("i", -3), FloatAttr("f", 0.5), StringAttr("s", "hello"),
		IntsAttr("is", 1, -2, 3), FloatsAttr("fs", 1.5, -0.25), StringsAttr("ss", "a", "b"),
		TensorAttr("t", Int64Tensor("", []int64{2}, []int64{4, 5})))
	n.Domain = "my.domain"
	n.DocString = "node doc"
	g.AddOutput(TensorValue("y", Float, Sym("N"), Fix(2)))
	g.ValueInfo = []*ValueInfo{{Name: "z", Type: TensorOf(Bool), DocString: "vi doc"}}
	m := NewModel(g, OpsetID{Domain: "", Version: 17}, OpsetID{Domain: "my.domain", Version: 1})
	m.ProducerVersion = "0.1"
	m.Domain = "org.example"
	m.ModelVersion = 42
	m.DocString = "model doc"
	m.MetadataProps = []StringStringEntry{{"k", "v"}, {"empty", ""}}
	return m
}

func TestRoundTrip(t *testing.T) {
	m := fullModel()
	b := m.Marshal()
	got, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	// An empty metadata value decodes as "" and the entry keeps its key.
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip differs:\n got %#v\nwant %#v", got.Graph.Nodes[0], m.Graph.Nodes[0])
	}
	if string(got.Marshal()) != string(b) {
		t.Fatal("re-encoding changed the bytes")
	}
}

func TestDecodeAcceptsPackedAndUnpacked(t *testing.T) {
	var unpacked, packed []byte
	for _, d := range []int64{2, 3} {
		unpacked = protowire.AppendTag(unpacked, 1, protowire.VarintType)
		unpacked = protowire.AppendVarint(unpacked, uint64(d))
	}
	packed = protowire.AppendTag(packed, 1, protowire.BytesType)
	packed = protowire.AppendBytes(packed, []byte{2, 3})
	// float_data unpacked, one element at a time.
	unpacked = protowire.AppendTag(unpacked, 4, protowire.Fixed32Type)
	unpacked = protowire.AppendFixed32(unpacked, 0x3f800000)
	packed = protowire.AppendTag(packed, 4, protowire.BytesType)
	packed = protowire.AppendBytes(packed, []byte{0, 0, 0x80, 0x3f})
	for name, b := range map[string][]byte{"unpacked": unpacked, "packed": packed} {
		t.Run(name, func(t *testing.T) {
			tt, err := decodeTensor(b, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(tt.Dims, []int64{2, 3}) || !reflect.DeepEqual(tt.FloatData, []float32{1}) {
				t.Fatalf("dims %v floats %v", tt.Dims, tt.FloatData)
			}
		})
	}
}

func TestDecodeSkipsUnknownFields(t *testing.T) {
	b := NewModel(NewGraph("g")).Marshal()
	b = protowire.AppendTag(b, 20, protowire.BytesType) // training_info
	b = protowire.AppendBytes(b, []byte{1, 2, 3})
	b = protowire.AppendTag(b, 99, protowire.Fixed64Type)
	b = protowire.AppendFixed64(b, 7)
	b = protowire.AppendTag(b, 98, protowire.StartGroupType)
	b = protowire.AppendTag(b, 98, protowire.EndGroupType)
	m, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Graph == nil || m.Graph.Name != "g" || m.IRVersion != IRVersion {
		t.Fatalf("decoded %+v", m)
	}
}

func TestDecodeErrors(t *testing.T) {
	mlp, err := os.ReadFile("../../testdata/models/mlp.onnx")
	if err != nil {
		t.Fatal(err)
	}
	tag := func(num protowire.Number, typ protowire.Type) []byte { return protowire.AppendTag(nil, num, typ) }
	msg := func(num protowire.Number, body []byte) []byte {
		return protowire.AppendBytes(tag(num, protowire.BytesType), body)
	}
	deep := msg(1, []byte{}) // a tensor type
	for range maxTypeDepth + 1 {
		deep = msg(4, msg(1, deep)) // sequence_type { elem_type { ... } }
	}
	tests := []struct {
		name string
		in   []byte
		want string // substring of the error
	}{
		{"bad tag", []byte{0x80}, "model at byte 0: bad field tag"},
		{"field zero", []byte{0x00}, "bad field tag"},
		{"length past end", append(tag(7, protowire.BytesType), 0x10, 1), "field 7"},
		{"wrong wire type", msg(1, []byte("x")), "field 1 has wire type 2, want 0"},
		{"truncated model", mlp[:100], "field 7"},
		{"bad node field", msg(7, msg(1, append(tag(4, protowire.VarintType), 1))), "graph.node[0] at byte"},
		{"packed floats", msg(7, msg(5, msg(4, []byte{1, 2, 3}))), "graph.initializer[0]"},
		{"bad packed varint", msg(7, msg(5, msg(1, []byte{0x80}))), "packed varint"},
		{"deep types", msg(7, msg(11, msg(2, deep))), "nested deeper"},
		{"bad dim", msg(7, msg(11, msg(2, msg(1, msg(2, msg(1, msg(1, []byte{1}))))))), "graph.input[0].type.tensor_type.shape.dim[0]"},
		{"bad attribute", msg(7, msg(1, msg(5, append(tag(2, protowire.VarintType), 1)))), "graph.node[0].attribute[0]"},
		{"bad opset", msg(8, append(tag(2, protowire.BytesType), 0)), "opset_import[0]"},
		{"bad metadata", msg(14, append(tag(1, protowire.VarintType), 0)), "metadata_props[0]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := Decode(tc.in)
			if err == nil {
				t.Fatalf("no error, decoded %+v", m)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("error %v does not wrap ErrMalformed", err)
			}
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Errorf("error %T is not a *DecodeError", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}
