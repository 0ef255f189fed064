package tokenizer

import (
	"errors"
	"fmt"
)

var (
	// ErrUnsupported matches an *UnsupportedError: the tokenizer file uses a
	// component this package does not implement.
	ErrUnsupported = errors.New("tokenizer: unsupported component")
	// ErrInvalidUTF8 matches an *InputError: the text is not valid UTF-8.
	ErrInvalidUTF8 = errors.New("tokenizer: invalid utf-8")
	// ErrTruncation is returned when truncation cannot meet its limit: the
	// limit leaves no room for the template's special tokens, the sequence
	// it must cut is too short, or OnlySecond was asked of a single text.
	ErrTruncation = errors.New("tokenizer: cannot truncate")
	// ErrFormat is returned when a tokenizer file or vocabulary is malformed.
	ErrFormat = errors.New("tokenizer: malformed tokenizer file")
)

// UnsupportedError names a component of a tokenizer file that this package
// does not implement, such as {Component: "normalizer", Type: "Precompiled"}.
type UnsupportedError struct {
	Component string // normalizer, pre_tokenizer, model, post_processor, pattern, option
	Type      string // the component's "type", or the unsupported value
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("tokenizer: unsupported %s %q", e.Component, e.Type)
}

// Is makes errors.Is(err, ErrUnsupported) hold.
func (e *UnsupportedError) Is(target error) bool { return target == ErrUnsupported }

// InputError reports text that cannot be encoded.
type InputError struct {
	Offset int // byte offset of the first invalid byte
	Pair   bool
}

func (e *InputError) Error() string {
	which := "text"
	if e.Pair {
		which = "pair text"
	}
	return fmt.Sprintf("tokenizer: %s is not valid utf-8 at byte %d", which, e.Offset)
}

// Is makes errors.Is(err, ErrInvalidUTF8) hold.
func (e *InputError) Is(target error) bool { return target == ErrInvalidUTF8 }

func formatErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrFormat}, args...)...)
}
