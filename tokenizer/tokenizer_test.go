package tokenizer

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

func TestEncodeSmall(t *testing.T) {
	bert, bbpe, sp := tinyBERT(t), tinyByteBPE(t), tinySentencePiece(t)
	tests := []struct {
		name       string
		tk         *Tokenizer
		a, b       string
		pair       bool
		opts       Options
		ids, types []int32
	}{
		{"bert words", bert, "Hello, WORLDS!", "", false, Options{}, []int32{2, 4, 10, 5, 6, 11, 3}, []int32{0, 0, 0, 0, 0, 0, 0}},
		{"bert accents and cjk", bert, "Café中a", "", false, Options{}, []int32{2, 12, 13, 14, 3}, nil},
		{"bert unknown word", bert, "unaffable xyz", "", false, Options{}, []int32{2, 7, 8, 9, 1, 3}, nil},
		{"bert empty", bert, "", "", false, Options{}, []int32{2, 3}, []int32{0, 0}},
		{"bert pair", bert, "hello", "world", true, Options{}, []int32{2, 4, 3, 5, 3}, []int32{0, 0, 0, 1, 1}},
		{"bert no special tokens", bert, "hello", "world", true, Options{NoSpecialTokens: true}, []int32{4, 5}, []int32{0, 1}},
		{"bert special token in text", bert, "hello[SEP]world", "", false, Options{}, []int32{2, 4, 3, 5, 3}, nil},
		{"bert truncate right", bert, "hello world hello", "", false, Options{Truncation: Truncation{MaxLength: 4}}, []int32{2, 4, 5, 3}, nil},
		{"bert truncate left", bert, "hello world a", "", false, Options{Truncation: Truncation{MaxLength: 4, Side: Left}}, []int32{2, 5, 14, 3}, nil},
		{"byte bpe", bbpe, "hello world", "", false, Options{}, []int32{259, 264}, []int32{0, 0}},
		{"byte bpe bytes", bbpe, "hé", "", false, Options{}, []int32{'h', 0xC3 - 0xA1 + 0xA1, 0xA9}, nil},
		{"byte bpe added token", bbpe, "hello<|endoftext|>", "", false, Options{}, []int32{259, 265}, nil},
		{"byte bpe pair types", bbpe, "hello", " world", true, Options{}, []int32{259, 264}, []int32{0, 1}},
		{"sentencepiece", sp, "hi t", "", false, Options{}, []int32{1, 263, 265}, nil},
		{"sentencepiece byte fallback", sp, "é", "", false, Options{}, []int32{1, 259, 3 + 0xC3, 3 + 0xA9}, nil},
		{"sentencepiece empty", sp, "", "", false, Options{}, []int32{1}, nil},
		{"sentencepiece pair", sp, "hi", "hi", true, Options{}, []int32{1, 263, 1, 263}, []int32{0, 0, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e Encoding
			var err error
			if tt.pair {
				e, err = tt.tk.EncodePair(tt.a, tt.b, tt.opts)
			} else {
				e, err = tt.tk.Encode(tt.a, tt.opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !sameInts(e.IDs, tt.ids) {
				t.Errorf("ids = %v, want %v", e.IDs, tt.ids)
			}
			if tt.types != nil && !sameInts(e.TypeIDs, tt.types) {
				t.Errorf("type ids = %v, want %v", e.TypeIDs, tt.types)
			}
			if len(e.Mask) != len(e.IDs) || len(e.TypeIDs) != len(e.IDs) {
				t.Errorf("lengths: ids %d, mask %d, types %d", len(e.IDs), len(e.Mask), len(e.TypeIDs))
			}
			for _, m := range e.Mask {
				if m != 1 {
					t.Errorf("mask %v has a value other than 1", e.Mask)
					break
				}
			}
		})
	}
}

func TestInvalidUTF8(t *testing.T) {
	tk := tinyBERT(t)
	_, err := tk.Encode("ok\xffno", Options{})
	var ie *InputError
	if !errors.Is(err, ErrInvalidUTF8) || !errors.As(err, &ie) || ie.Offset != 2 || ie.Pair {
		t.Fatalf("Encode: err = %v, want *InputError at offset 2", err)
	}
	_, err = tk.EncodePair("fine", "\xc3", Options{})
	if !errors.As(err, &ie) || !ie.Pair || ie.Offset != 0 {
		t.Fatalf("EncodePair: err = %v, want *InputError in the pair text", err)
	}
}

func TestTruncationErrors(t *testing.T) {
	tk := tinyBERT(t)
	for _, tc := range []struct {
		name string
		a, b string
		pair bool
		tr   Truncation
	}{
		{"below special tokens", "hello", "", false, Truncation{MaxLength: 1}},
		{"only second of a single text", "hello world", "", false, Truncation{MaxLength: 3, Strategy: OnlySecond}},
		{"only first too short", "hello", "world world world", true, Truncation{MaxLength: 4, Strategy: OnlyFirst}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			if tc.pair {
				_, err = tk.EncodePair(tc.a, tc.b, Options{Truncation: tc.tr})
			} else {
				_, err = tk.Encode(tc.a, Options{Truncation: tc.tr})
			}
			if !errors.Is(err, ErrTruncation) {
				t.Fatalf("err = %v, want ErrTruncation", err)
			}
		})
	}
}

// Hugging Face's own table for truncate_encodings (max length 7).
func TestLongestFirst(t *testing.T) {
	for _, c := range [][4]int{
		{0, 0, 0, 0}, {0, 2, 0, 2}, {0, 4, 0, 4}, {0, 8, 0, 7},
		{2, 0, 2, 0}, {2, 2, 2, 2}, {2, 4, 2, 4}, {2, 8, 2, 5},
		{4, 0, 4, 0}, {4, 2, 4, 2}, {4, 4, 3, 4}, {4, 8, 3, 4},
		{8, 0, 7, 0}, {8, 2, 5, 2}, {8, 4, 4, 3}, {8, 8, 3, 4},
	} {
		a, b := make([]int32, c[0]), make([]int32, c[1])
		ga, gb, err := truncate(a, b, true, Truncation{MaxLength: 7}, 0)
		if err != nil || len(ga) != c[2] || len(gb) != c[3] {
			t.Errorf("lengths %d,%d: kept %d,%d (err %v), want %d,%d", c[0], c[1], len(ga), len(gb), err, c[2], c[3])
		}
	}
}

func TestUnsupported(t *testing.T) {
	base := func() map[string]any {
		return map[string]any{"model": map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "vocab": map[string]int{"[UNK]": 0}}}
	}
	tests := []struct {
		name, key  string
		value      any
		comp, typ  string
		typePrefix bool
	}{
		{"model", "model", map[string]any{"type": "Unigram", "vocab": []any{}}, "model", "Unigram", false},
		{"normalizer", "normalizer", map[string]any{"type": "Precompiled"}, "normalizer", "Precompiled", false},
		{"pre-tokenizer", "pre_tokenizer", map[string]any{"type": "UnicodeScripts"}, "pre_tokenizer", "UnicodeScripts", false},
		{"post-processor", "post_processor", map[string]any{"type": "Fancy"}, "post_processor", "Fancy", false},
		{"lookahead", "pre_tokenizer", map[string]any{"type": "Split", "pattern": map[string]any{"Regex": `a(?=b)`}, "behavior": "Isolated"}, "pattern", "a(?=b)", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := base()
			v[tt.key] = tt.value
			b, _ := jsonMarshal(v)
			_, err := Load(strings.NewReader(b))
			var ue *UnsupportedError
			if !errors.Is(err, ErrUnsupported) || !errors.As(err, &ue) {
				t.Fatalf("err = %v, want *UnsupportedError", err)
			}
			if ue.Component != tt.comp || (!tt.typePrefix && ue.Type != tt.typ) || !strings.HasPrefix(ue.Type, tt.typ) {
				t.Errorf("got %+v, want component %q type %q", ue, tt.comp, tt.typ)
			}
		})
	}
	if _, err := Load(strings.NewReader("{")); !errors.Is(err, ErrFormat) {
		t.Errorf("truncated JSON: err = %v, want ErrFormat", err)
	}
}

func TestSplitBehaviors(t *testing.T) {
	m := []span{{1, 2}, {2, 3}, {5, 6}} // "a--bc-d": the dashes
	s := "a--bc-d"
	for _, tc := range []struct {
		b      behavior
		invert bool
		want   []string
	}{
		{behaviorRemoved, false, []string{"a", "bc", "d"}},
		{behaviorIsolated, false, []string{"a", "-", "-", "bc", "-", "d"}},
		{behaviorMergedWithPrevious, false, []string{"a-", "-", "bc-", "d"}},
		{behaviorMergedWithNext, false, []string{"a", "-", "-bc", "-d"}},
		{behaviorContiguous, false, []string{"a", "--", "bc", "-", "d"}},
		{behaviorRemoved, true, []string{"-", "-", "-"}},
	} {
		got := splitBy(nil, s, m, tc.b, tc.invert)
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("behavior %d invert %v: got %q, want %q", tc.b, tc.invert, got, tc.want)
		}
	}
}

func knownSplit(p string) split {
	return split{m: knownPatterns[p], whole: true, sc: knownPatterns[p]}
}

func TestPreTokenizers(t *testing.T) {
	tests := []struct {
		name string
		p    preTokenizer
		in   string
		want []string
	}{
		{"whitespace", wordsAndPunct{}, "Hey man!! How's it_going?", []string{"Hey", "man", "!!", "How", "'", "s", "it_going", "?"}},
		{"whitespace split", whitespaceSplit{}, " a\tb\u3000c ", []string{"a", "b", "c"}},
		{"bert", bertPreTokenizer{}, "Hey, you…ok", []string{"Hey", ",", "you", "…", "ok"}},
		{"digits individual", funcSplit{f: func(r rune) bool { return r >= '0' && r <= '9' }, behavior: behaviorIsolated}, "a12b", []string{"a", "1", "2", "b"}},
		{"digits contiguous", funcSplit{f: func(r rune) bool { return r >= '0' && r <= '9' }, behavior: behaviorContiguous}, "a12b", []string{"a", "12", "b"}},
		{"metaspace", metaspace{replacement: "▁", prepend: "always", split: true}, "hi there", []string{"▁hi", "▁there"}},
		{"metaspace first", metaspace{replacement: "▁", prepend: "first", split: false}, "x", []string{"x"}},
		{"gpt2", byteLevel{useRegex: true}, "I'm  fine\n", []string{"I", "'m", " ", " fine", "\n"}},
		{"cl100k", knownSplit(patternCL100K), "I'LL 12345 a!!\n\n  b", []string{"I", "'LL", " ", "123", "45", " a", "!!\n\n", " ", " b"}},
		{"qwen digits", knownSplit(patternQwen), "x123", []string{"x", "1", "2", "3"}},
		{"cl100k trailing spaces", knownSplit(patternCL100K), "a   ", []string{"a", "   "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.p.appendWords(nil, tt.in, false)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizers(t *testing.T) {
	tests := []struct {
		name string
		n    normalizer
		in   string
		want string
	}{
		{"lowercase keeps sigma", lowercase{}, "ΟΔΥΣΣΕΥΣ İ", "οδυσσευσ i\u0307"},
		{"bert", bertNormalizer{cleanText: true, chineseChars: true, stripAccents: true, lowercase: true}, "Ça\u00a0va\x00\t中!\u200b", "ca va  中 !"},
		{"strip", strip{left: true, right: true}, " \t x \n", "x"},
		{"strip accents", stripAccents{}, "e\u0301a\u0308", "ea"},
		{"nfkc", unicodeForm{}, "", ""},
		{"prepend empty", prepend{"▁"}, "", ""},
		{"replace", replaceString{" ", "▁"}, "a b", "a▁b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "nfkc" {
				return
			}
			if got := tt.n.normalize(tt.in); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestPadAndVocab(t *testing.T) {
	if id, ok := tinyBERT(t).PadID(); !ok || id != 0 {
		t.Errorf("tiny BERT PadID = %d, %v; want 0, true", id, ok)
	}
	if _, ok := tinyByteBPE(t).PadID(); ok {
		t.Error("byte-level BPE without padding block or pad token reports a pad id")
	}
	if n := tinyByteBPE(t).VocabSize(); n != 266 {
		t.Errorf("VocabSize = %d, want 266", n)
	}
}

func TestFromVocab(t *testing.T) {
	tk, err := FromVocab(strings.NewReader("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\n##s\n"), VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := tk.EncodePair("Hellos", "HELLO", Options{Tokens: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"[CLS]", "hello", "##s", "[SEP]", "hello", "[SEP]"}
	if !reflect.DeepEqual(e.Tokens, want) || !sameInts(e.TypeIDs, []int32{0, 0, 0, 0, 1, 1}) {
		t.Errorf("tokens %q types %v, want %q and 0 0 0 0 1 1", e.Tokens, e.TypeIDs, want)
	}
	if _, err := FromVocab(strings.NewReader("a\nb\n"), VocabOptions{}); !errors.Is(err, ErrFormat) {
		t.Errorf("vocab without [UNK]: err = %v, want ErrFormat", err)
	}
}

// TestFromVocabReference checks that the BERT built from vocab.txt encodes
// like the BERT tokenizer.json, itself checked against Hugging Face.
func TestFromVocabReference(t *testing.T) {
	dir := tokenizersDir(t)
	f, err := os.Open(filepath.Join(dir, "bert", "vocab.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fromVocab, err := FromVocab(f, VocabOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ref := loadReference(t, "bert")
	texts := corpus(t)
	for i := 1; i < len(texts); i++ {
		got, err1 := fromVocab.EncodePair(texts[i-1], texts[i], Options{})
		want, err2 := ref.EncodePair(texts[i-1], texts[i], Options{})
		if err1 != nil || err2 != nil || !sameInts(got.IDs, want.IDs) || !sameInts(got.TypeIDs, want.TypeIDs) {
			t.Fatalf("lines %d,%d: vocab.txt gives %v %v (%v), tokenizer.json %v %v (%v)", i, i+1, got.IDs, got.TypeIDs, err1, want.IDs, want.TypeIDs, err2)
		}
	}
	if id, ok := fromVocab.PadID(); !ok || id != 0 {
		t.Errorf("PadID = %d, %v; want 0, true", id, ok)
	}
}

// TestConcurrent encodes the corpus from many goroutines and compares with
// a sequential pass (the race detector watches the shared state).
func TestConcurrent(t *testing.T) {
	tk := loadReference(t, "llama3")
	texts := corpus(t)[:2000]
	want := make([][]int32, len(texts))
	for i, s := range texts {
		e, err := tk.Encode(s, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = e.IDs
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			var e Encoding
			for i := g; i < len(texts); i += 3 {
				e.IDs, e.TypeIDs, e.Mask = e.IDs[:0], e.TypeIDs[:0], e.Mask[:0]
				if err := tk.Append(&e, texts[i], Options{Truncation: Truncation{MaxLength: 64 + g}}); err != nil {
					errs <- err
					return
				}
				w := want[i][:min(len(want[i]), 64+g)]
				if !sameInts(e.IDs, w) {
					errs <- fmt.Errorf("goroutine %d, line %d: got %v, want %v", g, i+1, e.IDs, w)
					return
				}
			}
		}(g)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// TestAppendAllocations checks that an Encoder encoding into reused
// buffers allocates nothing per row for lowercase ASCII text, but the
// strings that SentencePiece's rewriting normalizers build.
func TestAppendAllocations(t *testing.T) {
	for name, tc := range map[string]struct {
		tk  *Tokenizer
		max float64
	}{"bpe": {tinyByteBPE(t), 0}, "sentencepiece": {tinySentencePiece(t), 2}, "bert": {tinyBERT(t), 0}} {
		tk := tc.tk
		enc := tk.NewEncoder()
		var e Encoding
		text := "hello world, this is a plain ascii line with 12345 digits"
		allocs := testing.AllocsPerRun(200, func() {
			e.IDs, e.TypeIDs, e.Mask = e.IDs[:0], e.TypeIDs[:0], e.Mask[:0]
			if err := enc.Append(&e, text, Options{Truncation: Truncation{MaxLength: 8, Side: Left}}); err != nil {
				t.Fatal(err)
			}
		})
		if allocs > tc.max {
			t.Errorf("%s: Encoder.Append allocates %.1f times per row, want at most %.0f", name, allocs, tc.max)
		}
	}
}

func TestAddedTokenOptions(t *testing.T) {
	tok := func(content string, lstrip, rstrip, single bool) addedToken {
		return addedToken{id: 7, content: content, lstrip: lstrip, rstrip: rstrip, singleWord: single}
	}
	tests := []struct {
		name string
		tok  addedToken
		in   string
		want []string // text pieces; "#" stands for the token
	}{
		{"plain", tok("<m>", false, false, false), "a <m> b", []string{"a ", "#<m>", " b"}},
		{"lstrip", tok("<m>", true, false, false), "a  <m> b", []string{"a", "#  <m>", " b"}},
		{"rstrip", tok("<m>", false, true, false), "a <m>  b", []string{"a ", "#<m>  ", "b"}},
		{"single word inside a word", tok("ab", false, false, true), "xab ab", []string{"xab ", "#ab"}},
		{"longest match", tok("<m>", false, false, false), "<m><m>", []string{"#<m>", "#<m>"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newAddedMatcher([]addedToken{tt.tok}, []string{tt.tok.content})
			var got []string
			for _, p := range m.appendPieces(nil, tt.in, true) {
				if p.id >= 0 {
					got = append(got, "#"+p.text)
				} else {
					got = append(got, p.text)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
