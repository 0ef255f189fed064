package source

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

func TestJSONLSource(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), `{"id": 1, "x": 1.5, "ok": true, "s": "a", "t": "2024-01-02T03:04:05Z", "o": {"k": [1]}}
{"id": 2, "x": 2, "ok": false, "s": null, "t": "2024-01-03T00:00:00+01:00", "o": [1, 2]}

{"x": 3, "id": 3, "extra": "ignored in explicit schemas"}
`)
	writeFile(t, filepath.Join(dir, "late.jsonl"), "{\"v\": 1}\n{\"v\": 2}\n{\"v\": 2.5}\n")
	writeFile(t, filepath.Join(dir, "bad.jsonl"), "{\"v\": 1}\n{000000\n")
	writeFile(t, filepath.Join(dir, "array.jsonl"), "{\"v\": 1}\n[1, 2]\n")
	writeFile(t, filepath.Join(dir, "empty.jsonl"), "\n\n")
	tests := []struct {
		name, with string
		rows       int64
		types      string
		err        string
	}{
		{"inferred", `{paths: [a.jsonl]}`, 3, "id:int64,x:float64,ok:bool,s:utf8,t:timestamp[us, tz=UTC],o:utf8,extra:utf8", ""},
		{"explicit", `{paths: [a.jsonl], schema: [{name: x, type: float32}, {name: id, type: int64}, {name: missing, type: bool}]}`, 3, "x:float32,id:int64,missing:bool", ""},
		{"batch rows", `{paths: [a.jsonl], batch_rows: 2}`, 3, "id:int64,x:float64,ok:bool,s:utf8,t:timestamp[us, tz=UTC],o:utf8,extra:utf8", ""},
		{"late value", `{paths: [late.jsonl], infer_rows: 2}`, 0, "", `late.jsonl: line 3: column "v": cannot parse "2.5" as int64`},
		{"wrong type", `{paths: [a.jsonl], schema: [{name: s, type: int64}]}`, 0, "", `a.jsonl: line 1: column "s": cannot parse "\"a\"" as int64`},
		{"bad json", `{paths: [bad.jsonl], schema: [{name: v, type: int64}]}`, 0, "", "bad.jsonl: line 2: invalid JSON"},
		{"bad json inferred", `{paths: [bad.jsonl]}`, 0, "", "bad.jsonl: line 2: invalid JSON"},
		{"not an object", `{paths: [array.jsonl], schema: [{name: v, type: int64}]}`, 0, "", "array.jsonl: line 2: expected a JSON object, got array"},
		{"nothing to infer", `{paths: [empty.jsonl]}`, 0, "", "empty.jsonl: cannot infer a schema"},
		{"bad infer_rows", `{paths: [a.jsonl], infer_rows: 0}`, 0, "", "infer_rows must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := build(t, mem, "jsonl_source", tt.with, dir)
			if err == nil {
				var got int64
				got, err = drain(t, src, 0)
				if err == nil && got != tt.rows {
					t.Errorf("rows %d, want %d", got, tt.rows)
				}
				if err == nil {
					var types []string
					for _, f := range src.Schema().Fields() {
						types = append(types, f.Name+":"+f.Type.String())
					}
					if strings.Join(types, ",") != tt.types {
						t.Errorf("types %s, want %s", strings.Join(types, ","), tt.types)
					}
				}
			}
			wantErr(t, err, tt.err)
		})
	}
}

func TestJSONLValues(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), `{"id": 1, "s": "a\"b", "o": {"k": 1}, "t": "2024-01-02T03:04:05Z"}
{"id": 2, "o": [1, 2]}
`)
	src, err := build(t, mem, "jsonl_source", `{paths: [a.jsonl]}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"1,2", `a"b,(null)`, `{"k": 1},[1, 2]`, "2024-01-02T03:04:05Z,(null)"} {
		if got := strings.Join(colValues(recs, i), ","); got != want {
			t.Errorf("column %s: %s, want %s", src.Schema().Field(i).Name, got, want)
		}
	}
}
