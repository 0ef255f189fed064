package tokenizer

import (
	"bufio"
	"encoding/json"
	"io"
	"strings"
)

// VocabOptions describes the BERT tokenizer that FromVocab builds.
type VocabOptions struct {
	// Cased keeps case and accents (bert-base-cased); the default
	// lowercases and strips accents (bert-base-uncased).
	Cased bool
}

// FromVocab builds a BERT WordPiece tokenizer from a vocab.txt (one token
// a line, the line number being its id), as Hugging Face's
// BertTokenizerFast does: BertNormalizer, BertPreTokenizer, "##"
// continuations, "[CLS] A [SEP] B [SEP]" with type 1 for the second text.
// [UNK], [CLS] and [SEP] must be in the vocabulary; [PAD] is the pad token.
func FromVocab(r io.Reader, opts VocabOptions) (*Tokenizer, error) {
	vocab := map[string]int32{}
	s := bufio.NewScanner(r)
	s.Buffer(nil, 1<<20)
	n := int32(0)
	for s.Scan() {
		tok := strings.TrimRight(s.Text(), "\r")
		if _, dup := vocab[tok]; !dup {
			vocab[tok] = n
		}
		n++
	}
	if err := s.Err(); err != nil {
		return nil, formatErrorf("vocab.txt: %v", err)
	}
	for _, need := range []string{"[UNK]", "[CLS]", "[SEP]"} {
		if _, ok := vocab[need]; !ok {
			return nil, formatErrorf("vocab.txt has no %s token", need)
		}
	}
	rawVocab, err := json.Marshal(vocab)
	if err != nil {
		return nil, err
	}
	unk, prefix, maxChars := "[UNK]", "##", 100
	f := &fileJSON{Model: modelJSON{Type: "WordPiece", Vocab: rawVocab, UnkToken: &unk,
		ContinuingSubwordPrefix: &prefix, MaxInputCharsPerWord: &maxChars}}
	for _, tok := range []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"} {
		if id, ok := vocab[tok]; ok {
			f.AddedTokens = append(f.AddedTokens, addedTokenJSON{ID: id, Content: tok, Special: true})
		}
	}
	f.Normalizer = mustJSON(map[string]any{"type": "BertNormalizer", "clean_text": true,
		"handle_chinese_chars": true, "strip_accents": nil, "lowercase": !opts.Cased})
	f.PreTokenizer = mustJSON(map[string]any{"type": "BertPreTokenizer"})
	cls, sep := []any{"[CLS]", vocab["[CLS]"]}, []any{"[SEP]", vocab["[SEP]"]}
	f.PostProcessor = mustJSON(map[string]any{"type": "BertProcessing", "cls": cls, "sep": sep})
	return build(f)
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only called on maps of plain values
	}
	return b
}
