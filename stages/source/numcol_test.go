package source

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func TestBuildNumColumns(t *testing.T) {
	mem := stagetest.Mem(t)
	ints := newNumColumn(arrow.PrimitiveTypes.Int64)
	floats := newNumColumn(arrow.PrimitiveTypes.Float64)
	dense := newNumColumn(arrow.PrimitiveTypes.Float64)
	for r, text := range []string{"7", " -3 ", "", "9223372036854775807", "12"} {
		if text == "" {
			ints.appendNull()
			floats.appendNull()
		} else {
			if !ints.appendText([]byte(text)) {
				t.Fatalf("int %q refused", text)
			}
			if !floats.appendText([]byte(strings.TrimSpace(text) + ".5")) {
				t.Fatalf("float %q refused", text)
			}
		}
		dense.appendText([]byte{byte('0' + r)})
	}
	for _, bad := range []string{"1.5", "x", "99999999999999999999"} {
		if ints.appendText([]byte(bad)) {
			t.Errorf("int column took %q", bad)
		}
	}
	if floats.appendText([]byte("1e999x")) {
		t.Error("float column took 1e999x")
	}
	for round := range 2 { // columns are reused after a batch
		cols := buildNumColumns(mem, []*numColumn{ints, floats, dense}, 5)
		if round == 0 {
			i := cols[0].(*array.Int64)
			f := cols[1].(*array.Float64)
			d := cols[2].(*array.Float64)
			if i.NullN() != 1 || !i.IsNull(2) || i.Value(0) != 7 || i.Value(1) != -3 || i.Value(3) != 9223372036854775807 || i.Value(4) != 12 {
				t.Errorf("ints: %v", i)
			}
			if f.NullN() != 1 || !f.IsNull(2) || f.Value(0) != 7.5 || f.Value(1) != -3.5 {
				t.Errorf("floats: %v", f)
			}
			if d.NullN() != 0 || d.NullBitmapBytes() != nil || d.Value(4) != 4 {
				t.Errorf("dense: %v (bitmap %v)", d, d.NullBitmapBytes())
			}
			// The columns share one buffer at offsets: what consumers do
			// with them (concatenate, slice) must see each column's own.
			empty := array.NewSlice(d, 2, 2)
			cat, err := array.Concatenate([]arrow.Array{f, empty, f}, mem)
			empty.Release()
			if err != nil {
				t.Fatal(err)
			}
			if got := cat.String(); got != "[7.5 -3.5 (null) 9.223372036854776e+18 12.5 7.5 -3.5 (null) 9.223372036854776e+18 12.5]" {
				t.Errorf("floats concatenated: %s", got)
			}
			cat.Release()
			sl := array.NewSlice(i, 1, 4)
			if got := sl.String(); got != "[-3 (null) 9223372036854775807]" {
				t.Errorf("ints sliced: %s", got)
			}
			sl.Release()
			// Release in an order other than allocation: the shared
			// buffer goes with the last array.
			cols[1].Release()
			cols[0].Release()
			cols[2].Release()
			if ints.len() != 0 || floats.len() != 0 || dense.len() != 0 {
				t.Fatal("columns not reset after a batch")
			}
			for _, c := range []*numColumn{ints, floats, dense} {
				for range 5 {
					c.appendNull()
				}
			}
			continue
		}
		for _, c := range cols {
			if c.NullN() != 5 || c.Len() != 5 {
				t.Errorf("second batch: %v", c)
			}
			c.Release()
		}
	}
}

// BenchmarkJSONLOneRowBatches reads a JSON-lines file of 33 numeric
// columns one row per batch, as the batching benchmark does.
func BenchmarkJSONLOneRowBatches(b *testing.B) {
	dir := b.TempDir()
	line := `{"id":1,"f0":0.1,"f1":0.2,"f2":0.3,"f3":0.4,"f4":0.5,"f5":0.6,"f6":0.7,"f7":0.8,"f8":0.9,"f9":1.0,"f10":1.1,"f11":1.2,"f12":1.3,"f13":1.4,"f14":1.5,"f15":1.6,"f16":1.7,"f17":1.8,"f18":1.9,"f19":2.0,"f20":2.1,"f21":2.2,"f22":2.3,"f23":2.4,"f24":2.5,"f25":2.6,"f26":2.7,"f27":2.8,"f28":2.9,"f29":3.0,"f30":3.1,"f31":3.2}` + "\n"
	path := filepath.Join(dir, "rows.jsonl")
	writeFile(b, path, strings.Repeat(line, 10000))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		s, err := NewJSONL(JSONLConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: 1, InferRows: 100}, nil)
		if err != nil {
			b.Fatal(err)
		}
		for {
			rec, err := s.Next(b.Context())
			if err != nil {
				break
			}
			rec.Release()
		}
		s.Close()
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10000), "ns/row")
}
