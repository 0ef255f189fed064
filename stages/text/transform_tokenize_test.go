package text

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/tokenizer"
)

const tinyVocab = "[PAD]\n[UNK]\n[CLS]\n[SEP]\nthe\ncat\nsat\n##s\non\nmat\n,\n.\n"

func textBatch(mem memory.Allocator, col string, rows []*string) arrow.RecordBatch {
	schema := arrow.NewSchema([]arrow.Field{{Name: col, Type: arrow.BinaryTypes.String, Nullable: true}}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	sb := b.Field(0).(*array.StringBuilder)
	for _, r := range rows {
		if r == nil {
			sb.AppendNull()
		} else {
			sb.Append(*r)
		}
	}
	return b.NewRecordBatch()
}

func strs(ss ...string) []*string {
	out := make([]*string, len(ss))
	for i := range ss {
		out[i] = &ss[i]
	}
	return out
}

func listRows(t *testing.T, a arrow.Array) [][]int64 {
	t.Helper()
	l := a.(*array.List)
	vals := l.ListValues().(*array.Int64)
	out := make([][]int64, l.Len())
	for i := range out {
		lo, hi := l.ValueOffsets(i)
		out[i] = slices.Clone(vals.Int64Values()[lo:hi])
	}
	return out
}

func widen(ids []int32) []int64 {
	out := make([]int64, len(ids))
	for i, v := range ids {
		out[i] = int64(v)
	}
	return out
}

// TestTokenizeColumns: each row's ids, mask and type ids are the
// tokenizer's encoding of its text, in row order across the chunks the
// batch is split into; num_tokens counts them; input_ids carries the pad
// id.
func TestTokenizeColumns(t *testing.T) {
	dir := t.TempDir()
	vocab := filepath.Join(dir, "vocab.txt")
	if err := os.WriteFile(vocab, []byte(tinyVocab), 0o644); err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromVocab(strings.NewReader(tinyVocab), tokenizer.VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	words := []string{"the cat sat", "Cats on the mat.", "the", "dog", "The mat, the cat sat on the mats."}
	var rows []string
	for i := range 2000 { // several chunks of 256+ rows
		rows = append(rows, words[i%len(words)])
	}
	mem := stagetest.Mem(t)
	for _, threads := range []int{1, 4} {
		in := textBatch(mem, "text", strs(rows...))
		s := stagetest.MustBuild(t, nil, mem, "tokenize", fmt.Sprintf("{tokenizer: vocab.txt, column: text, max_length: 8, threads: %d}", threads), dir, in.Schema())
		out, err := s.(stages.Transform).Process(context.Background(), in)
		in.Release()
		if err != nil {
			t.Fatal(err)
		}
		if pad, _ := out.Schema().Field(1).Metadata.GetValue("pipe.pad"); pad != "0" {
			t.Errorf("input_ids pad metadata %q, want 0", pad)
		}
		ids, mask, types := listRows(t, out.Column(1)), listRows(t, out.Column(2)), listRows(t, out.Column(3))
		counts := out.Column(4).(*array.Int32)
		for r, text := range rows {
			want, err := tok.Encode(text, tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: 8}})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(ids[r], widen(want.IDs)) || !slices.Equal(mask[r], widen(want.Mask)) ||
				!slices.Equal(types[r], widen(want.TypeIDs)) || int(counts.Value(r)) != len(want.IDs) {
				t.Fatalf("threads %d row %d %q: ids %v mask %v types %v n %d, want %+v", threads, r, text, ids[r], mask[r], types[r], counts.Value(r), want)
			}
		}
		out.Release()
	}
}

// TestTokenizeBadRows: a null, an empty and an invalid UTF-8 text are
// errors naming the column and the row, numbered across batches.
func TestTokenizeBadRows(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(tinyVocab), 0o644); err != nil {
		t.Fatal(err)
	}
	mem := stagetest.Mem(t)
	first := textBatch(mem, "text", strs("the cat", "sat"))
	defer first.Release()
	s := stagetest.MustBuild(t, nil, mem, "tokenize", "{tokenizer: vocab.txt, column: text}", dir, first.Schema()).(stages.Transform)
	out, err := s.Process(context.Background(), first)
	if err != nil {
		t.Fatal(err)
	}
	out.Release()
	bad := "the \xff cat"
	for _, tc := range []struct {
		rows []*string
		want error
		row  int64
	}{
		{[]*string{strs("the")[0], nil}, ErrNullText, 3},
		{strs("the", "cat", ""), ErrEmptyText, 4},
		{strs(bad), nil, 2},
	} {
		in := textBatch(mem, "text", tc.rows)
		_, err := s.Process(context.Background(), in)
		in.Release()
		var re *RowError
		if !errors.As(err, &re) || re.Column != "text" || re.Row != tc.row || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("rows %v: %v, want a RowError for row %d (%v)", tc.rows, err, tc.row, tc.want)
		}
	}
	var ie *tokenizer.InputError
	in := textBatch(mem, "text", strs(bad))
	defer in.Release()
	if _, err := s.Process(context.Background(), in); !errors.As(err, &ie) {
		t.Errorf("invalid UTF-8: %v, want the tokenizer's InputError", err)
	}
}

// TestTokenizeConfig: bad settings and columns are build errors naming
// them.
func TestTokenizeConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "vocab.txt"), []byte(tinyVocab), 0o644); err != nil {
		t.Fatal(err)
	}
	mem := stagetest.Mem(t)
	in := textBatch(mem, "text", strs("x"))
	defer in.Release()
	for with, want := range map[string]string{
		"{tokenizer: vocab.txt, column: txt}":                         `did you mean "text"`,
		"{tokenizer: vocab.txt, column: text, truncation: shortest}":  "truncation",
		"{tokenizer: vocab.txt, column: text, id_type: float32}":      "id_type",
		"{tokenizer: missing.json, column: text}":                     "tokenizer",
		"{tokenizer: vocab.txt, column: text, prefix: '', empty: no}": "empty",
	} {
		if _, err := stagetest.Build(t, nil, mem, "tokenize", with, dir, in.Schema()); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want an error containing %q", with, err, want)
		}
	}
}
