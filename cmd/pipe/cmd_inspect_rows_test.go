package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// TestCellText checks how --head renders values: nulls, long text cut
// with an ellipsis, control characters escaped, binary as its size, long
// lists as their first items and length, short lists whole.
func TestCellText(t *testing.T) {
	mem := stagetest.Mem(t)
	sb := array.NewStringBuilder(mem)
	defer sb.Release()
	sb.AppendNull()
	sb.Append(strings.Repeat("é", 50))
	sb.Append("a\tb\nc")
	strs := sb.NewArray()
	defer strs.Release()

	bb := array.NewBinaryBuilder(mem, arrow.BinaryTypes.Binary)
	defer bb.Release()
	bb.Append(make([]byte, 1229))
	bb.Append(make([]byte, 12))
	bins := bb.NewArray()
	defer bins.Release()

	lb := array.NewFixedSizeListBuilder(mem, 512, arrow.PrimitiveTypes.Float32)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.Float32Builder)
	lb.Append(true)
	for i := range 512 {
		vb.Append(float32(i+1) / 10)
	}
	vecs := lb.NewArray()
	defer vecs.Release()

	sl := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int64)
	defer sl.Release()
	sl.Append(true)
	sl.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{7, 8}, nil)
	lists := sl.NewArray()
	defer lists.Release()

	tests := []struct {
		name string
		a    arrow.Array
		i    int
		want string
	}{
		{"null", strs, 0, "null"},
		{"long text", strs, 1, strings.Repeat("é", 39) + "…"},
		{"control characters", strs, 2, `a\tb\nc`},
		{"binary KiB", bins, 0, "<binary 1.2 KiB>"},
		{"binary bytes", bins, 1, "<binary 12 B>"},
		{"long list", vecs, 0, "[0.1, 0.2, … 512 items]"},
		{"short list", lists, 0, "[7, 8]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := cellText(tc.a, tc.i); got != tc.want {
				t.Errorf("cellText = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestHeadAndStatsOfFiles reads the head and stats of one table written as
// CSV, JSON lines and Arrow IPC: the same rows and the same figures,
// computed by reading, with the batches released (checked allocator).
func TestHeadAndStatsOfFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	files := map[string]string{
		"csv":   write("t.csv", "id,s\n3,b\n1,\n2,a\n"),
		"jsonl": write("t.jsonl", `{"id":3,"s":"b"}`+"\n"+`{"id":1,"s":null}`+"\n"+`{"id":2,"s":"a"}`+"\n"),
		"ipc":   writeIPC(t, filepath.Join(dir, "t.arrow")),
	}
	for format, path := range files {
		t.Run(format, func(t *testing.T) {
			mem := stagetest.Mem(t)
			var b bytes.Buffer
			if err := writeHead(t.Context(), &b, mem, []string{path}, 2); err != nil {
				t.Fatal(err)
			}
			if want := "id  s\n3   b\n1   null\n(2 rows shown)\n"; b.String() != want {
				t.Errorf("head:\n%s\nwant:\n%s", b.String(), want)
			}
			b.Reset()
			if err := writeStats(t.Context(), &b, mem, []string{path}); err != nil {
				t.Fatal(err)
			}
			want := "stats (computed):\n  column  nulls  min  max\n  id          0  1    3\n  s           1  a    b\n"
			if b.String() != want {
				t.Errorf("stats:\n%s\nwant:\n%s", b.String(), want)
			}
		})
	}
}

// writeIPC writes the test's table as an Arrow IPC file.
func writeIPC(t *testing.T, path string) string {
	t.Helper()
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64, Nullable: true}, {Name: "s", Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{3, 1, 2}, nil)
	b.Field(1).(*array.StringBuilder).AppendValues([]string{"b", "", "a"}, []bool{true, false, true})
	rec := b.NewRecordBatch()
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema), ipc.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}
