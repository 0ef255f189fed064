// Package text provides the `tokenize` transform: a utf8 column (or a pair
// of them, for cross-encoders) becomes the token ids, attention mask and
// token type ids a text model takes, as Hugging Face's tokenizers make
// them (package tokenizer), plus the token count.
//
// # Ownership
//
// Process borrows its input batch for the call and returns a new batch
// owned by the caller; the input's columns are shared with it (retained).
// The three list columns share one offsets buffer.
//
// # Concurrency
//
// The runtime calls Process from one goroutine at a time. Process splits
// a large batch into row ranges tokenized by up to `threads` goroutines,
// each with its own encoder; it waits for all of them before returning.
// A loaded tokenizer is shared, read-only, by every stage instance that
// uses the same file content.
//
// # Errors
//
// A missing or unsupported tokenizer file, or a column that is not utf8,
// is reported by the constructor. A null, empty or invalid UTF-8 text is
// a [*RowError] naming the column and the row (numbered from the stage's
// first input row), so that on_error skip and dead_letter can set the row
// aside.
package text
