package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// addedToken is an entry of tokenizer.json's added_tokens.
type addedToken struct {
	id                                              int32
	content                                         string
	lstrip, rstrip, singleWord, normalized, special bool
}

// addedMatcher finds added tokens in text, leftmost-longest first, as
// Hugging Face's AddedVocabulary does with Aho-Corasick.
type addedMatcher struct {
	tokens   []addedToken
	edges    map[uint64]int32 // node<<8 | byte -> child node
	terminal []int32          // node -> index into tokens, or -1
	first    [256]bool        // bytes that start some token
}

func newAddedMatcher(tokens []addedToken, patterns []string) *addedMatcher {
	m := &addedMatcher{tokens: tokens, edges: map[uint64]int32{}, terminal: []int32{-1}}
	for k, p := range patterns {
		if p == "" {
			continue
		}
		m.first[p[0]] = true
		node := int32(0)
		for i := 0; i < len(p); i++ {
			key := uint64(node)<<8 | uint64(p[i])
			next, ok := m.edges[key]
			if !ok {
				next = int32(len(m.terminal))
				m.terminal = append(m.terminal, -1)
				m.edges[key] = next
			}
			node = next
		}
		if m.terminal[node] < 0 { // the first of duplicate contents wins
			m.terminal[node] = int32(k)
		}
	}
	return m
}

// longest returns the token index and end of the longest token at i.
func (m *addedMatcher) longest(s string, i int) (int32, int) {
	tok, end := int32(-1), 0
	node := int32(0)
	for j := i; j < len(s); j++ {
		next, ok := m.edges[uint64(node)<<8|uint64(s[j])]
		if !ok {
			break
		}
		node = next
		if t := m.terminal[node]; t >= 0 {
			tok, end = t, j+1
		}
	}
	return tok, end
}

// piece is a part of the input: text still to tokenize (id < 0) or an
// added token.
type piece struct {
	text  string
	id    int32
	first bool // starts the input
}

// appendPieces splits s around the added tokens, applying their lstrip,
// rstrip and single_word options. Empty text pieces are dropped.
func (m *addedMatcher) appendPieces(dst []piece, s string, first bool) []piece {
	if m == nil || len(m.terminal) == 1 {
		if s != "" {
			dst = append(dst, piece{text: s, id: -1, first: first})
		}
		return dst
	}
	prev := 0
	for i := 0; i < len(s); {
		if !m.first[s[i]] {
			i++
			continue
		}
		k, stop := m.longest(s, i)
		if k < 0 {
			i++
			continue
		}
		t := &m.tokens[k]
		start := i
		i = stop
		if t.singleWord && (endsWithWord(s[:start]) || startsWithWord(s[stop:])) {
			continue
		}
		if t.lstrip {
			start = max(len(strings.TrimRightFunc(s[:start], unicode.IsSpace)), prev)
		}
		if t.rstrip {
			stop = len(s) - len(strings.TrimLeftFunc(s[stop:], unicode.IsSpace))
		}
		if prev < start {
			dst = append(dst, piece{text: s[prev:start], id: -1, first: first && prev == 0})
		}
		dst = append(dst, piece{text: s[start:stop], id: t.id})
		prev = stop
	}
	if prev < len(s) {
		dst = append(dst, piece{text: s[prev:], id: -1, first: first && prev == 0})
	}
	return dst
}

func isWordRune(r rune) bool { return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r) }

func endsWithWord(s string) bool {
	r, n := utf8.DecodeLastRuneInString(s)
	return n > 0 && isWordRune(r)
}

func startsWithWord(s string) bool {
	r, n := utf8.DecodeRuneInString(s)
	return n > 0 && isWordRune(r)
}
