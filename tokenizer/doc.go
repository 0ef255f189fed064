// Package tokenizer encodes text into token ids exactly as Hugging Face's
// tokenizers library does, from the same tokenizer.json file (or a BERT
// vocab.txt), in pure Go.
//
// A Tokenizer runs Hugging Face's pipeline: added and special tokens are
// split off first (those declared "normalized": false on the raw text, the
// others on the normalized text), each remaining piece is normalized,
// pre-tokenized into words and cut into tokens by the model (WordPiece or
// BPE, with byte-level or byte-fallback vocabularies); then the texts are
// truncated and the post-processor adds the special tokens of its template.
//
// A component the package does not implement is an error at load time
// (*UnsupportedError, matching ErrUnsupported), never a silent difference at
// encode time. Input that is not valid UTF-8 is an error (*InputError,
// matching ErrInvalidUTF8).
//
// A Tokenizer is immutable after loading and safe for concurrent use. Append
// and AppendPair encode into the caller's slices; an Encoder (one per
// goroutine, from NewEncoder) also keeps its own working buffers, so that a
// loop over millions of rows allocates nothing per row once its buffers
// have grown (normalizers that rewrite text still build new strings).
//
// Truncation follows the released Rust library (tokenizers 0.23), including
// its early stop: each text stops being tokenized once the words tokenized
// from its kept end hold MaxLength ids, before LongestFirst shares the room
// of a pair. Overflowing tokens (stride) are not produced.
package tokenizer
