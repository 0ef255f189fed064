package source

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

const genCols = `[{name: id, type: int64}, {name: i, type: int32, distribution: uniform, min: -5, max: 5},
  {name: u, type: float64}, {name: n, type: float32, distribution: normal, mean: 10, std: 2, null_fraction: 0.2},
  {name: s, type: string, length: 7}, {name: c, type: string, distribution: choice, values: [fr, de, us]},
  {name: k, type: int64, distribution: constant, values: [42]}, {name: b, type: bool},
  {name: v, type: vector, dims: 4, distribution: normal}]`

// TestGenerateDeterministic checks that the rows do not depend on batch_rows.
func TestGenerateDeterministic(t *testing.T) {
	mem := stagetest.Mem(t)
	var want [][]string
	for _, br := range []int{1000, 1, 7, 333, 65536} {
		t.Run(strings.Repeat("b", 1)+string(rune('0'+br%10)), func(t *testing.T) {
			src, err := build(t, mem, "generate", `{count: 1000, seed: 7, batch_rows: `+itoa(br)+`, columns: `+genCols+`}`, "")
			if err != nil {
				t.Fatal(err)
			}
			recs, err := stagetest.Drain(context.Background(), src)
			defer stagetest.Release(recs)
			if err != nil || stagetest.Rows(recs) != 1000 {
				t.Fatalf("rows %d, err %v", stagetest.Rows(recs), err)
			}
			var got [][]string
			for i := range src.Schema().NumFields() {
				got = append(got, colValues(recs, i))
			}
			if want == nil {
				want = got
				return
			}
			for i := range got {
				if strings.Join(got[i], ",") != strings.Join(want[i], ",") {
					t.Errorf("column %s differs with batch_rows %d", src.Schema().Field(i).Name, br)
				}
			}
		})
	}
	// Spot-check the distributions on the reference run.
	ids, ints, strs, choice, konst, nulls := want[0], want[1], want[4], want[5], want[6], want[3]
	if ids[0] != "0" || ids[999] != "999" {
		t.Errorf("sequence %s..%s", ids[0], ids[999])
	}
	for _, v := range ints {
		if n := atoi(v); n < -5 || n > 5 {
			t.Fatalf("uniform int %d outside [-5, 5]", n)
		}
	}
	for _, v := range strs {
		if len(v) != 7 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("string %q", v)
		}
	}
	for _, v := range choice {
		if v != "fr" && v != "de" && v != "us" {
			t.Fatalf("choice %q", v)
		}
	}
	if konst[0] != "42" || konst[999] != "42" {
		t.Errorf("constant %s", konst[0])
	}
	nn := 0
	for _, v := range nulls {
		if v == array.NullValueStr {
			nn++
		}
	}
	if nn < 120 || nn > 280 {
		t.Errorf("%d nulls of 1000, want about 200", nn)
	}
}

func TestGenerateStats(t *testing.T) {
	mem := stagetest.Mem(t)
	recs := genRecords(t, mem, `{count: 20000, columns: [{name: n, type: float64, distribution: normal, mean: 10, std: 2}, {name: u, type: float32, min: 2, max: 4}]}`)
	defer stagetest.Release(recs)
	var sum, sq, umin, umax float64 = 0, 0, math.Inf(1), math.Inf(-1)
	for _, r := range recs {
		n := r.Column(0).(*array.Float64).Float64Values()
		for _, v := range n {
			sum += v
			sq += v * v
		}
		for _, v := range r.Column(1).(*array.Float32).Float32Values() {
			umin, umax = math.Min(umin, float64(v)), math.Max(umax, float64(v))
		}
	}
	mean := sum / 20000
	std := math.Sqrt(sq/20000 - mean*mean)
	if math.Abs(mean-10) > 0.1 || math.Abs(std-2) > 0.1 {
		t.Errorf("normal mean %.3f std %.3f, want 10, 2", mean, std)
	}
	if umin < 2 || umax >= 4 || umax < 3.9 {
		t.Errorf("uniform range [%v, %v]", umin, umax)
	}
}

func TestGenerateConfigErrors(t *testing.T) {
	mem := stagetest.Mem(t)
	tests := []struct{ name, with, err string }{
		{"unknown type", `{count: 1, columns: [{name: a, type: int8}]}`, `column "a": unknown type "int8"`},
		{"vector without dims", `{count: 1, columns: [{name: v, type: vector}]}`, "dims of at least 1"},
		{"choice without values", `{count: 1, columns: [{name: a, type: string, distribution: choice}]}`, "needs values"},
		{"bad value", `{count: 1, columns: [{name: a, type: int64, distribution: choice, values: [x]}]}`, `value "x" is not an int64`},
		{"bad distribution", `{count: 1, columns: [{name: a, type: int64, distribution: zipf}]}`, `unknown distribution "zipf"`},
		{"sequence on string", `{count: 1, columns: [{name: a, type: string, distribution: sequence}]}`, "sequence applies to int and float"},
		{"min above max", `{count: 1, columns: [{name: a, type: float64, min: 2, max: 1}]}`, "min < max"},
		{"null fraction", `{count: 1, columns: [{name: a, type: bool, null_fraction: 2}]}`, "null_fraction"},
		{"duplicate", `{count: 1, columns: [{name: a, type: bool}, {name: a, type: bool}]}`, "listed twice"},
		{"negative count", `{count: -1, columns: [{name: a, type: bool}]}`, "count must not be negative"},
		{"no columns", `{count: 1}`, `missing required key "columns"`},
		{"unknown key", `{count: 1, colums: []}`, `did you mean "columns"`},
		{"int32 out of range", `{count: 1, columns: [{name: a, type: int32, distribution: choice, values: ["3000000000"]}]}`, `value "3000000000" is not an int32`},
		{"float value", `{count: 1, columns: [{name: a, type: float32, distribution: constant, values: [x]}]}`, `value "x" is not a number`},
		{"bool value", `{count: 1, columns: [{name: a, type: bool, distribution: choice, values: [maybe]}]}`, `value "maybe" is not a bool`},
		{"constant with two values", `{count: 1, columns: [{name: a, type: string, distribution: constant, values: [x, y]}]}`, "exactly one value, got 2"},
		{"constant vector", `{count: 1, columns: [{name: v, type: vector, dims: 2, distribution: constant, values: ["1"]}]}`, "constant does not apply to vector"},
		{"sequence on vector", `{count: 1, columns: [{name: v, type: vector, dims: 2, distribution: sequence}]}`, "sequence applies to int and float"},
		{"normal on bool", `{count: 1, columns: [{name: a, type: bool, distribution: normal}]}`, "normal applies to number and vector"},
		{"negative std", `{count: 1, columns: [{name: a, type: float64, distribution: normal, std: -1}]}`, "std must not be negative"},
		{"float min equals max", `{count: 1, columns: [{name: a, type: float32, min: 1, max: 1}]}`, "min < max"},
		{"dims on an int", `{count: 1, columns: [{name: a, type: int64, dims: 2}]}`, "dims applies to vector columns only"},
		{"negative length", `{count: 1, columns: [{name: a, type: string, length: -1}]}`, "length must not be negative"},
		{"values on uniform", `{count: 1, columns: [{name: a, type: string, values: [x]}]}`, "values applies to distributions constant and choice only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(t, mem, "generate", tt.with, "")
			wantErr(t, err, tt.err)
		})
	}
}

// TestGenerateSpeed checks the generator meets its throughput goal on the
// benchmark shape (id, 32 float32, a 16-byte string); it is skipped under
// -short and only logs under the race detector. It measures the process's
// CPU time, so a busy machine does not fail it.
func parseGenCols(t *testing.T, cols string) []GenColumn {
	t.Helper()
	e, _ := stages.Default().Lookup("generate")
	conf, errs := e.Decode(yamlNode(t, "{count: 1, columns: "+cols+"}"), "")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	return conf.(*GenerateConfig).Columns
}

func BenchmarkGenerate(b *testing.B) {
	cols := []GenColumn{{Name: "id", Type: "int64"}, {Name: "s", Type: "string"}}
	for i := range 32 {
		cols = append(cols, GenColumn{Name: "f" + itoa(i), Type: "float32"})
	}
	for b.Loop() {
		g, _ := NewGenerate(GenerateConfig{Count: 1 << 20, Seed: 1, BatchRows: defaultBatchRows, Columns: cols}, nil)
		for {
			rec, err := g.Next(context.Background())
			if err != nil {
				break
			}
			rec.Release()
		}
	}
	b.ReportMetric(float64(b.N<<20)/b.Elapsed().Seconds(), "rows/s")
}

// TestCompileGenColumn checks what each column type compiles to: its
// default distribution and bounds, and the values it reads.
func TestCompileGenColumn(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	tests := []struct {
		col     GenColumn
		dt      string
		dist    string
		lo, hi  float64
		length  int
		ivals   []int64
		fvals   []float64
		bvals   []bool
		nullCut uint64
	}{
		{col: GenColumn{Type: "int64"}, dt: "int64", dist: "sequence", length: 16},
		{col: GenColumn{Type: "int32", Distribution: "uniform"}, dt: "int32", dist: "uniform", hi: 1000, length: 16},
		{col: GenColumn{Type: "int64", Distribution: "uniform", Min: f(5), Max: f(5)}, dt: "int64", dist: "uniform", lo: 5, hi: 5, length: 16},
		{col: GenColumn{Type: "float64"}, dt: "float64", dist: "uniform", hi: 1, length: 16},
		{col: GenColumn{Type: "float32", Distribution: "sequence", Min: f(3)}, dt: "float32", dist: "sequence", lo: 3, length: 16},
		{col: GenColumn{Type: "string", Length: 4}, dt: "utf8", dist: "uniform", hi: 1, length: 4},
		{col: GenColumn{Type: "bool", NullFraction: 1}, dt: "bool", dist: "uniform", hi: 1, length: 16, nullCut: math.MaxUint64},
		{col: GenColumn{Type: "vector", Dims: 3}, dt: "fixed_size_list<item: float32, nullable>[3]", dist: "uniform", hi: 1, length: 16},
		{col: GenColumn{Type: "int32", Distribution: "choice", Values: []string{" 7 ", "-2"}}, dt: "int32", dist: "choice", length: 16, ivals: []int64{7, -2}},
		{col: GenColumn{Type: "float32", Distribution: "constant", Values: []string{"2.5"}}, dt: "float32", dist: "constant", length: 16, fvals: []float64{2.5}},
		{col: GenColumn{Type: "bool", Distribution: "choice", Values: []string{"true", "0"}}, dt: "bool", dist: "choice", length: 16, bvals: []bool{true, false}},
		{col: GenColumn{Type: "string", Distribution: "choice", Values: []string{"x"}}, dt: "utf8", dist: "choice", length: 16},
	}
	for _, tt := range tests {
		gc, dt, err := compileGenColumn(tt.col, 1)
		if err != nil {
			t.Errorf("%+v: %v", tt.col, err)
			continue
		}
		if dt.String() != tt.dt || gc.dist != tt.dist || gc.lo != tt.lo || gc.hi != tt.hi || gc.Length != tt.length || gc.nullCut != tt.nullCut {
			t.Errorf("%+v: type %s, %s [%v, %v], length %d, null cut %d; want %s, %s [%v, %v], length %d, null cut %d",
				tt.col, dt, gc.dist, gc.lo, gc.hi, gc.Length, gc.nullCut, tt.dt, tt.dist, tt.lo, tt.hi, tt.length, tt.nullCut)
		}
		if !slices.Equal(gc.ivals, tt.ivals) || !slices.Equal(gc.fvals, tt.fvals) || !slices.Equal(gc.bvals, tt.bvals) {
			t.Errorf("%+v: values %v %v %v, want %v %v %v", tt.col, gc.ivals, gc.fvals, gc.bvals, tt.ivals, tt.fvals, tt.bvals)
		}
	}
}
