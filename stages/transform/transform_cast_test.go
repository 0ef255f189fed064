package transform

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestCast(t *testing.T) {
	tests := []struct {
		name     string
		in       arrow.DataType
		values   string // JSON array of the column "x"
		with     string
		wantType string
		want     string // dump of the output's x column
		wantErr  []string
	}{
		{name: "int64 to int8", in: i64, values: `[1, -128, null]`, with: "{x: int8}", wantType: "int8", want: "x=1; x=-128; x=(null)"},
		{name: "int overflow is an error", in: i64, values: `[1, 300]`, with: "{x: int8}", wantErr: []string{`column "x"`, "row 1", `"300"`, "not in range"}},
		{name: "int overflow unsafe wraps", in: i64, values: `[1, 300]`, with: "{x: int8}\nsafe: false", wantType: "int8", want: "x=1; x=44"},
		{name: "fraction to int is an error", in: f64, values: `[1, 2, 2.5]`, with: "{x: int32}", wantErr: []string{"row 2", "truncated"}},
		{name: "fraction to int unsafe truncates", in: f64, values: `[2.5]`, with: "{x: int32}\nsafe: false", wantType: "int32", want: "x=2"},
		{name: "unparsable string", in: str, values: `["1", "2", "x"]`, with: "{x: int32}", wantErr: []string{"row 2", `"x"`}},
		{name: "string to float64", in: str, values: `["1.5", null]`, with: "{x: float64}", wantType: "float64", want: "x=1.5; x=(null)"},
		{name: "string to timestamp", in: str, values: `["2024-01-02T03:04:05"]`, with: `{x: "timestamp[s]"}`, wantType: "timestamp[s]", want: "x=2024-01-02T03:04:05"},
		{name: "timestamp with zone", in: str, values: `["2024-01-02T00:00:00Z"]`, with: `{x: "timestamp[ms, UTC]"}`, wantType: "timestamp[ms, tz=UTC]", want: "x=2024-01-02T00:00:00Z"},
		{name: "string to date32", in: str, values: `["2024-01-31", null]`, with: "{x: date32}", wantType: "date32", want: "x=2024-01-31; x=(null)"},
		{name: "bad date", in: str, values: `["2024-01-31", "31/01/2024"]`, with: "{x: date32}", wantErr: []string{"row 1", "31/01/2024", "2024-01-31"}},
		{name: "float64 to float16", in: f64, values: `[1.5, -2, null, 65504]`, with: "{x: float16}", wantType: "float16", want: "x=1.5; x=-2; x=(null); x=65504"},
		{name: "float16 rounds", in: f64, values: `[0.1]`, with: "{x: float16}", wantType: "float16", want: "x=0.099975586"},
		{name: "float16 overflow", in: f64, values: `[1, 70000]`, with: "{x: float16}", wantErr: []string{"row 1", "out of float16 range"}},
		{name: "float16 overflow unsafe", in: f64, values: `[70000]`, with: "{x: float16}\nsafe: false", wantType: "float16", want: "x=+Inf"},
		{name: "int to float16 exact", in: i64, values: `[3000, -2048]`, with: "{x: float16}", wantType: "float16", want: "x=3000; x=-2048"},
		{name: "int to float16 inexact", in: i64, values: `[2049]`, with: "{x: float16}", wantErr: []string{"row 0", "not exactly representable"}},
		{name: "string to float16", in: str, values: `["0.5", "y"]`, with: "{x: float16}", wantErr: []string{"row 1", `"y"`}},
		{name: "float16 to float32", in: arrow.FixedWidthTypes.Float16, values: `[0.5, null]`, with: "{x: float32}", wantType: "float32", want: "x=0.5; x=(null)"},
		{name: "float16 to string", in: arrow.FixedWidthTypes.Float16, values: `[0.5]`, with: "{x: string}", wantType: "utf8", want: "x=0.5"},
		{name: "int to string", in: i64, values: `[7, null]`, with: "{x: string}", wantType: "utf8", want: "x=7; x=(null)"},
		{name: "float to string", in: f64, values: `[0.25]`, with: "{x: string}", wantType: "utf8", want: "x=0.25"},
		{name: "date to string", in: arrow.FixedWidthTypes.Date32, values: `["2024-01-31"]`, with: "{x: string}", wantType: "utf8", want: "x=2024-01-31"},
		{name: "string to bool", in: str, values: `["true", "0"]`, with: "{x: bool}", wantType: "bool", want: "x=true; x=false"},
		{name: "same type", in: i64, values: `[7]`, with: "{x: int64}", wantType: "int64", want: "x=7"},
		{name: "unknown type", in: i64, values: `[]`, with: "{x: flaot32}", wantErr: []string{`column "x"`, `unknown type "flaot32"`, `did you mean "float32"`}},
		{name: "unsupported cast", in: arrow.FixedWidthTypes.Date32, values: `[]`, with: "{x: float16}", wantErr: []string{`column "x"`, "cannot cast date32 to float16"}},
		{name: "unknown column", in: i64, values: `[]`, with: "{y: int8}", wantErr: []string{`column "y"`, "not found"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			schema := arrow.NewSchema([]arrow.Field{field("id", i64), field("x", tt.in)}, nil)
			st, err := stagetest.Build(t, nil, mem, "cast", "columns: "+tt.with, "", schema)
			if err == nil {
				if got := st.Schema().Field(1).Type.String(); tt.wantType != "" && got != tt.wantType {
					t.Errorf("output type %s, want %s", got, tt.wantType)
				}
				var in arrow.RecordBatch
				in, err = recX(t, schema, tt.values)
				defer in.Release()
				var out arrow.RecordBatch
				out, err = st.(stages.Transform).Process(context.Background(), in)
				if err == nil {
					defer out.Release()
					if got := dumpCol(out, "x"); got != tt.want {
						t.Errorf("got %s, want %s", got, tt.want)
					}
					if out.Column(0).Data() != in.Column(0).Data() {
						t.Error("the uncast column was copied")
					}
				}
			}
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr...)
			} else if err != nil {
				t.Fatal(err)
			}
		})
	}
}

// recX builds a batch of schema (id, x) from the JSON values of x.
func recX(t *testing.T, schema *arrow.Schema, xs string) (arrow.RecordBatch, error) {
	mem := stagetest.Mem(t)
	col, _ := arrowFromJSON(t, mem, schema.Field(1).Type, xs)
	defer col.Release()
	ids := make([]int64, col.Len())
	for i := range ids {
		ids[i] = int64(i)
	}
	idArr := int64Array(mem, ids)
	defer idArr.Release()
	return newBatch(schema, idArr, col), nil
}

func TestCastRowsCountAcrossBatches(t *testing.T) {
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{field("x", i64)}, nil)
	st := stagetest.MustBuild(t, nil, mem, "cast", "columns: {x: uint8}", "", schema)
	tr := st.(stages.Transform)
	for i, js := range []string{`[{"x": 1}, {"x": 2}, {"x": 3}]`, `[{"x": 4}, {"x": -1}]`} {
		in := recJSON(t, mem, schema, js)
		out, err := tr.Process(context.Background(), in)
		in.Release()
		if i == 0 {
			if err != nil {
				t.Fatal(err)
			}
			out.Release()
			continue
		}
		wantErr(t, err, "row 4", `"-1"`)
		wantColumnError(t, err, "x")
	}
}

// TestCastRowsNumberedUnderIsolation: the runtime isolates a failing
// batch's rows by processing halves in order (pipeline.isolateRows); the
// rows keep their numbers through it: a batch that fails does not count,
// a lone failing row (set aside) does.
func TestCastRowsNumberedUnderIsolation(t *testing.T) {
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{field("x", i64)}, nil)
	st := stagetest.MustBuild(t, nil, mem, "cast", "columns: {x: uint8}", "", schema)
	tr := st.(stages.Transform)
	all := recJSON(t, mem, schema, `[{"x": 1}, {"x": -1}, {"x": 3}, {"x": -2}, {"x": 5}]`)
	defer all.Release()
	for _, step := range []struct {
		lo, hi int64
		want   string // "" for success
	}{{0, 5, "row 1"}, {0, 2, "row 1"}, {0, 1, ""}, {1, 2, "row 1"}, {2, 5, "row 3"}, {2, 3, ""}, {3, 5, "row 3"}, {3, 4, "row 3"}, {4, 5, ""}} {
		part := all.NewSlice(step.lo, step.hi)
		out, err := tr.Process(context.Background(), part)
		part.Release()
		if step.want == "" {
			if err != nil {
				t.Fatalf("rows %d-%d: %v", step.lo, step.hi, err)
			}
			out.Release()
			continue
		}
		wantErr(t, err, step.want)
	}
}
