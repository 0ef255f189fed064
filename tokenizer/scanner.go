package tokenizer

import (
	"unicode"
	"unicode/utf8"
)

// The three split patterns below hold almost every byte-level BPE
// tokenizer. Go's regexp lacks their lookahead (`\s+(?!\S)`), so each is a
// hand-written scanner that returns what Oniguruma's leftmost-first,
// backtracking match would. Every character is matched by some
// alternative, so a scan cuts the text into consecutive pieces.
const (
	patternGPT2 = `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
	// Llama 3 and OpenAI's cl100k_base.
	patternCL100K = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
	// Qwen 2 and 3: cl100k with single digits.
	patternQwen = `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
)

// scanner matches one of the known patterns.
type scanner struct {
	caseFold  bool // contractions in any case (cl100k, Qwen)
	gpt2      bool // GPT-2's alternatives rather than cl100k's
	maxDigits int  // digits per piece in cl100k-style patterns
}

var knownPatterns = map[string]scanner{
	patternGPT2:   {gpt2: true},
	patternCL100K: {caseFold: true, maxDigits: 3},
	patternQwen:   {caseFold: true, maxDigits: 1},
}

// Character classes of ASCII bytes, so that ASCII text avoids the Unicode
// tables.
const (
	classLetter = 1 << iota
	classNumber
	classSpace
)

var asciiClass = func() (t [128]uint8) {
	for c := 0; c < 128; c++ {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			t[c] = classLetter
		case c >= '0' && c <= '9':
			t[c] = classNumber
		case c == ' ', c >= '\t' && c <= '\r':
			t[c] = classSpace
		}
	}
	return t
}()

func classOf(r rune) uint8 {
	if r < utf8.RuneSelf {
		return asciiClass[r]
	}
	switch {
	case unicode.IsLetter(r):
		return classLetter
	case unicode.IsNumber(r):
		return classNumber
	case unicode.IsSpace(r):
		return classSpace
	}
	return 0
}

func runeAt(s string, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	return utf8.DecodeRuneInString(s[i:])
}

// runOf returns the end of the run of characters of class c from i.
func runOf(s string, i int, c uint8) int {
	for i < len(s) {
		r, n := runeAt(s, i)
		if classOf(r) != c {
			break
		}
		i += n
	}
	return i
}

// appendMatches appends the end of each consecutive piece of s.
func (sc scanner) appendSpans(dst []span, s string) []span {
	for i := 0; i < len(s); {
		e := sc.match(s, i)
		dst = append(dst, span{i, e})
		i = e
	}
	return dst
}

func (sc scanner) match(s string, i int) int {
	r, n := runeAt(s, i)
	if r == '\'' {
		if e := sc.contraction(s, i+1); e > 0 {
			return e
		}
	}
	c := classOf(r)
	if sc.gpt2 {
		j, c2 := i, c
		if r == ' ' && i+1 < len(s) {
			r2, _ := runeAt(s, i+1)
			if c2 = classOf(r2); c2 != classSpace {
				j = i + 1
			}
		}
		if c2 == classSpace {
			return sc.whitespace(s, i)
		}
		return runOf(s, j, c2)
	}
	switch {
	case c == classLetter:
		return runOf(s, i, classLetter)
	case r != '\r' && r != '\n' && c != classNumber && i+n < len(s):
		if r2, _ := runeAt(s, i+n); classOf(r2) == classLetter {
			return runOf(s, i+n, classLetter)
		}
	}
	if c == classNumber {
		for k := 0; k < max(sc.maxDigits, 1) && i < len(s); k++ {
			r, n := runeAt(s, i)
			if classOf(r) != classNumber {
				break
			}
			i += n
		}
		return i
	}
	j := i
	if r == ' ' {
		j = i + 1
	}
	if j < len(s) {
		if r2, _ := runeAt(s, j); classOf(r2) == 0 {
			e := runOf(s, j, 0)
			for e < len(s) && (s[e] == '\r' || s[e] == '\n') {
				e++
			}
			return e
		}
	}
	return sc.whitespace(s, i)
}

// whitespace matches `\s*[\r\n]+` (cl100k only), then `\s+(?!\S)`, then
// `\s+` at i, which holds a white-space character.
func (sc scanner) whitespace(s string, i int) int {
	end, last, chars, lastNL := i, i, 0, -1
	for end < len(s) {
		r, n := runeAt(s, end)
		if classOf(r) != classSpace {
			break
		}
		if r == '\r' || r == '\n' {
			lastNL = end + 1
		}
		last = end
		end += n
		chars++
	}
	if !sc.gpt2 && lastNL > 0 {
		return lastNL
	}
	if end == len(s) || chars == 1 {
		return end
	}
	return last
}

// contraction matches 's 't 're 've 'm 'll 'd after an apostrophe at j-1,
// ignoring case (with Unicode's folding of ſ to s) when caseFold is set.
func (sc scanner) contraction(s string, j int) int {
	if j >= len(s) {
		return 0
	}
	lower := func(k int) (byte, int) {
		c := s[k]
		if c < utf8.RuneSelf {
			if sc.caseFold && c >= 'A' && c <= 'Z' {
				c += 'a' - 'A'
			}
			return c, 1
		}
		if sc.caseFold && c == 0xC5 && k+1 < len(s) && s[k+1] == 0xBF { // ſ
			return 's', 2
		}
		return 0, 1
	}
	c, n := lower(j)
	switch c {
	case 's', 't', 'm', 'd':
		return j + n
	case 'r', 'v', 'l':
		if j+1 < len(s) {
			want := byte('e')
			if c == 'l' {
				want = 'l'
			}
			if c2, _ := lower(j + 1); c2 == want {
				return j + 2
			}
		}
	}
	return 0
}
