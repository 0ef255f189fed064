package source

import (
	"encoding/json"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestParseVector(t *testing.T) {
	tests := []struct {
		in   string
		n    int
		want []float32 // nil: refused
	}{
		{"[1, 2.5, -3]", 3, []float32{1, 2.5, -3}},
		{"  [ 1e-3 ,2E2,0 ]  ", 3, []float32{1e-3, 200, 0}},
		{"[7]", 1, []float32{7}},
		{"[1, 2]", 3, nil},       // too few
		{"[1, 2, 3, 4]", 3, nil}, // too many
		{"[1, null, 3]", 3, nil},
		{`[1, "2", 3]`, 3, nil},
		{"[1, [2], 3]", 3, nil},
		{"[1,, 3]", 3, nil},
		{"[1, 2, 3,]", 3, nil},
		{"[]", 1, nil},
		{"[NaN]", 1, nil},
		{"[-Inf]", 1, nil},
		{"[0x1p-2]", 1, nil},
		{"[1e39]", 1, nil}, // beyond float32
		{"1, 2", 2, nil},
		{"[1, 2", 2, nil},
		{"", 1, nil},
	}
	for _, tt := range tests {
		got, ok := parseVector(tt.in, tt.n, nil)
		if ok != (tt.want != nil) || (ok && !slices.Equal(got, tt.want)) {
			t.Errorf("parseVector(%q, %d) = %v, %v; want %v", tt.in, tt.n, got, ok, tt.want)
		}
	}
	for _, tt := range []struct{ in, want, err string }{
		{"vector[32]", "fixed_size_list<item: float32, nullable>[32]", ""},
		{"Vector[3]", "fixed_size_list<item: float32, nullable>[3]", ""},
		{"fixed_size_list<float32>[8]", "fixed_size_list<item: float32, nullable>[8]", ""},
		{"vector[0]", "", "want vector[n] with n from 1"},
		{"vector[x]", "", "want vector[n]"},
		{"vector[3", "", "want vector[n]"},
	} {
		dt, err := parseTextType(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseTextType(%q): error %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || dt.String() != tt.want {
			t.Errorf("parseTextType(%q) = %v, %v; want %s", tt.in, dt, err, tt.want)
		}
	}
}

// FuzzParseVector: every JSON array of numbers in float32's range that
// encoding/json reads is read by parseVector too, each number to what
// strconv.ParseFloat(number, 32) reads.
func FuzzParseVector(f *testing.F) {
	for _, s := range []string{"[1, 2.5, -3]", "[ 1e-3 ,2E2,0 ]", "[1, null]", "[]", "[0.1,0.2,0.30000001]", "[-0, 1E+2]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var ref []any
		dec := json.NewDecoder(strings.NewReader(s))
		dec.UseNumber()
		if dec.Decode(&ref) != nil || strings.TrimSpace(s[dec.InputOffset():]) != "" || len(ref) == 0 {
			return // not one array (parseVector may be laxer, e.g. "[01]")
		}
		want := make([]float32, len(ref))
		for i, v := range ref {
			n, isNum := v.(json.Number)
			if !isNum {
				return // a null, a string, an array or an object inside
			}
			f, err := strconv.ParseFloat(string(n), 32)
			if err != nil || math.IsInf(f, 0) {
				return
			}
			want[i] = float32(f)
		}
		got, ok := parseVector(s, len(ref), nil)
		if !ok || !slices.Equal(got, want) {
			t.Fatalf("parseVector(%q) = %v, %v; encoding/json reads %v", s, got, ok, want)
		}
	})
}

func TestJSONLVectors(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "v.jsonl"), `{"id": 1, "x": [1, 2.5, -3], "m": [1, 2]}
{"id": 2, "x": null, "m": [1, 2, 3]}
{"id": 3, "x": [0.25, 0, 1e2], "m": 4}
`)
	writeFile(t, filepath.Join(dir, "short.jsonl"), "{\"x\": [1, 2, 3]}\n{\"x\": [1, 2]}\n")
	writeFile(t, filepath.Join(dir, "v.csv"), "id,x\n1,\"[1, 2]\"\n2,\n3,\"[-0.5,4]\"\n")
	tests := []struct {
		name, typ, with string
		col             int
		types, values   string
		err             string
	}{
		{name: "inferred", typ: "jsonl_source", with: `{paths: [v.jsonl]}`, col: 1,
			types:  "id:int64,x:fixed_size_list<item: float32, nullable>[3],m:utf8",
			values: "[1,2.5,-3],(null),[0.25,0,100]"},
		{name: "one row per batch", typ: "jsonl_source", with: `{paths: [v.jsonl], batch_rows: 1}`, col: 1,
			types:  "id:int64,x:fixed_size_list<item: float32, nullable>[3],m:utf8",
			values: "[1,2.5,-3],(null),[0.25,0,100]"},
		{name: "explicit", typ: "jsonl_source", with: `{paths: [v.jsonl], schema: [{name: x, type: "vector[3]"}]}`, col: 0,
			types: "x:fixed_size_list<item: float32, nullable>[3]", values: "[1,2.5,-3],(null),[0.25,0,100]"},
		{name: "wrong length", typ: "jsonl_source", with: `{paths: [short.jsonl], schema: [{name: x, type: "vector[3]"}]}`,
			err: `short.jsonl: line 2: column "x": cannot parse "[1, 2]" as fixed_size_list<item: float32, nullable>[3]`},
		{name: "not an array", typ: "jsonl_source", with: `{paths: [v.jsonl], schema: [{name: m, type: "vector[2]"}]}`,
			err: `v.jsonl: line 2: column "m": cannot parse "[1, 2, 3]"`},
		{name: "csv", typ: "csv_source", with: `{paths: [v.csv], schema: [{name: id, type: int64}, {name: x, type: "vector[2]"}]}`, col: 1,
			types: "id:int64,x:fixed_size_list<item: float32, nullable>[2]", values: "[1,2],(null),[-0.5,4]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := build(t, mem, tt.typ, tt.with, dir)
			if err == nil {
				rs, derr := drainRecs(t, src)
				err = derr
				if err == nil {
					var types []string
					for _, f := range src.Schema().Fields() {
						types = append(types, f.Name+":"+f.Type.String())
					}
					if got := strings.Join(types, ","); got != tt.types {
						t.Errorf("types %s, want %s", got, tt.types)
					}
					if got := strings.Join(colValues(rs, tt.col), ","); got != tt.values {
						t.Errorf("values %s, want %s", got, tt.values)
					}
				}
			}
			wantErr(t, err, tt.err)
		})
	}
}

// TestJSONLVectorSetAside: a line whose vector was taken before a later
// column failed is set aside whole; the rows around it keep their vectors.
func TestJSONLVectorSetAside(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "v.jsonl"), `{"x": [1, 2], "id": 1}
{"x": [3, 4], "id": "bad"}
{"x": [5, 6, 7], "id": 3}
{"x": [8, 9], "id": 4}
`)
	src, err := build(t, mem, "jsonl_source", `{paths: [v.jsonl], schema: [{name: x, type: "vector[2]"}, {name: id, type: int64}]}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	rej := &fuzzRejecter{t: t}
	src.(stages.RejecterTaker).SetRejecter(rej)
	recs, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(colValues(recs, 0), ";")+" ids "+strings.Join(colValues(recs, 1), ","), "[1,2];[8,9] ids 1,4"; got != want {
		t.Errorf("rows %s, want %s", got, want)
	}
	if rej.rows != 2 {
		t.Errorf("%d lines set aside, want 2", rej.rows)
	}
}

// FuzzParseFloat32: on what could be a JSON number the fast path agrees
// with strconv bit for bit, accepted or not; anything else is refused.
func FuzzParseFloat32(f *testing.F) {
	for _, s := range []string{"0.8388495", "-1.212155", "0", "-0", "0.000", "1234567", "12345678", "0.1", "3.4028235e38", "1e-45", "007.50", "-.5", "5.", ".", "-", "1.2.3", "0.0000000001", "0.00000000001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseFloat32(s)
		if !numberChars(s) {
			if ok {
				t.Fatalf("parseFloat32(%q) = %v: took what is not a number", s, got)
			}
			return
		}
		want, err := strconv.ParseFloat(s, 32)
		if ok != (err == nil) || (ok && math.Float32bits(got) != math.Float32bits(float32(want))) {
			t.Fatalf("parseFloat32(%q) = %v, %v; strconv: %v, %v", s, got, ok, float32(want), err)
		}
	})
}

// BenchmarkParseVector reads one 32-number vector as the JSON-lines
// benchmark writes them.
func BenchmarkParseVector(b *testing.B) {
	s := "[0.8388495,-0.6778106,-0.4567081,-0.01836897,-0.9016575,-2.025597,-0.9701712,-0.5554881,0.2049219,-0.07987092,-1.212155,-1.30189,0.3950316,0.09116897,-1.254826,0.4662048,-0.1002189,-0.2189645,1.373669,-2.048034,0.1983709,-0.885914,0.7836176,-0.668368,1.309939,1.800094,0.07103324,0.1165664,1.263444,0.5208234,0.8251645,-0.3875251]"
	dst := make([]float32, 0, 32)
	b.ReportAllocs()
	for b.Loop() {
		var ok bool
		if dst, ok = parseVector(s, 32, dst[:0]); !ok {
			b.Fatal("refused")
		}
	}
}
