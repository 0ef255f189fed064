package transform

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestSelect(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{field("id", i64), field("name", str), field("score", f64)}, nil)
	const rows = `[{"id": 1, "name": "a", "score": 0.5}, {"id": 2, "name": null, "score": 1.5}]`
	tests := []struct {
		name, with string
		wantSchema string
		wantRows   string
		wantErr    []string
		wantCol    string // column a *stages.ColumnError names
	}{
		{name: "keep reorders", with: "keep: [score, id]",
			wantSchema: "score:float64, id:int64", wantRows: "score=0.5 id=1; score=1.5 id=2"},
		{name: "drop", with: "drop: [name]",
			wantSchema: "id:int64, score:float64", wantRows: "id=1 score=0.5; id=2 score=1.5"},
		{name: "rename", with: "rename: {score: s, id: key}",
			wantSchema: "key:int64, name:utf8, s:float64", wantRows: "key=1 name=a s=0.5; key=2 name=(null) s=1.5"},
		{name: "keep and rename", with: "keep: [name]\nrename: {name: n}",
			wantSchema: "n:utf8", wantRows: "n=a; n=(null)"},
		{name: "nothing selects all", with: "",
			wantSchema: "id:int64, name:utf8, score:float64", wantRows: "id=1 name=a score=0.5; id=2 name=(null) score=1.5"},
		{name: "unknown keep", with: "keep: [scor]", wantErr: []string{`"scor"`, `did you mean "score"`}, wantCol: "scor"},
		{name: "unknown drop", with: "drop: [nam]", wantErr: []string{"not found"}, wantCol: "nam"},
		{name: "unknown rename", with: "rename: {x: y}", wantErr: []string{"not found"}, wantCol: "x"},
		{name: "rename of a dropped column", with: "drop: [name]\nrename: {name: n}", wantErr: []string{"not selected"}, wantCol: "name"},
		{name: "duplicate by rename", with: "rename: {score: id}", wantErr: []string{"more than once in the output"}, wantCol: "id"},
		{name: "duplicate in keep", with: "keep: [id, id]", wantErr: []string{"more than once"}, wantCol: "id"},
		{name: "keep and drop", with: "keep: [id]\ndrop: [name]", wantErr: []string{"exclusive"}},
		{name: "unknown key", with: "kep: [id]", wantErr: []string{`unknown key "kep"`, `did you mean "keep"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			st, err := stagetest.Build(t, nil, mem, "select", tt.with, t.TempDir(), schema)
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
				t.Errorf("schema %s, want %s", got, tt.wantSchema)
			}
			in := recJSON(t, mem, schema, rows)
			defer in.Release()
			out, err := st.(stages.Transform).Process(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			defer out.Release()
			if got := dump(out); got != tt.wantRows {
				t.Errorf("rows %s, want %s", got, tt.wantRows)
			}
			if !out.Schema().Equal(st.Schema()) {
				t.Errorf("batch schema %s differs from Schema() %s", out.Schema(), st.Schema())
			}
		})
	}
}

func TestSelectIsZeroCopy(t *testing.T) {
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{field("id", i64), field("score", f64)}, nil)
	st := stagetest.MustBuild(t, nil, mem, "select", "keep: [score]", "", schema)
	in := recJSON(t, mem, schema, `[{"id": 1, "score": 2}]`)
	defer in.Release()
	before := mem.CurrentAlloc()
	out, err := st.(stages.Transform).Process(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Release()
	if out.Column(0).Data() != in.Column(1).Data() {
		t.Error("selected column is not the input's array")
	}
	if d := mem.CurrentAlloc() - before; d != 0 {
		t.Errorf("select allocated %d bytes of Arrow memory", d)
	}
}
