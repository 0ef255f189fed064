package transform

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func buildMerge(t *testing.T, with string, inputs ...*arrow.Schema) stages.Operator {
	t.Helper()
	st := stagetest.MustBuild(t, nil, nil, "merge", with, "", inputs...)
	return st.(stages.Operator)
}

// ids builds batches of single ids lo..hi-1, one row each.
func ids(t *testing.T, schema *arrow.Schema, lo, hi int) []arrow.RecordBatch {
	mem := stagetest.Mem(t)
	var out []arrow.RecordBatch
	for i := lo; i < hi; i++ {
		out = append(out, idBatch(mem, schema, i, i+1))
	}
	return out
}

func TestMergeInterleave(t *testing.T) {
	s := schemaOf("x")
	for _, buf := range []int{0, 1, 4} {
		for _, order := range [][]int{{0, 1, 2}, {2, 1, 0}, {1, 2, 0}} {
			a, b, c := ids(t, s, 0, 3), ids(t, s, 10, 11), ids(t, s, 20, 22)
			out, err := opRun{op: buildMerge(t, "", s, s, s), inputs: 3, buf: buf, sends: sequential(order, a, b, c)}.run(t)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := rowsOf(out), "0 | 10 | 20 | 1 | 21 | 2"; got != want {
				t.Errorf("buf %d, send order %v: got %s, want %s", buf, order, got, want)
			}
			releaseAll(out)
		}
	}
}

func TestMergeArrival(t *testing.T) {
	s := schemaOf("x")
	a, b := ids(t, s, 0, 5), ids(t, s, 10, 13)
	out, err := opRun{op: buildMerge(t, "order: arrival", s, s), inputs: 2, sends: sequential([]int{1, 0}, a, b)}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(out)
	// One sender delivers input 1 first, unbuffered: arrival order is that.
	if got, want := rowsOf(out), "10 | 11 | 12 | 0 | 1 | 2 | 3 | 4"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

func TestMergeArrivalKeepsEveryBatch(t *testing.T) {
	s := schemaOf("x")
	a, b := ids(t, s, 0, 20), ids(t, s, 100, 120)
	out, err := opRun{op: buildMerge(t, "order: arrival", s, s), inputs: 2, buf: 2, sends: roundRobin(a, b)}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(out)
	var got []string
	for _, r := range out {
		got = append(got, keptIDs(r))
	}
	sort.Strings(got)
	if len(got) != 40 || got[0] != "0" || got[39] != "9" {
		t.Errorf("got %d batches: %v", len(got), got)
	}
}

// TestMergeFanOutFanIn feeds both inputs from one upstream that sends each
// batch to input 1 before input 0, over unbuffered channels: waiting on
// input 0 alone would deadlock.
func TestMergeFanOutFanIn(t *testing.T) {
	s := schemaOf("x")
	mem := stagetest.Mem(t)
	var sends []send
	for i := range 50 {
		rec := idBatch(mem, s, i, i+1)
		rec.Retain() // fan-out: one reference per consumer
		sends = append(sends, send{1, rec}, send{0, rec})
	}
	for _, order := range []string{"interleave", "arrival"} {
		if order == "arrival" {
			sends = sends[:0]
			for i := range 50 {
				rec := idBatch(mem, s, i, i+1)
				rec.Retain()
				sends = append(sends, send{1, rec}, send{0, rec})
			}
		}
		out, err := opRun{op: buildMerge(t, "order: "+order, s, s), inputs: 2, sends: sends}.run(t)
		if err != nil {
			t.Fatal(err)
		}
		if len(out) != 100 {
			t.Errorf("%s: %d batches, want 100", order, len(out))
		}
		if order == "interleave" && !strings.HasPrefix(rowsOf(out), "0 | 0 | 1 | 1 | 2 | 2") {
			t.Errorf("interleave: got %s", rowsOf(out)[:40])
		}
		releaseAll(out)
	}
}

func TestMergeCancel(t *testing.T) {
	s := schemaOf("x")
	for _, order := range []string{"interleave", "arrival"} {
		t.Run(order, func(t *testing.T) {
			a, b := ids(t, s, 0, 10), ids(t, s, 10, 20)
			out, err := opRun{op: buildMerge(t, "order: "+order, s, s), inputs: 2, buf: 1, sends: roundRobin(a, b), block: 3}.run(t)
			releaseAll(out)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("err %v, want context.Canceled", err)
			}
			if len(out) != 2 {
				t.Errorf("%d batches before the cancel, want 2", len(out))
			}
		})
	}
}

func TestMergeSchemas(t *testing.T) {
	base := schemaOf("x")
	nonNull := arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64}, {Name: "x", Type: f64}}, nil)
	tests := []struct {
		name    string
		with    string
		inputs  []*arrow.Schema
		wantErr []string
	}{
		{name: "type differs", inputs: []*arrow.Schema{base, arrow.NewSchema([]arrow.Field{field("id", i64), field("x", f32)}, nil)},
			wantErr: []string{"merge: input 1", "field 1", `"x" float32, want "x" float64`}},
		{name: "name differs", inputs: []*arrow.Schema{base, base, schemaOf("y")},
			wantErr: []string{"input 2", `"y"`}},
		{name: "extra field", inputs: []*arrow.Schema{base, schemaOf("x", "z")},
			wantErr: []string{"input 1", `extra field 2 "z"`}},
		{name: "missing field", inputs: []*arrow.Schema{schemaOf("x", "z"), base},
			wantErr: []string{"input 1", `missing field 2 "z"`}},
		{name: "bad order", with: "order: random", inputs: []*arrow.Schema{base, base}, wantErr: []string{`order "random"`}},
		{name: "nullability may differ", inputs: []*arrow.Schema{nonNull, base}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := stagetest.Build(t, nil, nil, "merge", tt.with, "", tt.inputs...)
			if tt.wantErr != nil {
				wantErr(t, err, tt.wantErr...)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := schemaString(st.Schema()); got != "id:int64, x:float64" {
				t.Errorf("schema %s", got)
			}
		})
	}
}

func TestMergeConformsSchemas(t *testing.T) {
	nonNull := arrow.NewSchema([]arrow.Field{{Name: "id", Type: i64}, {Name: "x", Type: f64}}, nil)
	base := schemaOf("x")
	op := buildMerge(t, "", nonNull, base)
	mem := stagetest.Mem(t)
	a, b := chunked(mem, nonNull, 2), chunked(mem, base, 3)
	out, err := opRun{op: op, inputs: 2, sends: roundRobin(a, b)}.run(t)
	if err != nil {
		t.Fatal(err)
	}
	defer releaseAll(out)
	for _, r := range out {
		if !r.Schema().Equal(op.Schema()) {
			t.Errorf("batch schema %s, want %s", r.Schema(), op.Schema())
		}
	}
}
