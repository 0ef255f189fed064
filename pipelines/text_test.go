package pipelines_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/internal/onnxref"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/tokenizer"
)

// needTokenizers returns the folder scripts/install-tokenizers.sh filled;
// without it the test fails saying how to install them, unless
// PIPE_TEST_NO_TOKENIZERS=1, when it skips saying so.
func needTokenizers(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PIPE_TOKENIZERS_DIR")
	if _, err := os.Stat(filepath.Join(dir, "bert", "vocab.txt")); err == nil && dir != "" {
		return dir
	}
	if os.Getenv("PIPE_TEST_NO_TOKENIZERS") == "1" {
		t.Skip("SKIPPED: tokenizer files missing and PIPE_TEST_NO_TOKENIZERS=1")
	}
	t.Fatal("the tokenizer files are missing: run `export PIPE_TOKENIZERS_DIR=$(scripts/install-tokenizers.sh)` (make test does), or set PIPE_TEST_NO_TOKENIZERS=1")
	return ""
}

// encodeRef returns the reference inputs of one text: the tokenizer
// package's encoding (itself checked token for token against Hugging
// Face's) as onnxref tensors.
func encodeRef(t *testing.T, tok *tokenizer.Tokenizer, text string, maxLen int) (map[string]onnxref.Tensor, int) {
	t.Helper()
	enc, err := tok.Encode(text, tokenizer.Options{Truncation: tokenizer.Truncation{MaxLength: maxLen}})
	if err != nil {
		t.Fatal(err)
	}
	n := int64(len(enc.IDs))
	wide := func(v []int32) []int64 {
		out := make([]int64, len(v))
		for i, x := range v {
			out[i] = int64(x)
		}
		return out
	}
	return map[string]onnxref.Tensor{
		"input_ids":      {Shape: []int64{1, n}, I64: wide(enc.IDs)},
		"attention_mask": {Shape: []int64{1, n}, I64: wide(enc.Mask)},
		"token_type_ids": {Shape: []int64{1, n}, I64: wide(enc.TypeIDs)},
	}, int(n)
}

func texts(chunks []arrow.Array) []string {
	var out []string
	for _, c := range chunks {
		s := c.(*array.String)
		for i := range s.Len() {
			out = append(out, s.Value(i))
		}
	}
	return out
}

// TestEmbedTextJob runs pipelines/embed-text.yaml and checks every
// review's embedding against the reference: the text tokenized by the
// tokenizer package, the encoder run by onnxref on that row alone,
// mean-pooled and normalised.
func TestEmbedTextJob(t *testing.T) {
	stagetest.NeedORT(t)
	dir := needTokenizers(t)
	out := t.TempDir()
	runJob(t, "embed-text.yaml", map[string]string{"PIPE_TOKENIZERS_DIR": dir, "OUT": out})
	cols := readDir(t, out)
	rows, emb := texts(cols["text"]), floats(cols["embedding"])
	if len(rows) != 40 || len(emb) != 40*32 {
		t.Fatalf("%d texts, %d embedding values; want 40 rows", len(rows), len(emb))
	}
	vocab, err := os.Open(filepath.Join(dir, "bert", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer vocab.Close()
	tok, err := tokenizer.FromVocab(vocab, tokenizer.VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ids := ints(cols["id"])
	for r, text := range rows {
		if ids[r] != int64(r) {
			t.Fatalf("row %d has id %d: order lost", r, ids[r])
		}
		in, n := encodeRef(t, tok, text, 128)
		states := ref(t, "encoder.onnx", in)["last_hidden_state"].F32
		want := make([]float64, 32)
		var norm float64
		for d := range want {
			for p := range n {
				want[d] += float64(states[p*32+d]) / float64(n)
			}
			norm += want[d] * want[d]
		}
		for d := range want {
			if got := float64(emb[r*32+d]); math.Abs(got-want[d]/math.Sqrt(norm)) > 2e-5 {
				t.Fatalf("row %d %q dim %d: %v, reference %v", r, text, d, got, want[d]/math.Sqrt(norm))
			}
		}
	}
}

// TestClassifyTextJob runs pipelines/classify-text.yaml and checks each
// ticket's two labels and scores against the reference logits.
func TestClassifyTextJob(t *testing.T) {
	stagetest.NeedORT(t)
	dir := needTokenizers(t)
	out := t.TempDir()
	runJob(t, "classify-text.yaml", map[string]string{"PIPE_TOKENIZERS_DIR": dir, "OUT": out})
	cols := readDir(t, out)
	tickets := texts(cols["text"])
	vocab, err := os.ReadFile(filepath.Join(dir, "bert", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromVocab(bytes.NewReader(vocab), tokenizer.VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	names := []string{"negative", "neutral", "positive"}
	var labels []string
	var scores []float32
	for _, c := range cols["sentiment"] {
		l := c.(*array.List)
		labels = append(labels, texts([]arrow.Array{l.ListValues()})...)
	}
	for _, c := range cols["sentiment_score"] {
		scores = append(scores, c.(*array.List).ListValues().(*array.Float32).Float32Values()...)
	}
	if len(tickets) != 24 || len(labels) != 48 || len(scores) != 48 {
		t.Fatalf("%d texts, %d labels, %d scores; want 24 rows of 2", len(tickets), len(labels), len(scores))
	}
	for r, text := range tickets {
		in, _ := encodeRef(t, tok, text, 64)
		logits := ref(t, "text_classifier.onnx", in)["logits"].F32
		probs := make([]float64, 3)
		var sum float64
		for i, v := range logits {
			probs[i] = math.Exp(float64(v))
			sum += probs[i]
		}
		order := []int{0, 1, 2}
		slices.SortStableFunc(order, func(a, b int) int {
			if probs[a] > probs[b] {
				return -1
			} else if probs[a] < probs[b] {
				return 1
			}
			return 0
		})
		for k := range 2 {
			c := order[k]
			if labels[2*r+k] != names[c] || math.Abs(float64(scores[2*r+k])-probs[c]/sum) > 1e-5 {
				t.Fatalf("ticket %d top %d: %s %v, reference %s %v", r, k+1, labels[2*r+k], scores[2*r+k], names[c], probs[c]/sum)
			}
		}
	}
}

// textInput writes the first n lines of the tokenizer corpus (JSON
// strings) as {"id", "text"} JSON lines into dir and returns the file.
func textInput(t *testing.T, dir string, n int) string {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "tokenizer", "testdata", "corpus.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 1<<20)
	for i := 0; i < n && sc.Scan(); i++ {
		fmt.Fprintf(&b, "{\"id\":%d,\"text\":%s}\n", i, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "text.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestTextBenchAgree: the text benchmark's two batchings (arrival-order
// batches padded to their longest row, and length-sorted windows cut by
// max_tokens) give every row the same embedding, in the same order.
func TestTextBenchAgree(t *testing.T) {
	stagetest.NeedORT(t)
	dir := needTokenizers(t)
	in := textInput(t, t.TempDir(), 600)
	outs := [2]string{t.TempDir(), t.TempDir()}
	runJob(t, "bench/embed-text.yaml", map[string]string{"PIPE_TOKENIZERS_DIR": dir, "IN": in, "OUT": outs[0]})
	runJob(t, "bench/embed-text.yaml", map[string]string{"PIPE_TOKENIZERS_DIR": dir, "IN": in, "OUT": outs[1],
		"BUCKET": "true", "MAX_ROWS": "256", "MAX_TOKENS": "4096"})
	a, b := readDir(t, outs[0]), readDir(t, outs[1])
	if ia, ib := ints(a["id"]), ints(b["id"]); len(ia) != 600 || !slices.Equal(ia, ib) {
		t.Fatalf("ids differ: %d and %d rows", len(ia), len(ib))
	}
	close32(t, "embedding", floats(b["embedding"]), floats(a["embedding"]))
}

// TestTokenizeDeadLetter: null and empty texts go to the tokenize
// stage's dead-letter folder with an error naming the column and row; the
// other rows are embedded in order.
func TestTokenizeDeadLetter(t *testing.T) {
	stagetest.NeedORT(t)
	dir := needTokenizers(t)
	tmp := t.TempDir()
	in := filepath.Join(tmp, "in.jsonl")
	lines := `{"id":0,"text":"good"}` + "\n" + `{"id":1,"text":null}` + "\n" + `{"id":2,"text":"fine too"}` + "\n" + `{"id":3,"text":""}` + "\n" + `{"id":4,"text":"last"}` + "\n"
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out, dlq := filepath.Join(tmp, "out"), filepath.Join(tmp, "dlq")
	job := fmt.Sprintf(`version: 1
stages:
  - {id: docs, type: jsonl_source, with: {paths: [%q]}}
  - id: tok
    type: tokenize
    inputs: [docs]
    on_error: dead_letter
    dead_letter: %q
    with: {tokenizer: %q, column: text}
  - id: embed
    type: model
    inputs: [tok]
    with:
      model: %q
      inputs: {input_ids: input_ids, attention_mask: attention_mask, token_type_ids: token_type_ids}
      outputs: {last_hidden_state: {column: embedding, pool: mean}}
      keep: [id]
  - {id: write, type: parquet_sink, inputs: [embed], with: {path: %q}}
`, in, dlq, filepath.Join(dir, "bert", "vocab.txt"), filepath.Join("..", "testdata", "models", "encoder.onnx"), out)
	mustRun(t, buildText(t, ".", job))
	if ids := ints(readDir(t, out)["id"]); !slices.Equal(ids, []int64{0, 2, 4}) {
		t.Errorf("embedded ids %v, want [0 2 4]", ids)
	}
	bad := readDir(t, dlq)
	errs := texts(bad["_pipe_error"])
	if ids := ints(bad["id"]); !slices.Equal(ids, []int64{1, 3}) || len(errs) != 2 ||
		!strings.Contains(errs[0], `column "text", row 1: null text`) || !strings.Contains(errs[1], `row 3: empty text`) {
		t.Errorf("dead letters %v: %q", ints(bad["id"]), errs)
	}
}
