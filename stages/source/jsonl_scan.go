package source

import (
	"encoding/json"
	"errors"
	"fmt"
)

// scanObject splits one line holding a JSON object into its top-level
// members, calling member with each key (unescaped) and the raw text of its
// value. It checks the syntax it walks: keys and literals exactly, numbers
// by the JSON grammar, strings with escapes and nested objects and arrays
// with encoding/json. It replaces decoding every line into a map, which
// cost most of the time of a JSON-lines source.
func scanObject(line []byte, member func(key, raw []byte)) error {
	i := skipWS(line, 0)
	if i >= len(line) {
		return errors.New("invalid JSON: unexpected end of input")
	}
	if line[i] != '{' {
		return notObject(line[i:])
	}
	i = skipWS(line, i+1)
	if i < len(line) && line[i] == '}' {
		return trailing(line, i+1)
	}
	for {
		if i >= len(line) || line[i] != '"' {
			return syntaxErr(i, "expected a string key")
		}
		end, escaped, err := stringEnd(line, i)
		if err != nil {
			return err
		}
		key := line[i+1 : end-1]
		if escaped {
			var s string
			if err := json.Unmarshal(line[i:end], &s); err != nil {
				return fmt.Errorf("invalid JSON: %w", err)
			}
			key = []byte(s)
		}
		i = skipWS(line, end)
		if i >= len(line) || line[i] != ':' {
			return syntaxErr(i, "expected ':' after a key")
		}
		i = skipWS(line, i+1)
		start := i
		if i, err = valueEnd(line, i); err != nil {
			return err
		}
		member(key, line[start:i])
		i = skipWS(line, i)
		if i >= len(line) {
			return errors.New("invalid JSON: unexpected end of input")
		}
		switch line[i] {
		case ',':
			i = skipWS(line, i+1)
		case '}':
			return trailing(line, i+1)
		default:
			return syntaxErr(i, "expected ',' or '}'")
		}
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

func syntaxErr(at int, what string) error {
	return fmt.Errorf("invalid JSON: %s at byte %d", what, at+1)
}

func trailing(line []byte, i int) error {
	if i = skipWS(line, i); i != len(line) {
		return syntaxErr(i, "unexpected text after the object")
	}
	return nil
}

// notObject names what a line holds instead of an object.
func notObject(b []byte) error {
	kind := ""
	switch b[0] {
	case '[':
		kind = "array"
	case '"':
		kind = "string"
	case 'n':
		kind = "null"
	case 't', 'f':
		kind = "bool"
	default:
		if b[0] == '-' || (b[0] >= '0' && b[0] <= '9') {
			kind = "number"
		}
	}
	if kind == "" || !json.Valid(b) {
		return syntaxErr(0, "expected '{'")
	}
	return fmt.Errorf("expected a JSON object, got %s", kind)
}

// stringEnd returns the index after the closing quote of the string that
// starts at i, and whether it holds escapes.
func stringEnd(b []byte, i int) (int, bool, error) {
	escaped := false
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '\\':
			escaped = true
			j++
		case c == '"':
			return j + 1, escaped, nil
		case c < 0x20:
			return 0, false, syntaxErr(j, "control character in a string")
		}
	}
	return 0, false, errors.New("invalid JSON: unterminated string")
}

// valueEnd returns the index after the value starting at i.
func valueEnd(b []byte, i int) (int, error) {
	if i >= len(b) {
		return 0, errors.New("invalid JSON: unexpected end of input")
	}
	switch c := b[i]; {
	case c == '"':
		end, escaped, err := stringEnd(b, i)
		if err == nil && escaped && !json.Valid(b[i:end]) {
			return 0, syntaxErr(i, "invalid escape in a string")
		}
		return end, err
	case c == '{' || c == '[':
		end, err := nestedEnd(b, i)
		if err != nil {
			return 0, err
		}
		if !json.Valid(b[i:end]) {
			return 0, syntaxErr(i, "invalid nested value")
		}
		return end, nil
	case c == 't':
		return literal(b, i, "true")
	case c == 'f':
		return literal(b, i, "false")
	case c == 'n':
		return literal(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return numberEnd(b, i)
	}
	return 0, syntaxErr(i, "unexpected character")
}

func literal(b []byte, i int, word string) (int, error) {
	if len(b)-i < len(word) || string(b[i:i+len(word)]) != word {
		return 0, syntaxErr(i, "unexpected literal")
	}
	return i + len(word), nil
}

// numberEnd checks a JSON number at i: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func numberEnd(b []byte, i int) (int, error) {
	j := i
	if b[j] == '-' {
		j++
	}
	digits := func() int {
		k := j
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		return j - k
	}
	switch {
	case j < len(b) && b[j] == '0':
		j++
	case digits() == 0:
		return 0, syntaxErr(i, "invalid number")
	}
	if j < len(b) && b[j] == '.' {
		j++
		if digits() == 0 {
			return 0, syntaxErr(i, "invalid number")
		}
	}
	if j < len(b) && (b[j] == 'e' || b[j] == 'E') {
		j++
		if j < len(b) && (b[j] == '+' || b[j] == '-') {
			j++
		}
		if digits() == 0 {
			return 0, syntaxErr(i, "invalid number")
		}
	}
	return j, nil
}

// nestedEnd returns the index after the object or array starting at i,
// matching brackets outside strings.
func nestedEnd(b []byte, i int) (int, error) {
	depth := 0
	for j := i; j < len(b); j++ {
		switch b[j] {
		case '"':
			end, _, err := stringEnd(b, j)
			if err != nil {
				return 0, err
			}
			j = end - 1
		case '{', '[':
			depth++
			if depth > 10000 {
				return 0, syntaxErr(j, "nesting too deep")
			}
		case '}', ']':
			depth--
			if depth == 0 {
				return j + 1, nil
			}
		}
	}
	return 0, errors.New("invalid JSON: unterminated object or array")
}
