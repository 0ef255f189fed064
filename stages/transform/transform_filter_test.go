package transform

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

var filterSchema = arrow.NewSchema([]arrow.Field{
	field("id", i64),
	field("amount", f64),
	field("n", arrow.PrimitiveTypes.Int32),
	field("name", str),
	field("flag", arrow.FixedWidthTypes.Boolean),
	field("u", arrow.PrimitiveTypes.Uint64),
	field("h", arrow.FixedWidthTypes.Float16),
	field("ts", &arrow.TimestampType{Unit: arrow.Second}),
	field("d", arrow.FixedWidthTypes.Date32),
	field("odd name", i64),
	field("big", arrow.BinaryTypes.LargeString),
	field("list", arrow.ListOf(i64)),
}, nil)

const filterRows = `[
{"id": 0, "amount": 10.5, "n": 1,    "name": "ann", "flag": true,  "u": 1,                    "h": 0.5, "ts": "2024-01-01T00:00:00", "d": "2024-01-01", "odd name": 5, "big": "x"},
{"id": 1, "amount": 99,   "n": -3,   "name": "bob", "flag": false, "u": 18446744073709551615, "h": 2,   "ts": "2024-02-01T00:00:00", "d": "2024-02-01", "odd name": 6, "big": "y"},
{"id": 2, "amount": null, "n": 100,  "name": null,  "flag": null,  "u": null,                 "h": null,"ts": null,                  "d": null,         "odd name": null, "big": null},
{"id": 3, "amount": 100,  "n": 7,    "name": "it's","flag": true,  "u": 5,                    "h": -1,  "ts": "2024-03-01T12:00:00", "d": "2024-03-01", "odd name": 7, "big": "z"},
{"id": 4, "amount": -1,   "n": 0,    "name": "bob", "flag": false, "u": 0,                    "h": 100, "ts": "2023-12-31T23:59:59", "d": "2023-12-31", "odd name": 4, "big": "x"}
]`

func TestFilter(t *testing.T) {
	tests := []struct {
		where string
		want  string // ids kept, or "none"
	}{
		{"amount > 50", "1 3"},
		{"amount >= 100", "3"},
		{"amount == 10.5", "0"},
		{"amount = 99", "1"},
		{"amount != 99", "0 3 4"},
		{"amount <> 99", "0 3 4"},
		{"50 < amount", "1 3"},
		{"n < 0", "1"},
		{"n <= 1", "0 1 4"},
		{"n > 2.5", "2 3"},
		{"n > 1000000000000", "none"},
		{"n < 1000000000000", "0 1 2 3 4"},
		{"n != 1000000000000", "0 1 2 3 4"},
		{"n > -1000000000000", "0 1 2 3 4"},
		{"n == -3", "1"},
		{"-3 = n", "1"},
		{"n < amount", "0 1 3"},
		{"amount > n", "0 1 3"},
		{"id == n", "none"},
		{"u > 9223372036854775807", "1"},
		{"u == 18446744073709551615", "1"},
		{"u < 2", "0 4"},
		{"u > id", "0 1 3"},
		{"u > -1", "0 1 3 4"},
		{"h > 0.75", "1 4"},
		{"h <= 0.5", "0 3"},
		{"h == amount", "none"},
		{"name == 'bob'", "1 4"},
		{"name > 'b'", "1 3 4"},
		{"name == 'it''s'", "3"},
		{"name == big", "none"},
		{"big in ('x', 'z')", "0 3 4"},
		{"flag", "0 3"},
		{"not flag", "1 4"},
		{"flag == false", "1 4"},
		{"flag != true", "1 4"},
		{"true", "0 1 2 3 4"},
		{"false", "none"},
		{"1 < 2", "0 1 2 3 4"},
		{"'a' > 'b'", "none"},
		{"amount is null", "2"},
		{"amount is not null", "0 1 3 4"},
		{"name IS NOT NULL AND flag", "0 3"},
		{"1 is null", "none"},
		{"id in (1, 3, 9)", "1 3"},
		{"id not in (1, 3, 9)", "0 2 4"},
		{"amount not in (99, 100)", "0 4"},
		{"name in ('ann')", "0"},
		{"amount > 50 or amount < 0", "1 3 4"},
		{"amount > 50 and name == 'bob'", "1"},
		{"not (amount > 50)", "0 4"},
		{"not amount > 50", "0 4"},
		{"amount > 50 or flag", "0 1 3"},
		{"amount > 50 or amount <= 50", "0 1 3 4"},
		{"(amount > 50 or id == 2) and not (n == 7)", "1 2"},
		{"amount > 1000 and n > 0", "none"},
		{"not (amount > 1000 and n > 0)", "0 1 3 4"},
		{"amount is null or amount > 50", "1 2 3"},
		{"(amount > 50 or n > 50) and id >= 0", "1 2 3"},
		{"\"odd name\" >= 6", "1 3"},
		{"ts >= '2024-02-01'", "1 3"},
		{"ts < '2024-01-01T00:00:01'", "0 4"},
		{"d == '2024-03-01'", "3"},
		{"d > '2024-01-01'", "1 3"},
		{"ts == ts", "0 1 3 4"},
		{"ID > 3 AnD Amount < 0", "none"},
		{"id > 3 and amount < 0", "4"},
		{"amount > 1e1", "0 1 3"},
		{"flag == flag", "0 1 3 4"},
		{"flag != flag", "none"},
		{"flag < true", "1 4"},
		{"n >= amount", "4"},
		{"amount <= n", "4"},
		{"id != n", "0 1 2 3 4"},
		{"10 <= n", "2"},
		{"0 >= n", "1 4"},
		{"u >= u", "0 1 3 4"},
		{"big >= name", "0 1 3 4"},
		{"2.5 > 1", "0 1 2 3 4"},
		{"n > 50 and amount > 0", "none"},
		{"n > 50 or amount > 0", "0 1 2 3"},
		{"not (n > 50 and amount > 0)", "0 1 3 4"},
		{"not (n < 50 or amount > 0)", "none"},
		{"amount > .5e2", "1 3"},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			mem := stagetest.Mem(t)
			st, err := stagetest.Build(t, nil, mem, "filter", "where: "+yamlQuote(tt.where), "", filterSchema)
			if tt.where == "ID > 3 AnD Amount < 0" {
				// Column names are case-sensitive; keywords are not.
				wantErr(t, err, `column "ID": not found`)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			in := recJSON(t, mem, filterSchema, filterRows)
			defer in.Release()
			out, err := st.(stages.Transform).Process(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if out != nil {
				defer out.Release()
			}
			if got := keptIDs(out); got != tt.want {
				t.Errorf("kept %s, want %s", got, tt.want)
			}
		})
	}
}

func keptIDs(rec arrow.RecordBatch) string {
	if rec == nil {
		return "none"
	}
	var ids []string
	for r := range int(rec.NumRows()) {
		ids = append(ids, rec.Column(0).ValueStr(r))
	}
	return strings.Join(ids, " ")
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func TestFilterErrors(t *testing.T) {
	tests := []struct {
		where string
		pos   int
		frags []string
	}{
		{"amout > 3", 1, []string{`column "amout": not found`, `did you mean "amount"`}},
		{"amount > 3 and nme == 'x'", 16, []string{`"nme"`}},
		{"name > 3", 6, []string{`cannot compare column "name" (utf8) with number 3`}},
		{"3 < name", 3, []string{`cannot compare column "name" (utf8) with number 3`}},
		{"amount == 'x'", 8, []string{"cannot compare"}},
		{"flag > 1", 6, []string{"cannot compare"}},
		{"name == amount", 6, []string{"cannot compare"}},
		{"ts == d", 4, []string{"cannot compare"}},
		{"ts > 5", 4, []string{"cannot compare"}},
		{"ts > 'yesterday'", 6, []string{"'yesterday' is not a timestamp[s]"}},
		{"d > '2024-13-01'", 5, []string{"not a date32"}},
		{"amount", 1, []string{`column "amount" is float64, not a condition`}},
		{"3", 1, []string{"3 is not a condition"}},
		{"list is null", 1, []string{`column "list": has type list<item: int64, nullable>, which a filter cannot compare`}},
		{"amount > ", 10, []string{"expected a column, a literal or (, got end of expression"}},
		{"amount > 3 amount", 12, []string{`unexpected column "amount"`}},
		{"(amount > 3", 12, []string{"expected ) to close the ( at char 1"}},
		{"amount > 3)", 11, []string{`unexpected ")"`}},
		{"amount == null", 11, []string{"use `x is null`"}},
		{"amount is 3", 11, []string{"expected null after is"}},
		{"id in 3", 7, []string{"expected ( after in"}},
		{"id in (1, amount)", 11, []string{"literals only"}},
		{"id in (1 2)", 10, []string{"expected , or )"}},
		{"id in ('a')", 8, []string{"cannot compare"}},
		{"name == 'bob", 9, []string{"unterminated string"}},
		{"\"odd name > 3", 1, []string{"unterminated quoted column name"}},
		{"\"\" > 3", 1, []string{"empty column name"}},
		{"amount > 3 && n > 1", 12, []string{`unexpected character '&'`}},
		{"amount > 12abc", 10, []string{"malformed number"}},
		{"amount > 1e999", 10, []string{"out of range"}},
		{"amount > -name", 11, []string{"expected a number after -"}},
		{"(amount > 1) > 2", 9, []string{"expected a column or a literal in a comparison"}},
		{"", 1, []string{"empty expression"}},
		{"né > 1", 2, []string{"unexpected character 'é'"}},
		{strings.Repeat("(", 200) + "flag" + strings.Repeat(")", 200), 101, []string{"nested too deeply"}},
		{strings.Repeat("not ", 200) + "flag", 401, []string{"nested too deeply"}},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			_, err := compileExpr(tt.where, filterSchema)
			wantErr(t, err, tt.frags...)
			var ee *ExprError
			if !errors.As(err, &ee) {
				t.Fatalf("want an *ExprError, got %T", err)
			}
			if ee.Pos != tt.pos {
				t.Errorf("error at char %d, want %d: %v", ee.Pos, tt.pos, err)
			}
		})
	}
}

func TestFilterUnknownColumnIsColumnError(t *testing.T) {
	mem := stagetest.Mem(t)
	_, err := stagetest.Build(t, nil, mem, "filter", "where: amout > 3", "", filterSchema)
	wantColumnError(t, err, "amout")
	wantErr(t, err, "where: char 1", `(at "amout > 3")`)
	_, err = stagetest.Build(t, nil, mem, "filter", "", "", filterSchema)
	wantErr(t, err, `missing required key "where"`)
}

func TestFilterOwnership(t *testing.T) {
	mem := stagetest.Mem(t)
	st := stagetest.MustBuild(t, nil, mem, "filter", "where: id >= 1 and id <= 3", "", filterSchema)
	tr := st.(stages.Transform)
	in := recJSON(t, mem, filterSchema, filterRows)
	defer in.Release()

	// Contiguous rows: a zero-copy slice, no Arrow allocation.
	before := mem.CurrentAlloc()
	out, err := tr.Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if got := keptIDs(out); got != "1 2 3" {
		t.Errorf("kept %s", got)
	}
	if d := mem.CurrentAlloc() - before; d != 0 {
		t.Errorf("a contiguous filter allocated %d bytes", d)
	}
	out.Release()

	// Every row kept: the input itself, retained.
	all := stagetest.MustBuild(t, nil, mem, "filter", "where: id >= 0", "", filterSchema)
	out, err = all.(stages.Transform).Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Error("a filter keeping every row did not return its input")
	}
	out.Release()

	// Scattered rows: a copy, whose columns survive the input's release.
	odd := stagetest.MustBuild(t, nil, memory.Allocator(mem), "filter", "where: id in (0, 4)", "", filterSchema)
	out, err = odd.(stages.Transform).Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got := dump(out); !strings.HasPrefix(got, "id=0 amount=10.5") || !strings.Contains(got, "; id=4 amount=-1") {
		t.Errorf("rows %s", got)
	}
}

func TestFilterSlicedInput(t *testing.T) {
	mem := stagetest.Mem(t)
	st := stagetest.MustBuild(t, nil, mem, "filter", "where: amount > 0 and name != 'ann'", "", filterSchema)
	in := recJSON(t, mem, filterSchema, filterRows)
	defer in.Release()
	sl := in.NewSlice(1, 5) // offsets in every array and bitmap
	defer sl.Release()
	out, err := st.(stages.Transform).Process(context.Background(), sl)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if got := keptIDs(out); got != "1 3" {
		t.Errorf("kept %s, want 1 3", got)
	}
}

func BenchmarkFilter(b *testing.B) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{field("id", i64), field("amount", f64), field("name", str)}, nil)
	const n = 64 << 10
	var sb strings.Builder
	sb.WriteString("[")
	for i := range n {
		if i > 0 {
			sb.WriteString(",")
		}
		fmt.Fprintf(&sb, `{"id": %d, "amount": %d.5, "name": "n%d"}`, i, i%1000, i%7)
	}
	sb.WriteString("]")
	in := recJSON(b, mem, schema, sb.String())
	defer in.Release()
	for _, where := range []string{"amount > 500", "id >= 1000 and id < 60000", "amount > 250 and amount < 750 or name == 'n3'"} {
		b.Run(where, func(b *testing.B) {
			st := stagetest.MustBuild(b, nil, mem, "filter", "where: "+yamlQuote(where), "", schema)
			tr := st.(stages.Transform)
			b.SetBytes(int64(n * 8))
			for b.Loop() {
				out, err := tr.Process(context.Background(), in)
				if err != nil {
					b.Fatal(err)
				}
				out.Release()
			}
		})
	}
}

func TestTransformsRejectMismatchedBatch(t *testing.T) {
	mem := stagetest.Mem(t)
	built := arrow.NewSchema([]arrow.Field{field("a", f64), field("flag", arrow.FixedWidthTypes.Boolean)}, nil)
	got := arrow.NewSchema([]arrow.Field{field("a", str), field("flag", arrow.FixedWidthTypes.Boolean)}, nil)
	in := recJSON(t, mem, got, `[{"a": "x", "flag": true}]`)
	defer in.Release()
	for _, c := range []struct{ typ, with string }{
		{"filter", "where: a > 1"},
		{"vectorize", "columns: [a]\ninto: v"},
		{"cast", "columns: {a: float16}"},
		{"select", "keep: [a]"},
	} {
		st := stagetest.MustBuild(t, nil, mem, c.typ, c.with, "", built)
		out, err := st.(stages.Transform).Process(context.Background(), in)
		if out != nil {
			out.Release()
		}
		wantErr(t, err, c.typ+": batch does not match", `field 0 is "a" utf8, want "a" float64`)
	}
}
