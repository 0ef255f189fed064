package transform

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzFilterExpr checks that no expression makes the parser, the type
// checker or the evaluator panic, and that every failure is an *ExprError.
func FuzzFilterExpr(f *testing.F) {
	for _, seed := range []string{
		"amount > 50", "n < amount and not flag", "name in ('a', 'b''c')", "x is not null",
		"\"odd name\" >= -3.5e2", "((flag))", "ts >= '2024-01-01'", "u > 18446744073709551615",
		"not not not flag or id not in (1, 2)", "h != 0.5", "d < '2024-02-30'", "(", "'", "\"", "-",
		"amount >= .5", "id in ()", "1 = 1", "big == name", "n IS NULL OR n > 1e308",
	} {
		f.Add(seed)
	}
	mem := memory.NewGoAllocator()
	in := recJSON(f, mem, filterSchema, filterRows)
	defer in.Release()
	f.Fuzz(func(t *testing.T, src string) {
		p, err := compileExpr(src, filterSchema)
		if err != nil {
			if _, ok := err.(*ExprError); !ok {
				t.Fatalf("%q: error of type %T: %v", src, err, err)
			}
			return
		}
		s := &filterStage{schema: filterSchema, mem: mem, pred: p}
		out, err := s.Process(context.Background(), in)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		if out != nil {
			if out.NumRows() > in.NumRows() {
				t.Fatalf("%q: %d rows out of %d", src, out.NumRows(), in.NumRows())
			}
			out.Release()
		}
	})
}
