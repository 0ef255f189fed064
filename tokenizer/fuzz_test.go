package tokenizer

import (
	"errors"
	"os"
	"testing"
	"unicode/utf8"
)

// FuzzEncode encodes arbitrary text and pairs with the in-memory
// tokenizers, and with the installed BERT, Llama 3 and Llama 2 ones when
// PIPE_TOKENIZERS_DIR names them: no panic, every id inside the
// vocabulary, mask and type ids as long as the ids, truncation respected,
// invalid UTF-8 reported as such.
func FuzzEncode(f *testing.F) {
	for _, s := range []string{"", " ", "Hello, world!", "héllo\u0301 中文 👨‍👩‍👧", "<|endoftext|>[SEP]<s>", "a\n\n  b\t\tc", "'S 's 'LL 123456", "\xff\xfe", "\x00\x1b[0m"} {
		f.Add(s, "pair text", uint8(0))
		f.Add(s, s, uint8(9))
	}
	tks := []*Tokenizer{tinyBERT(f), tinyByteBPE(f), tinySentencePiece(f)}
	if os.Getenv("PIPE_TOKENIZERS_DIR") != "" {
		for _, name := range []string{"bert", "llama3", "llama2"} {
			tks = append(tks, loadReference(f, name))
		}
	} else {
		f.Log("PIPE_TOKENIZERS_DIR is not set: fuzzing the in-memory tokenizers only")
	}
	f.Fuzz(func(t *testing.T, a, b string, mode uint8) {
		opts := Options{Tokens: mode&1 != 0}
		if mode&2 != 0 {
			opts.Truncation = Truncation{MaxLength: 4 + int(mode>>4), Strategy: Strategy(mode >> 2 & 3 % 3), Side: Side(mode >> 3 & 1)}
		}
		pair := mode&4 != 0
		for _, tk := range tks {
			var e Encoding
			var err error
			if pair {
				e, err = tk.EncodePair(a, b, opts)
			} else {
				e, err = tk.Encode(a, opts)
			}
			valid := utf8.ValidString(a) && (!pair || utf8.ValidString(b))
			if !valid {
				if !errors.Is(err, ErrInvalidUTF8) {
					t.Fatalf("invalid UTF-8: err = %v, want ErrInvalidUTF8", err)
				}
				continue
			}
			if err != nil {
				if errors.Is(err, ErrTruncation) {
					continue
				}
				t.Fatalf("Encode(%q, %q): %v", a, b, err)
			}
			if len(e.Mask) != len(e.IDs) || len(e.TypeIDs) != len(e.IDs) || (opts.Tokens && len(e.Tokens) != len(e.IDs)) {
				t.Fatalf("lengths differ: ids %d, mask %d, types %d, tokens %d", len(e.IDs), len(e.Mask), len(e.TypeIDs), len(e.Tokens))
			}
			for _, id := range e.IDs {
				if id < 0 || int(id) >= tk.VocabSize() {
					t.Fatalf("id %d outside the vocabulary of %d", id, tk.VocabSize())
				}
			}
			if m := opts.Truncation.MaxLength; m > 0 && len(e.IDs) > m {
				t.Fatalf("%d ids, truncated to %d", len(e.IDs), m)
			}
		}
	})
}
