package tokenizer

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The reference tests compare every encoding with Hugging Face's own
// output, written by scripts/tokenizer-ref/gen.mjs into testdata/ref.

// The five installed files, then the variants of testdata/variants.json:
// installed files with components replaced, to cover components none of the
// five uses (GPT-2's ByteLevel split, RobertaProcessing, Metaspace, ...).
var referenceNames = []string{"bert", "llama3", "qwen3", "gemma3", "llama2",
	"gpt2-roberta", "llama2-metaspace-first", "llama2-metaspace-split", "bert-components", "bert-cased"}

type variant struct {
	Base string                     `json:"base"`
	Set  map[string]json.RawMessage `json:"set"`
}

// variantJSON returns the tokenizer.json of a variant, or "" for an
// installed file.
func variantJSON(t testing.TB, dir, name string) string {
	t.Helper()
	raw, err := os.ReadFile("testdata/variants.json")
	if err != nil {
		t.Fatal(err)
	}
	var variants map[string]variant
	if err := json.Unmarshal(raw, &variants); err != nil {
		t.Fatal(err)
	}
	v, ok := variants[name]
	if !ok {
		return ""
	}
	base, err := os.ReadFile(filepath.Join(dir, v.Base, "tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	var file map[string]json.RawMessage
	if err := json.Unmarshal(base, &file); err != nil {
		t.Fatal(err)
	}
	for k, val := range v.Set {
		file[k] = val
	}
	out, err := json.Marshal(file)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

const installHint = "the tokenizer files are missing: run `export PIPE_TOKENIZERS_DIR=$(scripts/install-tokenizers.sh)` " +
	"from the repository root (make test does this); set PIPE_TEST_NO_TOKENIZERS=1 to skip these tests"

// tokenizersDir returns the folder of installed tokenizer files; without
// one the test fails, or skips when PIPE_TEST_NO_TOKENIZERS=1.
func tokenizersDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PIPE_TOKENIZERS_DIR")
	if dir != "" {
		if _, err := os.Stat(filepath.Join(dir, "bert", "vocab.txt")); err == nil {
			return dir
		}
	}
	if os.Getenv("PIPE_TEST_NO_TOKENIZERS") == "1" {
		t.Skip("PIPE_TEST_NO_TOKENIZERS=1: " + installHint)
	}
	t.Fatalf("PIPE_TOKENIZERS_DIR=%q: %s", dir, installHint)
	return ""
}

var loaded sync.Map // path -> *Tokenizer

func loadReference(t testing.TB, name string) *Tokenizer {
	t.Helper()
	dir := tokenizersDir(t)
	path := filepath.Join(dir, name, "tokenizer.json")
	if tk, ok := loaded.Load(path); ok {
		return tk.(*Tokenizer)
	}
	var tk *Tokenizer
	var err error
	if js := variantJSON(t, dir, name); js != "" {
		tk, err = Load(strings.NewReader(js))
	} else {
		tk, err = LoadFile(path)
	}
	if err != nil {
		t.Fatal(err)
	}
	loaded.Store(path, tk)
	return tk
}

func readGzipLines(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	s := bufio.NewScanner(zr)
	s.Buffer(nil, 1<<24)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

var corpusOnce = sync.OnceValues(func() ([]string, error) {
	f, err := os.Open("testdata/corpus.jsonl.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	var texts []string
	dec := json.NewDecoder(zr)
	for dec.More() {
		var s string
		if err := dec.Decode(&s); err != nil {
			return nil, err
		}
		texts = append(texts, s)
	}
	return texts, nil
})

func corpus(t testing.TB) []string {
	t.Helper()
	texts, err := corpusOnce()
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) < 10000 {
		t.Fatalf("corpus has %d lines, want at least 10000", len(texts))
	}
	return texts
}

func parseInts(t testing.TB, s string) []int32 {
	t.Helper()
	var out []int32
	for _, f := range strings.Fields(s) {
		v, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("bad reference number %q", f)
		}
		out = append(out, int32(v))
	}
	return out
}

func sameInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checker counts mismatches and reports the first one in full.
type checker struct {
	t        *testing.T
	what     string
	bad, all int
	first    string
}

func (c *checker) check(ok bool, detail func() string) {
	c.all++
	if !ok {
		c.bad++
		if c.first == "" {
			c.first = detail()
		}
	}
}

func (c *checker) report() {
	if c.bad > 0 {
		c.t.Errorf("%s: %d of %d differ from Hugging Face; first: %s", c.what, c.bad, c.all, c.first)
	} else {
		c.t.Logf("%s: all %d match", c.what, c.all)
	}
}

func TestReferenceSingle(t *testing.T) {
	texts := corpus(t)
	for _, name := range referenceNames {
		t.Run(name, func(t *testing.T) {
			tk := loadReference(t, name)
			want := readGzipLines(t, "testdata/ref/"+name+".single.txt.gz")
			if len(want) != len(texts) {
				t.Fatalf("reference has %d lines, corpus %d", len(want), len(texts))
			}
			c := checker{t: t, what: name + " single texts"}
			for i, text := range texts {
				got, err := tk.Encode(text, Options{})
				w := parseInts(t, want[i])
				c.check(err == nil && sameInts(got.IDs, w) && len(got.Mask) == len(w) && len(got.TypeIDs) == len(w), func() string {
					return fmt.Sprintf("corpus line %d %q (err %v)\n got: %v\nwant: %v", i+1, clip(text), err, got.IDs, w)
				})
			}
			c.report()
		})
	}
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// splitRow parses "ids<TAB>type ids".
func splitRow(t testing.TB, row string) ([]int32, []int32) {
	ids, types, ok := strings.Cut(row, "\t")
	if !ok {
		t.Fatalf("reference row without type ids: %q", clip(row))
	}
	return parseInts(t, ids), parseInts(t, types)
}

func TestReferencePairs(t *testing.T) {
	texts := corpus(t)
	pairs := readGzipLines(t, "testdata/ref/pairs.txt.gz")
	for _, name := range referenceNames {
		t.Run(name, func(t *testing.T) {
			tk := loadReference(t, name)
			want := readGzipLines(t, "testdata/ref/"+name+".pair.txt.gz")
			c := checker{t: t, what: name + " pairs"}
			for j, p := range pairs {
				ab := parseInts(t, p)
				a, b := texts[ab[0]], texts[ab[1]]
				got, err := tk.EncodePair(a, b, Options{})
				ids, types := splitRow(t, want[j])
				c.check(err == nil && sameInts(got.IDs, ids) && sameInts(got.TypeIDs, types), func() string {
					return fmt.Sprintf("pair %d (lines %d, %d) (err %v)\n got: %v %v\nwant: %v %v", j+1, ab[0]+1, ab[1]+1, err, got.IDs, got.TypeIDs, ids, types)
				})
			}
			c.report()
		})
	}
}

func TestReferenceTruncation(t *testing.T) {
	texts := corpus(t)
	cases := readGzipLines(t, "testdata/ref/trunc.txt.gz")
	strategies := map[string]Strategy{"longest_first": LongestFirst, "only_first": OnlyFirst, "only_second": OnlySecond}
	for _, name := range referenceNames {
		t.Run(name, func(t *testing.T) {
			tk := loadReference(t, name)
			want := readGzipLines(t, "testdata/ref/"+name+".trunc.txt.gz")
			c := checker{t: t, what: name + " truncated"}
			for j, line := range cases {
				f := strings.Fields(line)
				a, _ := strconv.Atoi(f[0])
				b, _ := strconv.Atoi(f[1])
				maxLen, _ := strconv.Atoi(f[2])
				side := Right
				if f[4] == "left" {
					side = Left
				}
				opts := Options{Truncation: Truncation{MaxLength: maxLen, Strategy: strategies[f[3]], Side: side}}
				var got Encoding
				var err error
				if b < 0 {
					got, err = tk.Encode(texts[a], opts)
				} else {
					got, err = tk.EncodePair(texts[a], texts[b], opts)
				}
				if strings.HasPrefix(want[j], "ERR") {
					c.check(err != nil, func() string {
						return fmt.Sprintf("case %d %q: want an error (%s), got %v", j+1, line, want[j], got.IDs)
					})
					continue
				}
				ids, types := splitRow(t, want[j])
				c.check(err == nil && sameInts(got.IDs, ids) && sameInts(got.TypeIDs, types), func() string {
					return fmt.Sprintf("case %d %q (err %v)\n got: %v %v\nwant: %v %v", j+1, line, err, got.IDs, got.TypeIDs, ids, types)
				})
			}
			c.report()
		})
	}
}

// TestReferenceDeclarations checks what each file declares: vocabulary
// size, pad token, and the ids of the empty text (the template's special
// tokens alone).
func TestReferenceDeclarations(t *testing.T) {
	tests := []struct {
		name   string
		vocab  int
		pad    string
		padID  int32
		hasPad bool
		empty  []int32
	}{
		{"bert", 30522, "[PAD]", 0, true, []int32{101, 102}},
		{"llama3", 128256, "", 0, false, nil},
		{"qwen3", 151669, "", 0, false, nil},
		{"gemma3", 262145, "<pad>", 0, true, []int32{2}},
		{"llama2", 32000, "", 0, false, []int32{1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tk := loadReference(t, tt.name)
			if n := tk.VocabSize(); n != tt.vocab {
				t.Errorf("VocabSize = %d, want %d", n, tt.vocab)
			}
			id, ok := tk.PadID()
			tok, _ := tk.PadToken()
			if ok != tt.hasPad || id != tt.padID || tok != tt.pad {
				t.Errorf("pad = %d %q %v, want %d %q %v", id, tok, ok, tt.padID, tt.pad, tt.hasPad)
			}
			e, err := tk.Encode("", Options{})
			if err != nil || !sameInts(e.IDs, tt.empty) {
				t.Errorf("Encode(\"\") = %v (%v), want %v", e.IDs, err, tt.empty)
			}
		})
	}
}
