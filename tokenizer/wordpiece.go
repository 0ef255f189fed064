package tokenizer

import "unicode/utf8"

// wordPiece is Hugging Face's WordPiece model: greedy longest-match-first
// over the vocabulary, continuation pieces carrying a prefix ("##").
type wordPiece struct {
	vocab    map[string]int32
	unk      int32
	prefix   string
	maxChars int
	// longest is the longest vocabulary entry in bytes: no piece longer
	// than that can match, so the greedy search starts no further out.
	// That changes no result and saves the lookups of pieces that cannot
	// be in the vocabulary.
	longest int
}

// setLongest computes longest from the vocabulary.
func (m *wordPiece) setLongest() {
	m.longest = 0
	for tok := range m.vocab {
		m.longest = max(m.longest, len(tok))
	}
}

func (m *wordPiece) appendIDs(sc *scratch, dst []int32, word string) []int32 {
	if m.maxChars > 0 && len(word) > m.maxChars && utf8.RuneCountInString(word) > m.maxChars {
		return append(dst, m.unk)
	}
	if id, ok := m.vocab[word]; ok {
		return append(dst, id)
	}
	n := len(dst)
	buf := append(sc.bytes[:0], m.prefix...)
	for start := 0; start < len(word); {
		end := len(word)
		if m.longest > 0 && end-start > m.longest {
			end = start + m.longest
			for end > start && !utf8.RuneStart(word[end]) {
				end--
			}
		}
		found := int32(-1)
		for start < end {
			var id int32
			var ok bool
			if start == 0 {
				id, ok = m.vocab[word[:end]]
			} else {
				buf = append(buf[:len(m.prefix)], word[start:end]...)
				id, ok = m.vocab[string(buf)]
			}
			if ok {
				found = id
				break
			}
			_, size := utf8.DecodeLastRuneInString(word[start:end])
			end -= size
		}
		if found < 0 {
			sc.bytes = buf
			return append(dst[:n], m.unk)
		}
		dst = append(dst, found)
		start = end
	}
	sc.bytes = buf
	return dst
}
