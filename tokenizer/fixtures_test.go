package tokenizer

import (
	"encoding/json"
	"strings"
	"testing"
)

// Small tokenizers built in memory, so that these tests run without the
// installed files.

func mustLoad(t testing.TB, v map[string]any) *Tokenizer {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := Load(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func special(id int, content string) map[string]any {
	return map[string]any{"id": id, "content": content, "special": true, "normalized": false,
		"lstrip": false, "rstrip": false, "single_word": false}
}

// tinyBERT: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3, then words.
func tinyBERT(t testing.TB) *Tokenizer {
	vocab := map[string]int{"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "hello": 4, "world": 5, "##s": 6,
		"un": 7, "##aff": 8, "##able": 9, ",": 10, "!": 11, "cafe": 12, "中": 13, "a": 14}
	return mustLoad(t, map[string]any{
		"added_tokens":   []any{special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]")},
		"normalizer":     map[string]any{"type": "BertNormalizer", "clean_text": true, "handle_chinese_chars": true, "strip_accents": nil, "lowercase": true},
		"pre_tokenizer":  map[string]any{"type": "BertPreTokenizer"},
		"post_processor": map[string]any{"type": "BertProcessing", "cls": []any{"[CLS]", 2}, "sep": []any{"[SEP]", 3}},
		"model":          map[string]any{"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##", "max_input_chars_per_word": 100, "vocab": vocab},
	})
}

// tinyByteBPE: every byte-level character, a few merges, GPT-2 splitting.
func tinyByteBPE(t testing.TB) *Tokenizer {
	vocab := map[string]int{}
	for b := 0; b < 256; b++ {
		vocab[string(byteToRune[b])] = b
	}
	merges := []string{"h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "Ġwor l", "Ġworl d"}
	next := 256
	for _, m := range merges {
		vocab[strings.ReplaceAll(m, " ", "")] = next
		next++
	}
	vocab["<|endoftext|>"] = next
	return mustLoad(t, map[string]any{
		"added_tokens":   []any{special(next, "<|endoftext|>")},
		"pre_tokenizer":  map[string]any{"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
		"post_processor": map[string]any{"type": "ByteLevel"},
		"model":          map[string]any{"type": "BPE", "vocab": vocab, "merges": merges},
	})
}

// tinySentencePiece: Llama 2 style, byte fallback, no pre-tokenizer.
func tinySentencePiece(t testing.TB) *Tokenizer {
	vocab := map[string]int{"<unk>": 0, "<s>": 1, "</s>": 2}
	for b := 0; b < 256; b++ {
		vocab["<0x"+string("0123456789ABCDEF"[b>>4])+string("0123456789ABCDEF"[b&15])+">"] = 3 + b
	}
	next := 259
	for _, tok := range []string{"▁", "h", "i", "▁h", "▁hi", "t", "▁t"} {
		vocab[tok] = next
		next++
	}
	tmpl := func(items ...any) []any { return items }
	st := func(id string, typ int) map[string]any {
		return map[string]any{"SpecialToken": map[string]any{"id": id, "type_id": typ}}
	}
	sq := func(id string, typ int) map[string]any {
		return map[string]any{"Sequence": map[string]any{"id": id, "type_id": typ}}
	}
	return mustLoad(t, map[string]any{
		"added_tokens": []any{special(0, "<unk>"), special(1, "<s>"), special(2, "</s>")},
		"normalizer": map[string]any{"type": "Sequence", "normalizers": []any{
			map[string]any{"type": "Prepend", "prepend": "▁"},
			map[string]any{"type": "Replace", "pattern": map[string]any{"String": " "}, "content": "▁"}}},
		"post_processor": map[string]any{"type": "TemplateProcessing",
			"single":         tmpl(st("<s>", 0), sq("A", 0)),
			"pair":           tmpl(st("<s>", 0), sq("A", 0), st("<s>", 1), sq("B", 1)),
			"special_tokens": map[string]any{"<s>": map[string]any{"id": "<s>", "ids": []int{1}, "tokens": []string{"<s>"}}}},
		"model": map[string]any{"type": "BPE", "unk_token": "<unk>", "fuse_unk": true, "byte_fallback": true,
			"vocab": vocab, "merges": [][]string{{"▁", "h"}, {"▁h", "i"}, {"▁", "t"}}},
	})
}

func jsonMarshal(v any) (string, error) {
	b, err := json.Marshal(v)
	return string(b), err
}
