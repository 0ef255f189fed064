package tokenizer

import (
	"fmt"
	"unicode/utf8"
)

// byteToRune is GPT-2's reversible map from bytes to printable characters:
// printable Latin-1 bytes stand for themselves, the others are shifted
// past U+0100.
var byteToRune = func() (t [256]rune) {
	n := rune(0)
	for b := 0; b < 256; b++ {
		if (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF) {
			t[b] = rune(b)
		} else {
			t[b] = 256 + n
			n++
		}
	}
	return t
}()

// bpe is Hugging Face's BPE model.
type bpe struct {
	vocab  map[string]int32
	merges map[uint64]uint64 // pair of ids -> rank<<32 | merged id
	// runeID holds the id of each single-character token below 1<<16, or -1,
	// to spare a map lookup per character.
	runeID       []int32
	unk          int32 // -1 without an unk token
	fuseUnk      bool
	byteFallback bool
	byteIDs      [256]int32 // <0xXX> tokens, when byteFallback
	ignoreMerges bool
	prefix       string // continuing_subword_prefix
	suffix       string // end_of_word_suffix
	// byteLevel is set when the pre-tokenizer is ByteLevel: words arrive as
	// raw bytes and levelIDs maps each byte to the id of its character.
	byteLevel bool
	levelIDs  [256]int32
}

func pairKey(a, b int32) uint64 { return uint64(uint32(a))<<32 | uint64(uint32(b)) }

func (m *bpe) lookupRune(r rune) int32 {
	if r >= 0 && int(r) < len(m.runeID) {
		return m.runeID[r]
	}
	var buf [utf8.UTFMax]byte
	n := utf8.EncodeRune(buf[:], r)
	if id, ok := m.vocab[string(buf[:n])]; ok {
		return id
	}
	return -1
}

// init builds the lookup tables once the vocabulary and merges are set.
func (m *bpe) init(merges [][2]string) error {
	m.runeID = make([]int32, 1<<16)
	for i := range m.runeID {
		m.runeID[i] = -1
	}
	for tok, id := range m.vocab {
		if r, n := utf8.DecodeRuneInString(tok); n == len(tok) && r < 1<<16 && r != utf8.RuneError {
			m.runeID[r] = id
		}
	}
	m.merges = make(map[uint64]uint64, len(merges))
	for rank, mg := range merges {
		a, okA := m.vocab[mg[0]]
		b, okB := m.vocab[mg[1]]
		merged, okM := m.vocab[mg[0]+mg[1][min(len(m.prefix), len(mg[1])):]]
		if !okA || !okB || !okM {
			return formatErrorf("merge %q %q uses a token missing from the vocabulary", mg[0], mg[1])
		}
		m.merges[pairKey(a, b)] = uint64(rank)<<32 | uint64(uint32(merged))
	}
	for b := 0; b < 256; b++ {
		m.byteIDs[b] = -1
		if id, ok := m.vocab[fmt.Sprintf("<0x%02X>", b)]; ok {
			m.byteIDs[b] = id
		}
		m.levelIDs[b] = m.lookupRune(byteToRune[b])
	}
	return nil
}

// symbol is one part of a word during merging, in a linked list.
type symbol struct {
	id         int32
	prev, next int32
	dead       bool
}

type mergeItem struct {
	pos  int32
	rank uint32
	id   int32
}

// less orders merges by rank, then by position.
func (a mergeItem) less(b mergeItem) bool {
	return a.rank < b.rank || (a.rank == b.rank && a.pos < b.pos)
}

// heapPush and heapPop keep a binary min-heap of merges without the
// interface boxing of container/heap.
func heapPush(h []mergeItem, x mergeItem) []mergeItem {
	h = append(h, x)
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	return h
}

func heapPop(h []mergeItem) ([]mergeItem, mergeItem) {
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h = h[:n]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < n && h[l].less(h[m]) {
			m = l
		}
		if r < n && h[r].less(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	return h, top
}

// appendIDs appends the ids of word to dst.
func (m *bpe) appendIDs(sc *scratch, dst []int32, word string) []int32 {
	if m.ignoreMerges {
		if id, ok := m.wholeWord(sc, word); ok {
			return append(dst, id)
		}
	}
	syms := m.symbols(sc, word)
	if len(syms) > 1 {
		m.merge(sc, syms)
	}
	for i := int32(0); i >= 0 && int(i) < len(syms); i = syms[i].next {
		dst = append(dst, syms[i].id)
	}
	return dst
}

// wholeWord looks the word up as one token, byte-level mapped if need be.
func (m *bpe) wholeWord(sc *scratch, word string) (int32, bool) {
	if !m.byteLevel {
		id, ok := m.vocab[word]
		return id, ok
	}
	b := sc.bytes[:0]
	for i := 0; i < len(word); i++ {
		b = utf8.AppendRune(b, byteToRune[word[i]])
	}
	sc.bytes = b
	id, ok := m.vocab[string(b)]
	return id, ok
}

// symbols splits a word into its initial symbols: characters (or bytes,
// for byte-level models), byte-fallback tokens, or (fused) unknowns.
func (m *bpe) symbols(sc *scratch, word string) []symbol {
	syms := sc.syms[:0]
	add := func(id int32) {
		n := int32(len(syms))
		syms = append(syms, symbol{id: id, prev: n - 1, next: n + 1})
	}
	if m.byteLevel {
		for i := 0; i < len(word); i++ {
			if id := m.levelIDs[word[i]]; id >= 0 {
				add(id)
			} else if m.unk >= 0 && !(m.fuseUnk && len(syms) > 0 && syms[len(syms)-1].id == m.unk) {
				add(m.unk)
			}
		}
	} else {
		m.charSymbols(word, add, func() bool { return m.fuseUnk && len(syms) > 0 && syms[len(syms)-1].id == m.unk })
	}
	if len(syms) > 0 {
		syms[len(syms)-1].next = -1
	}
	sc.syms = syms
	return syms
}

func (m *bpe) charSymbols(word string, add func(int32), lastIsUnk func() bool) {
	first := true
	for i, r := range word {
		n := utf8.RuneLen(r)
		if r == utf8.RuneError {
			n = 1
		}
		id := int32(-1)
		if (m.prefix == "" || first) && m.suffix == "" {
			id = m.lookupRune(r)
		} else {
			tok := word[i : i+n]
			if !first {
				tok = m.prefix + tok
			}
			if i+n == len(word) {
				tok += m.suffix
			}
			if v, ok := m.vocab[tok]; ok {
				id = v
			}
		}
		first = false
		switch {
		case id >= 0:
			add(id)
		case m.byteFallback && m.allBytes(word[i:i+n]):
			for k := i; k < i+n; k++ {
				add(m.byteIDs[word[k]])
			}
		case m.unk >= 0:
			if !lastIsUnk() {
				add(m.unk)
			}
		}
	}
}

func (m *bpe) allBytes(s string) bool {
	for k := 0; k < len(s); k++ {
		if m.byteIDs[s[k]] < 0 {
			return false
		}
	}
	return true
}

// merge applies the merges in rank order, leftmost first among equals, as
// Hugging Face's Word::merge_all does.
func (m *bpe) merge(sc *scratch, syms []symbol) {
	h := sc.heap[:0]
	push := func(pos int32) {
		next := syms[pos].next
		if next < 0 {
			return
		}
		if v, ok := m.merges[pairKey(syms[pos].id, syms[next].id)]; ok {
			h = heapPush(h, mergeItem{pos: pos, rank: uint32(v >> 32), id: int32(uint32(v))})
		}
	}
	for i := range syms {
		push(int32(i))
	}
	for len(h) > 0 {
		var top mergeItem
		h, top = heapPop(h)
		s := &syms[top.pos]
		if s.dead || s.next < 0 {
			continue
		}
		right := syms[s.next]
		if v, ok := m.merges[pairKey(s.id, right.id)]; !ok || int32(uint32(v)) != top.id {
			continue
		}
		s.id = top.id
		syms[s.next].dead = true
		s.next = right.next
		if right.next >= 0 {
			syms[right.next].prev = top.pos
		}
		if s.prev >= 0 {
			push(s.prev)
		}
		push(top.pos)
	}
	sc.heap = h
}
