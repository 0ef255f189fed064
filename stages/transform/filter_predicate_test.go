package transform

import (
	"fmt"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestCompilePrefilter checks which `and`-ed conditions a prefilter keeps
// when it knows only column a, and its result on rows a = 1, 2, null.
func TestCompilePrefilter(t *testing.T) {
	cases := []struct {
		expr string
		ok   bool
		keep string // for a = 1, 2, null
	}{
		{expr: "a > 1 and b = 'x'", ok: true, keep: "[false true false]"},
		{expr: "b = 'x' and a < 2 and a is not null", ok: true, keep: "[true false false]"},
		{expr: "a is null and b is not null", ok: true, keep: "[false false true]"},
		{expr: "a > 1 or b = 'x'", ok: false},
		{expr: "not (a > 1 and b = 'x')", ok: false},
		{expr: "b = 'x'", ok: false},
		{expr: "a = 'not a number' and a > 1", ok: true, keep: "[false true false]"},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			mem := stagetest.Mem(t)
			b := array.NewInt64Builder(mem)
			b.AppendValues([]int64{1, 2, 0}, []bool{true, true, false})
			col := b.NewArray()
			b.Release()
			schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
			rec := array.NewRecordBatch(schema, []arrow.Array{col}, 3)
			col.Release()
			defer rec.Release()
			p, ok, err := CompilePrefilter(tc.expr, schema)
			if err != nil || ok != tc.ok {
				t.Fatalf("ok %v, err %v; want ok %v", ok, err, tc.ok)
			}
			if !ok {
				return
			}
			if got := fmt.Sprint(p.Keep(rec)); got != tc.keep {
				t.Errorf("keep %s, want %s", got, tc.keep)
			}
		})
	}
	if _, _, err := CompilePrefilter("a >", nil); err == nil {
		t.Error("a syntax error gave no error")
	}
}

// TestCompilePredicate checks the exported predicate against the filter
// stage's semantics: null is not kept.
func TestCompilePredicate(t *testing.T) {
	mem := stagetest.Mem(t)
	b := array.NewStringBuilder(mem)
	b.AppendValues([]string{"eu", "us", ""}, []bool{true, true, false})
	col := b.NewArray()
	b.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 3)
	col.Release()
	defer rec.Release()
	p, err := CompilePredicate("region != 'us'", schema)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(p.Keep(rec)); got != "[true false false]" {
		t.Errorf("keep %s, want [true false false]", got)
	}
	if _, err := CompilePredicate("country = 'x'", schema); err == nil {
		t.Error("an unknown column gave no error")
	}
}
