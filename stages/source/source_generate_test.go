package source

import (
	"context"
	"math"
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
