package source

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

func TestCSVSource(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "\uFEFFid,amount,ok,when,name\n1,2.5,true,2024-01-02 03:04:05,x\n2,NA,false,2024-01-02T03:04:05Z,\"quoted, comma\"\n3,1e3,,2024-01-03,\n")
	writeFile(t, filepath.Join(dir, "b.csv"), "id,amount,ok,when,name\n4,5,true,2024-01-04,y\n")
	writeFile(t, filepath.Join(dir, "other.csv"), "id,price\n1,2\n")
	writeFile(t, filepath.Join(dir, "late.csv"), "id,v\n1,2\n2,3\n3,x\n")
	writeFile(t, filepath.Join(dir, "ragged.csv"), "a,b\n1,2\n3\n")
	writeFile(t, filepath.Join(dir, "noheader.tsv"), "1\tx\n2\ty\n")
	writeFile(t, filepath.Join(dir, "semi.csv"), "a;b\n1;2\n")
	tests := []struct {
		name, with string
		rows       int64
		types      string
		err        string
	}{
		{"inferred", `{paths: [a.csv, b.csv]}`, 4, "int64,float64,bool,timestamp[us, tz=UTC],utf8", ""},
		{"explicit", `{paths: [a.csv], schema: [{name: name, type: string}, {name: id, type: int32}]}`, 3, "utf8,int32", ""},
		{"no header", `{paths: [noheader.tsv], header: false, delimiter: tab}`, 2, "int64,utf8", ""},
		{"no header schema", `{paths: [noheader.tsv], header: false, delimiter: "\t", schema: [{name: n, type: uint8}, {name: s, type: string}]}`, 2, "uint8,utf8", ""},
		{"delimiter", `{paths: [semi.csv], delimiter: ";"}`, 1, "int64,int64", ""},
		{"batch rows", `{paths: [a.csv], batch_rows: 1}`, 3, "int64,float64,bool,timestamp[us, tz=UTC],utf8", ""},
		{"header mismatch", `{paths: [a.csv, other.csv]}`, 0, "", "other.csv|schema differs from the first file|a.csv|has 2 columns"},
		{"unknown schema column", `{paths: [a.csv], schema: [{name: nope, type: int64}]}`, 0, "", `a.csv|column "nope": not found`},
		{"bad type", `{paths: [a.csv], schema: [{name: id, type: decimal}]}`, 0, "", `column "id": unknown type "decimal"`},
		{"bad delimiter", `{paths: [a.csv], delimiter: "ab"}`, 0, "", "delimiter must be one character"},
		{"late value", `{paths: [late.csv], infer_rows: 2}`, 0, "", `late.csv: line 4: column "v": cannot parse "x" as int64|raise infer_rows`},
		{"explicit bad value", `{paths: [a.csv], schema: [{name: amount, type: float32}, {name: name, type: int64}]}`, 0, "", `a.csv: line 2: column "name": cannot parse "x" as int64`},
		{"ragged", `{paths: [ragged.csv]}`, 0, "", "ragged.csv: line 3|wrong number of fields"},
		{"missing", `{paths: [nope.csv]}`, 0, "", "nope.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := build(t, mem, "csv_source", tt.with, dir)
			if err == nil {
				var got int64
				got, err = drain(t, src, 0)
				if err == nil && got != tt.rows {
					t.Errorf("rows %d, want %d", got, tt.rows)
				}
				if err == nil {
					var types []string
					for _, f := range src.Schema().Fields() {
						types = append(types, f.Type.String())
					}
					if strings.Join(types, ",") != tt.types {
						t.Errorf("types %s, want %s", strings.Join(types, ","), tt.types)
					}
				}
			}
			wantErr(t, err, tt.err)
			if tt.err != "" && strings.Contains(tt.err, "line") {
				var fe *FileError
				if !errors.As(err, &fe) || fe.Line == 0 {
					t.Errorf("error %v carries no line", err)
				}
			}
		})
	}
}

func TestCSVValues(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.csv"), "id,amount,name\n1,2.5,x\n2,NA,\n3,,NULL\n")
	src, err := build(t, mem, "csv_source", `{paths: [a.csv], batch_rows: 2}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(colValues(recs, 1), ","); got != "2.5,(null),(null)" {
		t.Errorf("amount %s", got)
	}
	if got := strings.Join(colValues(recs, 2), ","); got != "x,(null),(null)" {
		t.Errorf("name %s", got)
	}
	if len(recs) != 2 || recs[0].NumRows() != 2 {
		t.Errorf("%d batches", len(recs))
	}
}
