package transform

import (
	"context"
	"errors"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func buildZip(t *testing.T, with string, inputs ...*arrow.Schema) stages.Operator {
	t.Helper()
	return stagetest.MustBuild(t, nil, nil, "zip", with, "", inputs...).(stages.Operator)
}

func TestZipAligns(t *testing.T) {
	s0 := schemaOf("x")          // id, x
	s1 := schemaOf("score", "x") // id, score, x (x already present: dropped)
	op := buildZip(t, "check: [id]", s0, s1)
	if got, want := schemaString(op.Schema()), "id:int64, x:float64, score:float64"; got != want {
		t.Fatalf("schema %s, want %s", got, want)
	}
	for _, buf := range []int{0, 3} {
		mem := stagetest.Mem(t)
		a, b := chunked(mem, s0, 3, 3, 4), chunked(mem, s1, 5, 5)
		out, err := opRun{op: op, inputs: 2, buf: buf, sends: roundRobin(a, b)}.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := rowsOf(out), "0 1 2 | 3 4 | 5 | 6 7 8 9"; got != want {
			t.Errorf("batches %s, want %s", got, want)
		}
		// Row 7: x from input 0 (7*10+1), score from input 1 (7*10+1).
		if len(out) == 4 {
			if got := dump(out[3]); got[:len("id=6 x=61 score=61")] != "id=6 x=61 score=61" {
				t.Errorf("values %s", got)
			}
		}
		releaseAll(out)
	}
}

func TestZipThreeInputs(t *testing.T) {
	s0, s1, s2 := schemaOf("a"), schemaOf("b"), schemaOf("c")
	mem := stagetest.Mem(t)
	a, b, c := chunked(mem, s0, 10), chunked(mem, s1, 1, 9), chunked(mem, s2, 4, 4, 2)
	out, err := opRun{op: buildZip(t, "", s0, s1, s2), inputs: 3, sends: sequential([]int{2, 1, 0}, a, b, c)}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(out)
	if got, want := rowsOf(out), "0 | 1 2 3 | 4 5 6 7 | 8 9"; got != want {
		t.Errorf("batches %s, want %s", got, want)
	}
	if got := dump(out[3]); got != "id=8 a=81 b=81 c=81; id=9 a=91 b=91 c=91" {
		t.Errorf("values %s", got)
	}
}

// TestZipBufferingBranch feeds input 1 completely before input 0, over
// unbuffered channels, as when one branch holds rows back: reading the
// inputs in lockstep would deadlock.
func TestZipBufferingBranch(t *testing.T) {
	s0, s1 := schemaOf("a"), schemaOf("b")
	mem := stagetest.Mem(t)
	a, b := chunked(mem, s0, 1, 1, 1, 1, 1, 1, 1, 1), chunked(mem, s1, 2, 2, 2, 2)
	out, err := opRun{op: buildZip(t, "check: [id]", s0, s1), inputs: 2, sends: sequential([]int{1, 0}, a, b)}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(out)
	if got, want := rowsOf(out), "0 | 1 | 2 | 3 | 4 | 5 | 6 | 7"; got != want {
		t.Errorf("batches %s, want %s", got, want)
	}
}

// TestZipFanOutFanIn sends each upstream batch to both inputs, input 1
// first, over unbuffered channels.
func TestZipFanOutFanIn(t *testing.T) {
	s := schemaOf("a")
	mem := stagetest.Mem(t)
	var sends []send
	for i := range 20 {
		rec := idBatch(mem, s, i*2, i*2+2)
		rec.Retain()
		sends = append(sends, send{1, rec}, send{0, rec})
	}
	out, err := opRun{op: buildZip(t, "check: [id, a]", s, s), inputs: 2, sends: sends}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(out)
	if len(out) != 20 || rowsOf(out[19:]) != "38 39" {
		t.Errorf("got %d batches: %s", len(out), rowsOf(out))
	}
}

func TestZipRowCounts(t *testing.T) {
	s0, s1 := schemaOf("a"), schemaOf("b")
	tests := []struct {
		name  string
		sizes [2][]int
		order []int
		want  []string
	}{
		// Whether zip has seen input 0 end when input 1 ends is a matter of
		// scheduling: "input 0 has 10 rows" or "input 0 has at least 10".
		{name: "input 1 short", sizes: [2][]int{{5, 5}, {4, 4}}, order: []int{0, 1},
			want: []string{"input 0 has ", "10", "input 1 has 8 rows"}},
		{name: "input 0 short", sizes: [2][]int{{3}, {2, 2}}, order: []int{0, 1},
			want: []string{"input 0 has 3 rows", "input 1 has"}},
		{name: "input 1 sends after input 0 ended", sizes: [2][]int{{3}, {3, 3}}, order: []int{0, 1},
			want: []string{"input 0 has 3 rows", "input 1 has"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			a, b := chunked(mem, s0, tt.sizes[0]...), chunked(mem, s1, tt.sizes[1]...)
			out, err := opRun{op: buildZip(t, "", s0, s1), inputs: 2, sends: sequential(tt.order, a, b)}.run(t)
			releaseAll(out)
			wantErr(t, err, append([]string{"zip: inputs have different row counts"}, tt.want...)...)
		})
	}
}

func TestZipCheckMismatch(t *testing.T) {
	s := schemaOf("a")
	mem := stagetest.Mem(t)
	a := chunked(mem, s, 4, 4)
	b := []arrow.RecordBatch{idBatch(mem, s, 0, 6), idBatch(mem, s, 7, 9)} // id 6 missing
	out, err := opRun{op: buildZip(t, "check: [id]", s, s), inputs: 2, sends: roundRobin(a, b)}.run(t)
	if got := rowsOf(out); got != "0 1 2 3 | 4 5" {
		t.Errorf("emitted before the mismatch: %s", got)
	}
	releaseAll(out)
	wantErr(t, err, "row 6", `input 0 has "6" but input 1 has "7"`)
	wantColumnError(t, err, "id")
}

func TestZipCancel(t *testing.T) {
	s0, s1 := schemaOf("a"), schemaOf("b")
	mem := stagetest.Mem(t)
	a, b := chunked(mem, s0, 1, 1, 1, 1, 1, 1), chunked(mem, s1, 3, 3)
	out, err := opRun{op: buildZip(t, "", s0, s1), inputs: 2, buf: 1, sends: roundRobin(a, b), block: 2}.run(t)
	releaseAll(out)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if len(out) != 1 {
		t.Errorf("%d batches before the cancel, want 1", len(out))
	}
}

func TestZipBuildErrors(t *testing.T) {
	s0 := schemaOf("a")
	tests := []struct {
		name    string
		with    string
		inputs  []*arrow.Schema
		wantErr []string
		wantCol string
	}{
		{name: "check column missing", with: "check: [a]", inputs: []*arrow.Schema{s0, schemaOf("b")},
			wantErr: []string{"zip: input 1", `column "a": not found`, `did you mean "b"`}, wantCol: "a"},
		{name: "check column type differs", with: "check: [a]",
			inputs:  []*arrow.Schema{s0, arrow.NewSchema([]arrow.Field{field("id", i64), field("a", str)}, nil)},
			wantErr: []string{"zip: input 1", "has type utf8, but float64 in input 0"}, wantCol: "a"},
		{name: "unknown key", with: "chek: [id]", inputs: []*arrow.Schema{s0, s0}, wantErr: []string{`did you mean "check"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stagetest.Build(t, nil, nil, "zip", tt.with, "", tt.inputs...)
			wantErr(t, err, tt.wantErr...)
			if tt.wantCol != "" {
				wantColumnError(t, err, tt.wantCol)
			}
		})
	}
}

func TestOperatorInputBounds(t *testing.T) {
	for _, name := range []string{"merge", "zip"} {
		e, err := stages.Default().Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if e.Kind != stages.KindOperator || e.MinInputs != 2 || e.MaxInputs != -1 {
			t.Errorf("%s: kind %v, inputs %d..%d; want operator, 2..-1", name, e.Kind, e.MinInputs, e.MaxInputs)
		}
	}
}
