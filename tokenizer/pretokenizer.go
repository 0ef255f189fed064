package tokenizer

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// span is a byte range [start, end) of a piece of text.
type span struct{ start, end int }

// A preTokenizer cuts a normalized piece into words, appending them to dst.
// first reports whether the piece starts the input (Metaspace's "first"
// prepend scheme needs it). Empty words are never appended.
type preTokenizer interface {
	appendWords(dst []string, s string, first bool) []string
}

type preTokenizerSeq []preTokenizer

func (q preTokenizerSeq) appendWords(dst []string, s string, first bool) []string {
	cur := []string{s}
	var next []string
	for _, p := range q {
		next = next[:0]
		for k, w := range cur {
			next = p.appendWords(next, w, first && k == 0)
		}
		cur, next = next, cur
	}
	return append(dst, cur...)
}

// behavior says what a split does with the matched delimiters.
type behavior int

const (
	behaviorRemoved behavior = iota
	behaviorIsolated
	behaviorMergedWithPrevious
	behaviorMergedWithNext
	behaviorContiguous
)

var behaviors = map[string]behavior{
	"Removed": behaviorRemoved, "Isolated": behaviorIsolated, "MergedWithPrevious": behaviorMergedWithPrevious,
	"MergedWithNext": behaviorMergedWithNext, "Contiguous": behaviorContiguous,
}

// matcher finds the delimiters of a split.
type matcher interface {
	appendSpans(dst []span, s string) []span
}

// splitBy appends the pieces of s that a split with the given matches and
// behavior yields, as Hugging Face's NormalizedString::split does.
func splitBy(dst []string, s string, matches []span, b behavior, invert bool) []string {
	// Pieces alternate between gaps and matches; invert swaps their roles.
	type part struct {
		span
		delim bool
	}
	var parts []part
	prev := 0
	for _, m := range matches {
		if m.start > prev {
			parts = append(parts, part{span{prev, m.start}, invert})
		}
		if m.end > m.start {
			parts = append(parts, part{m, !invert})
		}
		prev = m.end
	}
	if prev < len(s) {
		parts = append(parts, part{span{prev, len(s)}, invert})
	}
	var pending span // the piece being built (for the merging behaviors)
	open := false
	flush := func() {
		if open && pending.end > pending.start {
			dst = append(dst, s[pending.start:pending.end])
		}
		open = false
	}
	for _, p := range parts {
		switch {
		case !p.delim:
			if b == behaviorMergedWithNext && open {
				pending.end = p.end
				flush()
				continue
			}
			flush()
			if b == behaviorMergedWithPrevious {
				pending, open = p.span, true
				continue
			}
			dst = append(dst, s[p.start:p.end])
		case b == behaviorRemoved:
			flush()
		case b == behaviorIsolated:
			flush()
			dst = append(dst, s[p.start:p.end])
		case b == behaviorMergedWithPrevious:
			if open {
				pending.end = p.end
				flush()
			} else {
				dst = append(dst, s[p.start:p.end])
			}
		case b == behaviorMergedWithNext:
			flush()
			pending, open = p.span, true
		case b == behaviorContiguous:
			if open {
				pending.end = p.end
			} else {
				flush()
				pending, open = p.span, true
			}
		}
	}
	flush()
	return dst
}

// split is the Split pre-tokenizer.
type split struct {
	m        matcher
	behavior behavior
	invert   bool
	// whole is set for the known patterns with Isolated: every character
	// belongs to some match, so the matches are the words, found by sc.
	whole bool
	sc    scanner
}

func (p split) appendWords(dst []string, s string, _ bool) []string {
	if p.whole {
		return appendScanned(dst, s, p.sc)
	}
	return splitBy(dst, s, p.m.appendSpans(nil, s), p.behavior, p.invert)
}

// literal matches every occurrence of a string.
type literal string

func (l literal) appendSpans(dst []span, s string) []span {
	if l == "" {
		return dst
	}
	for i := 0; ; {
		k := strings.Index(s[i:], string(l))
		if k < 0 {
			return dst
		}
		dst = append(dst, span{i + k, i + k + len(l)})
		i += k + len(l)
	}
}

// goRegexp matches a pattern that Go's regexp can run with Oniguruma's
// meaning (see translatePattern).
type goRegexp struct{ re *regexp.Regexp }

func (g goRegexp) appendSpans(dst []span, s string) []span {
	for _, m := range g.re.FindAllStringIndex(s, -1) {
		dst = append(dst, span{m[0], m[1]})
	}
	return dst
}

// funcSplit splits on characters for which f is true, with a behavior.
type funcSplit struct {
	f        func(rune) bool
	behavior behavior
}

func (p funcSplit) appendWords(dst []string, s string, _ bool) []string {
	var m []span
	for i, r := range s {
		if p.f(r) {
			m = append(m, span{i, i + len(string(r))})
		}
	}
	if len(m) == 0 {
		if s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	return splitBy(dst, s, m, p.behavior, false)
}

// whitespaceSplit splits on white space, dropping it.
type whitespaceSplit struct{}

func (whitespaceSplit) appendWords(dst []string, s string, _ bool) []string {
	for _, w := range strings.FieldsFunc(s, unicode.IsSpace) {
		dst = append(dst, w)
	}
	return dst
}

// bertPreTokenizer splits on white space and isolates each punctuation
// character.
type bertPreTokenizer struct{}

func isBertPunct(r rune) bool {
	if r < 0x80 {
		return (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126)
	}
	return unicode.IsPunct(r)
}

func (bertPreTokenizer) appendWords(dst []string, s string, _ bool) []string {
	start := -1
	for i, r := range s {
		switch {
		case unicode.IsSpace(r):
			if start >= 0 {
				dst = append(dst, s[start:i])
			}
			start = -1
		case isBertPunct(r):
			if start >= 0 {
				dst = append(dst, s[start:i])
			}
			dst = append(dst, s[i:i+len(string(r))])
			start = -1
		default:
			if start < 0 {
				start = i
			}
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// wordsAndPunct is the Whitespace pre-tokenizer: `\w+|[^\w\s]+`.
type wordsAndPunct struct{}

// isWordChar is \w of Rust's regex crate, which Hugging Face uses here:
// Alphabetic, marks, decimal digits, connector punctuation, joiners.
func isWordChar(r rune) bool {
	if r < utf8.RuneSelf {
		return r == '_' || asciiClass[r]&(classLetter|classNumber) != 0
	}
	return unicode.In(r, unicode.L, unicode.Nl, unicode.Other_Alphabetic, unicode.M, unicode.Nd, unicode.Pc, unicode.Join_Control)
}

func (wordsAndPunct) appendWords(dst []string, s string, _ bool) []string {
	start, kind := -1, 0
	for i, r := range s {
		k := 2
		if unicode.IsSpace(r) {
			k = 0
		} else if isWordChar(r) {
			k = 1
		}
		if k != kind || k == 0 {
			if start >= 0 {
				dst = append(dst, s[start:i])
			}
			start = -1
			if k != 0 {
				start = i
			}
			kind = k
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}

// metaspace replaces spaces with a marker (▁), may prepend it, and may
// split before each marker.
type metaspace struct {
	replacement string
	prepend     string // "always", "first" or "never"
	split       bool
}

func (m metaspace) appendWords(dst []string, s string, first bool) []string {
	s = strings.ReplaceAll(s, " ", m.replacement)
	if (m.prepend == "always" || (m.prepend == "first" && first)) && !strings.HasPrefix(s, m.replacement) {
		s = m.replacement + s
	}
	if !m.split {
		if s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	return splitBy(dst, s, literal(m.replacement).appendSpans(nil, s), behaviorMergedWithNext, false)
}

// byteLevel is the ByteLevel pre-tokenizer. Its byte-to-character mapping
// is left to the model, which maps the bytes of each word straight to
// token ids (see bpe.byteLevel).
type byteLevel struct {
	addPrefixSpace bool
	useRegex       bool
}

func (b byteLevel) appendWords(dst []string, s string, _ bool) []string {
	if b.addPrefixSpace && !strings.HasPrefix(s, " ") {
		s = " " + s
	}
	if !b.useRegex {
		if s != "" {
			dst = append(dst, s)
		}
		return dst
	}
	return appendScanned(dst, s, knownPatterns[patternGPT2])
}

// appendScanned appends the consecutive pieces a known pattern cuts s into.
func appendScanned(dst []string, s string, sc scanner) []string {
	for i := 0; i < len(s); {
		e := sc.match(s, i)
		dst = append(dst, s[i:e])
		i = e
	}
	return dst
}
