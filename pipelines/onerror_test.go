package pipelines_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/output"
	modelstage "github.com/pipe-ml/pipe/stages/model"
)

// TestModelDeadLetter runs embed.onnx (emb = table[ids], table[i][d] =
// 10i + d, ids in -10..9) through ONNX Runtime over JSON lines of which
// some hold ids out of range or null, with on_error: dead_letter: the
// runtime gives the model stage a rejecter, the stage bisects the batches
// ORT refuses, and the bad rows land in the dead-letter folder while every
// good row is scored, in order, across several work units.
func TestModelDeadLetter(t *testing.T) {
	stagetest.NeedORT(t)
	dir := t.TempDir()
	bad := map[int]string{3: "10", 40: "null", 41: "-11", 77: "1000", 150: "99"}
	var lines []string
	var wantKeys, wantBad []int64
	var wantEmb []float32
	for i := range 160 {
		id, isBad := bad[i]
		if !isBad {
			v := i%19 - 9
			id = fmt.Sprint(v)
			wantKeys = append(wantKeys, int64(i))
			row := v
			if row < 0 {
				row += 10
			}
			for d := range 3 {
				wantEmb = append(wantEmb, float32(10*row+d))
			}
		} else {
			wantBad = append(wantBad, int64(i))
		}
		lines = append(lines, fmt.Sprintf(`{"key": %d, "ids": %s}`, i, id))
	}
	// Two files: two work units, so the stage is built twice and its
	// reports are merged.
	for i, part := range [][]string{lines[:100], lines[100:]} {
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("in%d.jsonl", i)), []byte(strings.Join(part, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	model, err := filepath.Abs("../testdata/models/embed.onnx")
	if err != nil {
		t.Fatal(err)
	}
	job := fmt.Sprintf(`version: 1
name: dead-letter
stages:
  - id: read
    type: jsonl_source
    with: {paths: [in0.jsonl, in1.jsonl], batch_rows: 16}
  - id: embed
    type: model
    inputs: [read]
    on_error: dead_letter
    dead_letter: bad
    max_errors: 5
    with:
      model: %s
      inputs: {ids: ids}
      outputs: {emb: emb}
      batch: {max_rows: 32}
      instances: 2
  - id: write
    type: parquet_sink
    inputs: [embed]
    with: {path: out}
`, model)
	rep := mustRun(t, buildText(t, dir, job))
	if got := rep.Stages[1].RejectedRows; got != int64(len(bad)) {
		t.Errorf("rejected %d rows, want %d", got, len(bad))
	}
	if rep.Units == nil || rep.Units.Total != 2 {
		t.Errorf("units %+v, want 2", rep.Units)
	}
	if d, ok := rep.Stages[1].Details.(*modelstage.Report); !ok || d.RejectedRows != int64(len(bad)) || d.Batches < 2 {
		t.Errorf("model report %+v: want both units' figures (%d rejected rows)", rep.Stages[1].Details, len(bad))
	}
	if l := rep.Stages[1].Latency; l == nil || l.Count < 2 {
		t.Errorf("batch latency %+v: want both units' batches", l)
	}
	keys, emb := readScored(t, filepath.Join(dir, "out"))
	if !slices.Equal(keys, wantKeys) {
		t.Fatalf("scored keys %v\nwant %v", keys, wantKeys)
	}
	if !slices.Equal(emb, wantEmb) {
		t.Fatalf("embeddings differ from the table lookup")
	}
	badKeys, _ := readScored(t, filepath.Join(dir, "bad"))
	if !slices.Equal(badKeys, wantBad) {
		t.Fatalf("dead-letter keys %v, want %v", badKeys, wantBad)
	}

	t.Run("budget", func(t *testing.T) {
		out := t.TempDir()
		text := strings.Replace(strings.Replace(job, "max_errors: 5", "max_errors: 4", 1), "[in0.jsonl, in1.jsonl]", "["+filepath.Join(dir, "in0.jsonl")+", "+filepath.Join(dir, "in1.jsonl")+"]", 1)
		if _, err := buildText(t, out, text).Run(context.Background()); err == nil || !strings.Contains(err.Error(), "max_errors is 4") {
			t.Fatalf("Run with 5 bad rows and max_errors 4 = %v", err)
		}
		if _, err := os.Stat(filepath.Join(out, "out", "_SUCCESS")); err == nil {
			t.Fatal("_SUCCESS after the budget was spent")
		}
	})
}

// readScored reads the key column, and the emb column when present, of a
// complete output folder.
func readScored(t *testing.T, dir string) (keys []int64, emb []float32) {
	t.Helper()
	eachChunk(t, dir, func(column string, c arrow.Array) {
		switch column {
		case "key":
			keys = append(keys, c.(*array.Int64).Int64Values()...)
		case "emb":
			l := c.(*array.FixedSizeList)
			vals := l.ListValues().(*array.Float32).Float32Values()
			emb = append(emb, vals[l.Offset()*3:(l.Offset()+l.Len())*3]...)
		}
	})
	return keys, emb
}

// eachChunk checks that dir holds complete output and calls fn with every
// chunk of every column of its files, in manifest order.
func eachChunk(t *testing.T, dir string, fn func(column string, chunk arrow.Array)) {
	t.Helper()
	m, err := output.VerifyOutput(t.Context(), output.Local(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range m.Files {
		r, err := file.OpenParquetFile(filepath.Join(dir, f.Name), false)
		if err != nil {
			t.Fatal(err)
		}
		fr, err := pqarrow.NewFileReader(r, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := fr.ReadTable(context.Background())
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		for i, fld := range tbl.Schema().Fields() {
			for _, c := range tbl.Column(i).Data().Chunks() {
				fn(fld.Name, c)
			}
		}
		tbl.Release()
	}
}

// TestSourceDeadLetter sets aside the lines of CSV and JSON-lines files
// that do not decode: the good rows are written in order, each bad line
// goes to the dead-letter folder with its file, line, text and error.
func TestSourceDeadLetter(t *testing.T) {
	tests := []struct {
		name, file, text, typ string
		wantKeys              []int64
		wantLines             []int64
		wantErrs              []string
	}{
		{
			name: "csv", file: "in.csv", typ: "csv_source",
			text:      "key,v\n1,0.5\n2,abc\n3,1.5\n4,2.5,extra\n5,3.5\n",
			wantKeys:  []int64{1, 3, 5},
			wantLines: []int64{3, 5},
			wantErrs:  []string{`"abc"`, "wrong number of fields"},
		},
		{
			name: "jsonl", file: "in.jsonl", typ: "jsonl_source",
			text:      "{\"key\": 1, \"v\": 0.5}\n{\"key\": 2, \"v\": \"abc\"}\n{\"key\": 3, \"v\": 1.5}\nnot json\n\n{\"key\": 5, \"v\": 3.5}\n",
			wantKeys:  []int64{1, 3, 5},
			wantLines: []int64{2, 4},
			wantErrs:  []string{`cannot parse`, "line 4"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.text), 0o644); err != nil {
				t.Fatal(err)
			}
			job := fmt.Sprintf(`version: 1
name: source-dead-letter
stages:
  - id: read
    type: %s
    on_error: dead_letter
    dead_letter: bad
    with: {paths: [%s], batch_rows: 2, schema: [{name: key, type: int64}, {name: v, type: float64}]}
  - id: write
    type: parquet_sink
    inputs: [read]
    with: {path: out}
`, tc.typ, tc.file)
			rep := mustRun(t, buildText(t, dir, job))
			if keys, _ := readScored(t, filepath.Join(dir, "out")); !slices.Equal(keys, tc.wantKeys) {
				t.Fatalf("rows written %v, want %v", keys, tc.wantKeys)
			}
			if got := rep.Stages[0].RejectedRows; got != int64(len(tc.wantLines)) {
				t.Errorf("rejected %d rows, want %d", got, len(tc.wantLines))
			}
			lines, texts, errs := readDeadLetters(t, filepath.Join(dir, "bad"))
			if !slices.Equal(lines, tc.wantLines) {
				t.Fatalf("dead-letter lines %v, want %v", lines, tc.wantLines)
			}
			for i, e := range errs {
				if !strings.Contains(e, tc.wantErrs[i]) || !strings.Contains(e, tc.file) || texts[i] == "" {
					t.Errorf("dead letter %d: text %q, error %q; want the file name and %q", i, texts[i], e, tc.wantErrs[i])
				}
			}
		})
	}
}

// readDeadLetters reads the line, text and error columns of a complete
// dead-letter folder of a source.
func readDeadLetters(t *testing.T, dir string) (lines []int64, texts, errs []string) {
	t.Helper()
	eachChunk(t, dir, func(column string, c arrow.Array) {
		switch column {
		case "_pipe_line":
			lines = append(lines, c.(*array.Int64).Int64Values()...)
		case "_pipe_raw":
			for k := range c.Len() {
				texts = append(texts, c.(*array.String).Value(k))
			}
		case "_pipe_error":
			for k := range c.Len() {
				errs = append(errs, c.(*array.String).Value(k))
			}
		}
	})
	return lines, texts, errs
}
