package source

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/compute"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// csvFilterRow is row i of the CSV that TestCSVStringsFilter reads: a
// short string on most rows, a long one on the rows the filter keeps, a
// null every 7th row.
func csvFilterRow(i int) (s string, null, keep bool) {
	switch {
	case i%7 == 0:
		return "", true, false
	case i%3 == 0:
		return fmt.Sprintf("a longer value - row number %d - kept by the filter", i), false, true
	}
	return fmt.Sprintf("r%d", i), false, false
}

// TestCSVStringsFilter: a 100k-row CSV with a string column, read through
// the pool allocator pipelines use, gives batches whose every column passes
// ValidateFull, and arrow's filter kernel (what the filter stage runs) over
// them keeps exactly the rows an independent computation keeps. The kernel
// once panicked on such batches ("slice bounds out of range" in
// VarBinaryImpl) when the pool handed out buffers longer in capacity than
// in length.
func TestCSVStringsFilter(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	const n = 100_000
	var b strings.Builder
	b.WriteString("id,s\n")
	var want []string
	for i := range n {
		s, _, keep := csvFilterRow(i)
		fmt.Fprintf(&b, "%d,%s\n", i, s)
		if keep {
			want = append(want, fmt.Sprintf("%d:%s", i, s))
		}
	}
	writeFile(t, filepath.Join(dir, "a.csv"), b.String())
	src, err := build(t, mem, "csv_source", `{paths: [a.csv]}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	rows := 0
	for bi, rec := range recs {
		for c, col := range rec.Columns() {
			if err := array.ValidateFull(col); err != nil {
				t.Fatalf("batch %d column %d: %v", bi, c, err)
			}
		}
		ids := rec.Column(0).(*array.Int64)
		mb := array.NewBooleanBuilder(mem)
		for r := range int(rec.NumRows()) {
			_, _, keep := csvFilterRow(int(ids.Value(r)))
			mb.Append(keep)
		}
		mask := mb.NewArray()
		mb.Release()
		ctx := compute.WithAllocator(context.Background(), mem)
		out, err := compute.FilterRecordBatch(ctx, rec, mask, compute.DefaultFilterOptions())
		mask.Release()
		if err != nil {
			t.Fatal(err)
		}
		for c, col := range out.Columns() {
			if err := array.ValidateFull(col); err != nil {
				t.Fatalf("filtered batch %d column %d: %v", bi, c, err)
			}
		}
		oid, os := out.Column(0).(*array.Int64), out.Column(1).(*array.String)
		for r := range int(out.NumRows()) {
			got = append(got, fmt.Sprintf("%d:%s", oid.Value(r), os.Value(r)))
		}
		out.Release()
		rows += int(rec.NumRows())
	}
	if rows != n {
		t.Fatalf("read %d rows, want %d", rows, n)
	}
	if len(got) != len(want) {
		t.Fatalf("filter kept %d rows, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("kept row %d is %q, want %q", i, got[i], want[i])
		}
	}
}

// rejectLog records what a source sets aside (on_error).
type rejectLog struct {
	mu   sync.Mutex
	errs []error
}

func (r *rejectLog) Reject(_ context.Context, rec arrow.RecordBatch, err error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
	return nil
}

// TestTextInvalidUTF8: a CSV or JSON-lines value, CSV header name or JSON
// key that is not valid UTF-8 is refused with an error naming the file,
// line and column (never copied into a string column), and a value goes
// through on_error like any other bad value, the other rows kept.
func TestTextInvalidUTF8(t *testing.T) {
	dir := t.TempDir()
	bad := "a\xffb"
	writeFile(t, filepath.Join(dir, "value.csv"), "id,s\n1,ok\n2,"+bad+"\n3,fine\n")
	writeFile(t, filepath.Join(dir, "header.csv"), "id,"+bad+"\n1,x\n")
	writeFile(t, filepath.Join(dir, "value.jsonl"), `{"id": 1, "s": "ok"}`+"\n"+`{"id": 2, "s": "`+bad+`"}`+"\n"+`{"id": 3, "s": "fine"}`+"\n")
	writeFile(t, filepath.Join(dir, "nested.jsonl"), `{"id": 1, "s": {"k": 1}}`+"\n"+`{"id": 2, "s": {"k": "`+bad+`"}}`+"\n"+`{"id": 3, "s": [1]}`+"\n")
	writeFile(t, filepath.Join(dir, "key.jsonl"), `{"id": 1}`+"\n"+`{"`+bad+`": 2}`+"\n")
	for _, tc := range []struct {
		name, typ, with string
		err             string
		rejectable      bool
	}{
		{"csv value", "csv_source", `{paths: [value.csv]}`, `value.csv: line 3: column "s": value "a\xffb" is not valid UTF-8`, true},
		{"csv header", "csv_source", `{paths: [header.csv]}`, `header.csv: line 1: header: name of column 1 "a\xffb" is not valid UTF-8`, false},
		{"jsonl value", "jsonl_source", `{paths: [value.jsonl]}`, `value.jsonl: line 2: column "s": value "\"a\xffb\"" is not valid UTF-8`, true},
		{"jsonl nested value", "jsonl_source", `{paths: [nested.jsonl]}`, `nested.jsonl: line 2: column "s": value "{\"k\": \"a\xffb\"}" is not valid UTF-8`, true},
		{"jsonl key", "jsonl_source", `{paths: [key.jsonl]}`, `key.jsonl: line 2: key "a\xffb" is not valid UTF-8`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			src, err := build(t, mem, tc.typ, tc.with, dir)
			if err == nil {
				_, err = drain(t, src, 0)
			}
			wantErr(t, err, tc.err)
			if !errors.Is(err, ErrInvalidUTF8) {
				t.Fatalf("error %v does not wrap ErrInvalidUTF8", err)
			}
			if !tc.rejectable {
				return
			}
			src, err = build(t, mem, tc.typ, tc.with, dir)
			if err != nil {
				t.Fatal(err)
			}
			log := &rejectLog{}
			src.(stages.RejecterTaker).SetRejecter(log)
			recs, err := drainRecs(t, src)
			if err != nil {
				t.Fatal(err)
			}
			if ids := strings.Join(colValues(recs, 0), ","); ids != "1,3" {
				t.Errorf("kept ids %s, want 1,3", ids)
			}
			if len(log.errs) != 1 || !errors.Is(log.errs[0], ErrInvalidUTF8) {
				t.Errorf("set aside %v, want one invalid UTF-8 error", log.errs)
			}
		})
	}
}

// TestTextLimits: a CSV record or JSON line above its limit fails at once
// with an error naming the file, the line, the limit and the setting; one
// at the limit is read.
func TestTextLimits(t *testing.T) {
	dir := t.TempDir()
	long := strings.Repeat("x", 1000)
	writeFile(t, filepath.Join(dir, "a.csv"), "id,s\n1,short\n2,\""+long+"\n"+long+"\"\n3,x\n")
	writeFile(t, filepath.Join(dir, "a.jsonl"), `{"id": 1}`+"\n"+`{"id": 2, "s": "`+long+`"}`+"\n")
	for _, tc := range []struct {
		name, typ, with, err string
	}{
		{"csv record", "csv_source", `{paths: [a.csv], schema: [{name: id, type: int64}, {name: s, type: string}], max_record_bytes: 1000}`,
			"a.csv: line 3: exceeds a safety limit: record of 2006 bytes, more than 1000 (raise max_record_bytes to read it)"},
		{"csv record inferred", "csv_source", `{paths: [a.csv], max_record_bytes: 1000}`,
			"a.csv: line 3: exceeds a safety limit: record of 2006 bytes, more than 1000 (raise max_record_bytes"},
		{"csv record at the limit", "csv_source", `{paths: [a.csv], max_record_bytes: 2006}`, ""},
		{"jsonl line", "jsonl_source", `{paths: [a.jsonl], schema: [{name: id, type: int64}], max_line_bytes: 1000}`,
			"a.jsonl: line 2: exceeds a safety limit: line of more than 1000 (raise max_line_bytes to read it)"},
		{"jsonl line inferred", "jsonl_source", `{paths: [a.jsonl], max_line_bytes: 1000}`,
			"a.jsonl: line 2: exceeds a safety limit: line of more than 1000 (raise max_line_bytes"},
		{"jsonl line at the limit", "jsonl_source", `{paths: [a.jsonl], max_line_bytes: 1018}`, ""},
		{"bad setting", "jsonl_source", `{paths: [a.jsonl], max_line_bytes: 2GiB}`, "max_line_bytes must be from 1 to 1GiB"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			src, err := build(t, mem, tc.typ, tc.with, dir)
			if err == nil {
				_, err = drain(t, src, 0)
			}
			wantErr(t, err, tc.err)
			if tc.err != "" && !errors.Is(err, ErrLimit) && !strings.Contains(tc.name, "setting") {
				t.Errorf("error %v does not wrap ErrLimit", err)
			}
		})
	}
}

// TestBatchBytes: with a wide schema, text and generate sources emit
// batches of at most about batch_bytes (their rows times the columns'
// widths), still every row in order; a generated row above batch_bytes is
// an error.
func TestBatchBytes(t *testing.T) {
	dir := t.TempDir()
	const keys, lines = 300, 1000
	var b strings.Builder
	var hdr, row strings.Builder
	hdr.WriteString("k0")
	for k := 1; k < keys; k++ {
		fmt.Fprintf(&hdr, ",k%d", k)
	}
	b.WriteString("{")
	for k := range keys {
		if k > 0 {
			b.WriteString(", ")
			row.WriteString(",")
		}
		fmt.Fprintf(&b, `"k%d": %d`, k, k)
		fmt.Fprintf(&row, "%d", k)
	}
	b.WriteString("}\n")
	b.WriteString(strings.Repeat("{}\n", lines-1))
	writeFile(t, filepath.Join(dir, "wide.jsonl"), b.String())
	writeFile(t, filepath.Join(dir, "wide.csv"), hdr.String()+"\n"+strings.Repeat(row.String()+"\n", lines))
	var gen strings.Builder
	gen.WriteString("{count: 1000, batch_bytes: 64KiB, columns: [")
	for k := range keys {
		fmt.Fprintf(&gen, "{name: c%d, type: float64},", k)
	}
	gen.WriteString("]}")
	const budget = 64 << 10
	for _, tc := range []struct{ name, typ, with string }{
		{"jsonl", "jsonl_source", `{paths: [wide.jsonl], batch_bytes: 64KiB}`},
		{"csv", "csv_source", `{paths: [wide.csv], batch_bytes: 64KiB}`},
		{"generate", "generate", gen.String()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			src, err := build(t, mem, tc.typ, tc.with, dir)
			if err != nil {
				t.Fatal(err)
			}
			recs, err := drainRecs(t, src)
			if err != nil {
				t.Fatal(err)
			}
			total := 0
			for i, rec := range recs {
				// Independent of the estimate: 8 bytes per value.
				size := int(rec.NumRows()) * keys * 8
				if size > budget || (i < len(recs)-1 && rec.NumRows() < 2) {
					t.Fatalf("batch %d: %d rows, %d bytes of values; want more than 1 row and at most %d bytes", i, rec.NumRows(), size, budget)
				}
				total += int(rec.NumRows())
			}
			if total != lines || len(recs) < 2 {
				t.Fatalf("%d rows in %d batches, want %d rows in several", total, len(recs), lines)
			}
		})
	}
	mem := memory.NewGoAllocator()
	_, err := NewGenerate(GenerateConfig{Count: 1, BatchRows: 10, BatchBytes: 1 << 20,
		Columns: []GenColumn{{Name: "s", Type: "string", Length: 2 << 20}}}, mem)
	wantErr(t, err, "exceeds a safety limit: one generated row takes 2097156 bytes, more than batch_bytes (1MiB)")
}

// TestJSONLInferRepeatedKey: inference reads a key given twice on a line
// as the line is read, by its last value.
func TestJSONLInferRepeatedKey(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a.jsonl"), `{"a": "x", "b": 1, "a": 2}`+"\n"+`{"a": 3, "b": 1.5}`+"\n")
	src, err := build(t, mem, "jsonl_source", `{paths: [a.jsonl]}`, dir)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, f := range src.Schema().Fields() {
		types = append(types, f.Name+":"+f.Type.String())
	}
	if got := strings.Join(types, ","); got != "a:int64,b:float64" {
		t.Fatalf("schema %s, want a:int64,b:float64", got)
	}
	recs, err := drainRecs(t, src)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(colValues(recs, 0), ","); got != "2,3" {
		t.Fatalf("a = %s, want 2,3", got)
	}
}
