package transform

import (
	"context"
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

var vecSchema = arrow.NewSchema([]arrow.Field{
	field("id", i64),
	field("a", f64),
	field("b", arrow.PrimitiveTypes.Int32),
	field("c", arrow.FixedWidthTypes.Float16),
	field("d", arrow.PrimitiveTypes.Uint8),
	field("name", str),
}, nil)

const vecRows = `[
{"id": 0, "a": 0.5, "b": 1, "c": 1.5, "d": 255, "name": "x"},
{"id": 1, "a": -2,  "b": 7, "c": 0,   "d": 0,   "name": "y"},
{"id": 2, "a": 1e3, "b": -1,"c": -4,  "d": 9,   "name": null}
]`

func TestVectorize(t *testing.T) {
	tests := []struct {
		name, with string
		wantSchema string
		want       string
		wantErr    []string
		wantCol    string
	}{
		{name: "pack and drop", with: "columns: [a, b, c, d]\ninto: x",
			wantSchema: "id:int64, name:utf8, x:fixed_size_list<item: float32>[4]!",
			want:       "id=0 name=x x=[0.5,1,1.5,255]; id=1 name=y x=[-2,7,0,0]; id=2 name=(null) x=[1000,-1,-4,9]"},
		{name: "order and keep", with: "columns: [d, a]\ninto: v\nkeep_columns: true",
			wantSchema: "id:int64, a:float64, b:int32, c:float16, d:uint8, name:utf8, v:fixed_size_list<item: float32>[2]!",
			want:       "id=0 a=0.5 b=1 c=1.5 d=255 name=x v=[255,0.5]; id=1 a=-2 b=7 c=0 d=0 name=y v=[0,-2]; id=2 a=1000 b=-1 c=-4 d=9 name=(null) v=[9,1000]"},
		{name: "into reuses a packed name", with: "columns: [a]\ninto: a",
			wantSchema: "id:int64, b:int32, c:float16, d:uint8, name:utf8, a:fixed_size_list<item: float32>[1]!",
			want:       "id=0 b=1 c=1.5 d=255 name=x a=[0.5]; id=1 b=7 c=0 d=0 name=y a=[-2]; id=2 b=-1 c=-4 d=9 name=(null) a=[1000]"},
		{name: "into clashes", with: "columns: [a]\ninto: name", wantErr: []string{"more than once"}, wantCol: "name"},
		{name: "into clashes when kept", with: "columns: [a]\ninto: a\nkeep_columns: true", wantErr: []string{"more than once"}, wantCol: "a"},
		{name: "not numeric", with: "columns: [a, name]\ninto: x", wantErr: []string{"has type utf8"}, wantCol: "name"},
		{name: "unknown column", with: "columns: [a, bb]\ninto: x", wantErr: []string{"not found"}, wantCol: "bb"},
		{name: "twice", with: "columns: [a, a]\ninto: x", wantErr: []string{"listed twice"}, wantCol: "a"},
		{name: "missing into", with: "columns: [a]", wantErr: []string{`missing required key "into"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			st, err := stagetest.Build(t, nil, mem, "vectorize", tt.with, "", vecSchema)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr...)
				if tt.wantCol != "" {
					wantColumnError(t, err, tt.wantCol)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := schemaString(st.Schema()); got != tt.wantSchema {
				t.Errorf("schema %s\nwant %s", got, tt.wantSchema)
			}
			in := recJSON(t, mem, vecSchema, vecRows)
			defer in.Release()
			sl := in.NewSlice(0, 3) // same rows, through a slice
			defer sl.Release()
			for _, rec := range []arrow.RecordBatch{in, sl} {
				out, err := st.(stages.Transform).Process(context.Background(), rec)
				if err != nil {
					t.Fatal(err)
				}
				if got := dump(out); got != tt.want {
					t.Errorf("rows %s\nwant %s", got, tt.want)
				}
				if !out.Schema().Equal(st.Schema()) {
					t.Errorf("batch schema differs from Schema()")
				}
				out.Release()
			}
		})
	}
}

func TestVectorizeSliceOffset(t *testing.T) {
	mem := stagetest.Mem(t)
	st := stagetest.MustBuild(t, nil, mem, "vectorize", "columns: [b, a]\ninto: x", "", vecSchema)
	in := recJSON(t, mem, vecSchema, vecRows)
	defer in.Release()
	sl := in.NewSlice(1, 3)
	defer sl.Release()
	out, err := st.(stages.Transform).Process(context.Background(), sl)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got := dumpCol(out, "x"); got != "x=[7,-2]; x=[-1,1000]" {
		t.Errorf("got %s", got)
	}
}

func TestVectorizeNull(t *testing.T) {
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{field("a", f64), field("b", f64)}, nil)
	st := stagetest.MustBuild(t, nil, mem, "vectorize", "columns: [a, b]\ninto: x", "", schema)
	tr := st.(stages.Transform)
	first := recJSON(t, mem, schema, `[{"a": 1, "b": 2}, {"a": 3, "b": 4}]`)
	defer first.Release()
	out, err := tr.Process(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	out.Release()
	second := recJSON(t, mem, schema, `[{"a": 1, "b": 2}, {"a": 3, "b": null}]`)
	defer second.Release()
	_, err = tr.Process(context.Background(), second)
	wantErr(t, err, "row 3", "null")
	wantColumnError(t, err, "b")
}

func TestUnvectorize(t *testing.T) {
	mem := stagetest.Mem(t)
	vec := arrow.FixedSizeListOf(3, arrow.PrimitiveTypes.Float32)
	schema := arrow.NewSchema([]arrow.Field{field("id", i64), field("v", vec), field("tail", str)}, nil)
	const rows = `[{"id": 0, "v": [1, 2, 3], "tail": "a"}, {"id": 1, "v": null, "tail": "b"}, {"id": 2, "v": [4, null, 6], "tail": "c"}]`
	tests := []struct {
		name, with string
		wantSchema string
		want       string
		wantErr    []string
	}{
		{name: "into", with: "column: v\ninto: [p, q, r]",
			wantSchema: "id:int64, p:float32, q:float32, r:float32, tail:utf8",
			want:       "id=0 p=1 q=2 r=3 tail=a; id=1 p=(null) q=(null) r=(null) tail=b; id=2 p=4 q=(null) r=6 tail=c"},
		{name: "prefix and keep", with: "column: v\nprefix: s\nkeep_column: true",
			wantSchema: "id:int64, v:fixed_size_list<item: float32, nullable>[3], s0:float32, s1:float32, s2:float32, tail:utf8",
			want:       "id=0 v=[1,2,3] s0=1 s1=2 s2=3 tail=a; id=1 v=(null) s0=(null) s1=(null) s2=(null) tail=b; id=2 v=[4,null,6] s0=4 s1=(null) s2=6 tail=c"},
		{name: "wrong count", with: "column: v\ninto: [p, q]", wantErr: []string{`column "v"`, "3 elements per row but into names 2"}},
		{name: "both", with: "column: v\ninto: [p, q, r]\nprefix: s", wantErr: []string{"exactly one of into and prefix"}},
		{name: "neither", with: "column: v", wantErr: []string{"exactly one of into and prefix"}},
		{name: "not a vector", with: "column: id\nprefix: s", wantErr: []string{`column "id"`, "has type int64"}},
		{name: "clash", with: "column: v\ninto: [p, tail, r]", wantErr: []string{`column "tail"`, "more than once"}},
		{name: "unknown", with: "column: w\nprefix: s", wantErr: []string{`column "w"`, `did you mean "v"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := stagetest.Build(t, nil, mem, "unvectorize", tt.with, "", schema)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := schemaString(st.Schema()); got != tt.wantSchema {
				t.Errorf("schema %s\nwant %s", got, tt.wantSchema)
			}
			in := recJSON(t, mem, schema, rows)
			defer in.Release()
			out, err := st.(stages.Transform).Process(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if got := dump(out); got != tt.want {
				t.Errorf("rows %s\nwant %s", got, tt.want)
			}
			sl := in.NewSlice(2, 3)
			defer sl.Release()
			out2, err := st.(stages.Transform).Process(context.Background(), sl)
			if err != nil {
				t.Fatal(err)
			}
			defer out2.Release()
			if got, want := dump(out2), tt.want[len(tt.want)-len(dumpLast(tt.want)):]; got != want {
				t.Errorf("sliced rows %s\nwant %s", got, want)
			}
		})
	}
}

// dumpLast returns the last row of a dump.
func dumpLast(d string) string {
	for i := len(d) - 1; i > 0; i-- {
		if d[i] == ';' {
			return d[i+2:]
		}
	}
	return d
}

func TestVectorizeRoundTrip(t *testing.T) {
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{field("a", f32), field("b", f32)}, nil)
	v := stagetest.MustBuild(t, nil, mem, "vectorize", "columns: [a, b]\ninto: x", "", schema)
	u := stagetest.MustBuild(t, nil, mem, "unvectorize", "column: x\ninto: [a, b]", "", v.Schema())
	in := recJSON(t, mem, schema, `[{"a": 1.25, "b": -3}, {"a": 0, "b": 1e-3}]`)
	defer in.Release()
	mid, err := v.(stages.Transform).Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	defer mid.Release()
	out, err := u.(stages.Transform).Process(context.Background(), mid)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got, want := dump(out), dump(in); got != want {
		t.Errorf("round trip %s, want %s", got, want)
	}
	if got := schemaString(u.Schema()); got != "a:float32!, b:float32!" {
		t.Errorf("schema %s", got)
	}
}

func BenchmarkVectorize(b *testing.B) {
	mem := memory.NewGoAllocator()
	const n, k = 64 << 10, 16
	fields := make([]arrow.Field, k)
	cols := make([]arrow.Array, k)
	names := "["
	for j := range k {
		fields[j] = arrow.Field{Name: fmt.Sprintf("f%d", j), Type: f64}
		bld := array.NewFloat64Builder(mem)
		for i := range n {
			bld.Append(float64(i*k + j))
		}
		cols[j] = bld.NewArray()
		defer cols[j].Release()
		bld.Release()
		if j > 0 {
			names += ", "
		}
		names += fields[j].Name
	}
	schema := arrow.NewSchema(fields, nil)
	in := array.NewRecordBatch(schema, cols, n)
	defer in.Release()
	st := stagetest.MustBuild(b, nil, mem, "vectorize", "columns: "+names+"]\ninto: x", "", schema)
	tr := st.(stages.Transform)
	b.SetBytes(n * k * 8)
	for b.Loop() {
		out, err := tr.Process(context.Background(), in)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
}

func TestUnvectorizeElementTypes(t *testing.T) {
	for _, elem := range []arrow.DataType{
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, i64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64,
		arrow.FixedWidthTypes.Float16, f32, f64,
	} {
		t.Run(elem.String(), func(t *testing.T) {
			mem := stagetest.Mem(t)
			schema := arrow.NewSchema([]arrow.Field{field("v", arrow.FixedSizeListOf(2, elem))}, nil)
			st := stagetest.MustBuild(t, nil, mem, "unvectorize", "column: v\nprefix: e", "", schema)
			in := recJSON(t, mem, schema, `[{"v": [1, 2]}, {"v": [3, 4]}]`)
			defer in.Release()
			out, err := st.(stages.Transform).Process(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if got := dump(out); got != "e0=1 e1=2; e0=3 e1=4" {
				t.Errorf("got %s", got)
			}
			if !arrow.TypeEqual(out.Column(0).DataType(), elem) {
				t.Errorf("element column type %s", out.Column(0).DataType())
			}
			// And back: every element type packs into float32.
			v := stagetest.MustBuild(t, nil, mem, "vectorize", "columns: [e1, e0]\ninto: x", "", st.Schema())
			packed, err := v.(stages.Transform).Process(context.Background(), out)
			if err != nil {
				t.Fatal(err)
			}
			defer packed.Release()
			if got := dump(packed); got != "x=[2,1]; x=[4,3]" {
				t.Errorf("packed %s", got)
			}
		})
	}
}
