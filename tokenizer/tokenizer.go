package tokenizer

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"unicode/utf8"
)

// Encoding is the model input for one text or pair. IDs, TypeIDs and Mask
// have the same length; Tokens is filled only when Options.Tokens is set.
type Encoding struct {
	IDs     []int32
	TypeIDs []int32
	Mask    []int32
	Tokens  []string
}

// Strategy says which text of a pair truncation shortens.
type Strategy int

const (
	// LongestFirst shortens the longer text first, as Hugging Face does.
	LongestFirst Strategy = iota
	OnlyFirst
	OnlySecond
)

// Side says which end of a text truncation cuts.
type Side int

const (
	Right Side = iota // keep the start
	Left              // keep the end
)

// Truncation limits the encoding to MaxLength ids, special tokens
// included. A zero MaxLength means no limit.
type Truncation struct {
	MaxLength int
	Strategy  Strategy
	Side      Side
}

// Options tunes one encoding.
type Options struct {
	Truncation Truncation
	// NoSpecialTokens leaves out the post-processor's special tokens
	// (Hugging Face's add_special_tokens=False).
	NoSpecialTokens bool
	// Tokens fills Encoding.Tokens with the token strings.
	Tokens bool
}

// model cuts one pre-tokenized word into token ids.
type model interface {
	appendIDs(sc *scratch, dst []int32, word string) []int32
}

// Tokenizer encodes text as one Hugging Face tokenizer.json describes. It
// is immutable and safe for concurrent use.
type Tokenizer struct {
	rawAdded  *addedMatcher // tokens matched before normalization
	normAdded *addedMatcher // tokens matched in normalized text
	norm      normalizer
	pre       preTokenizer
	model     model
	post      template
	tokens    []string // by id
	padID     int32
	padToken  string
	hasPad    bool
	scratch   sync.Pool
}

// scratch holds the buffers of one encoding, reused through a pool.
type scratch struct {
	pieces, sub []piece
	words       []string
	a, b        []int32
	bytes       []byte
	splits      []wordSplit
	tmp         []int32
	starts      []int
	syms        []symbol
	heap        []mergeItem
}

// LoadFile reads a tokenizer.json file.
func LoadFile(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	t, err := Load(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// Load reads a Hugging Face tokenizer.json.
func Load(r io.Reader) (*Tokenizer, error) {
	var f fileJSON
	if err := json.NewDecoder(r).Decode(&f); err != nil {
		return nil, formatErrorf("%v", err)
	}
	return build(&f)
}

func build(f *fileJSON) (*Tokenizer, error) {
	t := &Tokenizer{}
	t.scratch.New = func() any { return new(scratch) }
	vocab, err := buildModel(t, &f.Model)
	if err != nil {
		return nil, err
	}
	if t.norm, err = buildNormalizer(f.Normalizer); err != nil {
		return nil, err
	}
	if t.pre, err = buildPreTokenizer(f.PreTokenizer); err != nil {
		return nil, err
	}
	if err := t.checkByteLevel(); err != nil {
		return nil, err
	}
	if t.post, err = buildPostProcessor(f.PostProcessor); err != nil {
		return nil, err
	}
	t.buildAdded(f.AddedTokens, vocab)
	for _, p := range append(append([]templatePart(nil), t.post.single...), t.post.pair...) {
		for _, id := range p.ids {
			if id < 0 || int(id) >= len(t.tokens) {
				return nil, formatErrorf("post-processor token id %d is outside the vocabulary", id)
			}
		}
	}
	t.findPad(f, vocab)
	return t, nil
}

// buildModel sets t.model and t.tokens and returns the model's vocabulary.
func buildModel(t *Tokenizer, m *modelJSON) (map[string]int32, error) {
	if m.Type == "" {
		switch {
		case len(m.Merges) > 0:
			m.Type = "BPE"
		case m.MaxInputCharsPerWord != nil:
			m.Type = "WordPiece"
		}
	}
	if m.Type != "BPE" && m.Type != "WordPiece" {
		return nil, &UnsupportedError{Component: "model", Type: m.Type}
	}
	var vocab map[string]int32
	if err := json.Unmarshal(m.Vocab, &vocab); err != nil {
		return nil, formatErrorf("model vocab: %v", err)
	}
	unk := int32(-1)
	if m.UnkToken != nil {
		id, ok := vocab[*m.UnkToken]
		if !ok && m.Type == "WordPiece" {
			return nil, formatErrorf("unk_token %q is not in the vocabulary", *m.UnkToken)
		}
		if ok {
			unk = id
		}
	}
	for tok, id := range vocab {
		if id < 0 {
			return nil, formatErrorf("token %q has negative id %d", tok, id)
		}
		t.setToken(id, tok)
	}
	if m.Type == "WordPiece" {
		wp := &wordPiece{vocab: vocab, unk: unk, prefix: "##", maxChars: 100}
		if m.ContinuingSubwordPrefix != nil {
			wp.prefix = *m.ContinuingSubwordPrefix
		}
		if m.MaxInputCharsPerWord != nil {
			wp.maxChars = *m.MaxInputCharsPerWord
		}
		wp.setLongest()
		if unk < 0 {
			return nil, formatErrorf("WordPiece model without an unk_token")
		}
		t.model = wp
		return vocab, nil
	}
	if m.Dropout != nil && *m.Dropout > 0 {
		return nil, &UnsupportedError{Component: "BPE dropout", Type: fmt.Sprint(*m.Dropout)}
	}
	b := &bpe{vocab: vocab, unk: unk, fuseUnk: m.FuseUnk, byteFallback: m.ByteFallback, ignoreMerges: m.IgnoreMerges}
	if m.ContinuingSubwordPrefix != nil {
		b.prefix = *m.ContinuingSubwordPrefix
	}
	if m.EndOfWordSuffix != nil {
		b.suffix = *m.EndOfWordSuffix
	}
	merges, err := decodeMerges(m.Merges)
	if err != nil {
		return nil, err
	}
	if err := b.init(merges); err != nil {
		return nil, err
	}
	t.model = b
	return vocab, nil
}

// decodeMerges reads merges as ["a b", ...] or [["a", "b"], ...].
func decodeMerges(raw json.RawMessage) ([][2]string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var pairs [][2]string
	if err := json.Unmarshal(raw, &pairs); err == nil {
		return pairs, nil
	}
	var lines []string
	if err := json.Unmarshal(raw, &lines); err != nil {
		return nil, formatErrorf("model merges: %v", err)
	}
	pairs = make([][2]string, len(lines))
	for i, l := range lines {
		a, b, ok := strings.Cut(l, " ")
		if !ok || strings.Contains(b, " ") {
			return nil, formatErrorf("merge %q is not two tokens separated by a space", l)
		}
		pairs[i] = [2]string{a, b}
	}
	return pairs, nil
}

// checkByteLevel lets a BPE model read raw bytes when ByteLevel is the
// last pre-tokenizer; anywhere else it would have to map bytes before the
// next pre-tokenizer, which no known tokenizer does.
func (t *Tokenizer) checkByteLevel() error {
	last := t.pre
	seq, isSeq := t.pre.(preTokenizerSeq)
	if isSeq {
		for i, p := range seq {
			if _, isBL := p.(byteLevel); isBL && i != len(seq)-1 {
				return &UnsupportedError{Component: "pre_tokenizer", Type: "ByteLevel before another pre-tokenizer"}
			}
		}
		last = seq[len(seq)-1]
	}
	bl, ok := last.(byteLevel)
	if !ok {
		return nil
	}
	b, ok := t.model.(*bpe)
	if !ok {
		return &UnsupportedError{Component: "pre_tokenizer", Type: "ByteLevel with a model other than BPE"}
	}
	b.byteLevel = true
	// A ByteLevel that neither splits nor adds a space leaves the words as
	// they are once the model maps bytes, so it is dropped (Llama 3, Qwen).
	if isSeq && !bl.useRegex && !bl.addPrefixSpace {
		if seq = seq[:len(seq)-1]; len(seq) == 1 {
			t.pre = seq[0]
		} else {
			t.pre = seq
		}
	}
	return nil
}

func (t *Tokenizer) setToken(id int32, tok string) {
	for int(id) >= len(t.tokens) {
		t.tokens = append(t.tokens, "")
	}
	t.tokens[id] = tok
}

// buildAdded builds the two matchers of added tokens; the normalized ones
// are matched in their normalized spelling.
func (t *Tokenizer) buildAdded(list []addedTokenJSON, vocab map[string]int32) {
	var raw, normd []addedToken
	var rawPat, normPat []string
	for _, a := range list {
		tok := addedToken{id: a.ID, content: a.Content, lstrip: a.LStrip, rstrip: a.RStrip,
			singleWord: a.SingleWord, normalized: a.Normalized, special: a.Special}
		if a.ID >= 0 && (int(a.ID) >= len(t.tokens) || t.tokens[a.ID] == "") {
			t.setToken(a.ID, a.Content)
		}
		if a.Normalized && t.norm != nil {
			normd = append(normd, tok)
			normPat = append(normPat, t.norm.normalize(a.Content))
		} else {
			raw = append(raw, tok)
			rawPat = append(rawPat, a.Content)
		}
	}
	t.rawAdded = newAddedMatcher(raw, rawPat)
	t.normAdded = newAddedMatcher(normd, normPat)
}

// findPad takes the padding block's token, else a special added token
// spelled [PAD] or <pad>.
func (t *Tokenizer) findPad(f *fileJSON, vocab map[string]int32) {
	if f.Padding != nil {
		t.padID, t.padToken, t.hasPad = f.Padding.PadID, f.Padding.PadToken, true
		return
	}
	for _, a := range f.AddedTokens {
		if a.Special && (a.Content == "[PAD]" || a.Content == "<pad>") {
			t.padID, t.padToken, t.hasPad = a.ID, a.Content, true
			return
		}
	}
}

// PadID returns the id of the padding token the file declares, if any.
func (t *Tokenizer) PadID() (int32, bool) { return t.padID, t.hasPad }

// PadToken returns the padding token the file declares, if any.
func (t *Tokenizer) PadToken() (string, bool) { return t.padToken, t.hasPad }

// VocabSize returns one more than the largest token id.
func (t *Tokenizer) VocabSize() int { return len(t.tokens) }

// Token returns the string of a token id ("" for an id out of range).
func (t *Tokenizer) Token(id int32) string {
	if id < 0 || int(id) >= len(t.tokens) {
		return ""
	}
	return t.tokens[id]
}

// Encode encodes one text.
func (t *Tokenizer) Encode(text string, opts Options) (Encoding, error) {
	var e Encoding
	err := t.Append(&e, text, opts)
	return e, err
}

// EncodePair encodes a pair of texts, as a cross-encoder takes them.
func (t *Tokenizer) EncodePair(a, b string, opts Options) (Encoding, error) {
	var e Encoding
	err := t.AppendPair(&e, a, b, opts)
	return e, err
}

// Append encodes one text and appends it to dst's slices, so that a caller
// encoding many rows into one buffer allocates only as the buffer grows.
// On error dst is unchanged.
func (t *Tokenizer) Append(dst *Encoding, text string, opts Options) error {
	sc := t.scratch.Get().(*scratch)
	defer t.scratch.Put(sc)
	return t.encode(sc, dst, text, "", false, opts)
}

// AppendPair is Append for a pair of texts.
func (t *Tokenizer) AppendPair(dst *Encoding, a, b string, opts Options) error {
	sc := t.scratch.Get().(*scratch)
	defer t.scratch.Put(sc)
	return t.encode(sc, dst, a, b, true, opts)
}

// Encoder encodes with buffers of its own, for one goroutine at a time:
// a worker that encodes many rows keeps one Encoder rather than going
// through the Tokenizer's shared pool.
type Encoder struct {
	t  *Tokenizer
	sc scratch
}

// NewEncoder returns an Encoder for t.
func (t *Tokenizer) NewEncoder() *Encoder { return &Encoder{t: t} }

// Append is Tokenizer.Append with the Encoder's buffers.
func (e *Encoder) Append(dst *Encoding, text string, opts Options) error {
	return e.t.encode(&e.sc, dst, text, "", false, opts)
}

// AppendPair is Tokenizer.AppendPair with the Encoder's buffers.
func (e *Encoder) AppendPair(dst *Encoding, a, b string, opts Options) error {
	return e.t.encode(&e.sc, dst, a, b, true, opts)
}

func (t *Tokenizer) encode(sc *scratch, dst *Encoding, a, b string, pair bool, opts Options) error {
	if !utf8.ValidString(a) {
		return &InputError{Offset: invalidAt(a)}
	}
	if pair && !utf8.ValidString(b) {
		return &InputError{Offset: invalidAt(b), Pair: true}
	}
	// Hugging Face stops tokenizing a text early when truncating, except
	// the first text under OnlySecond; that changes how LongestFirst
	// shares the room, so it is done here too.
	tr := opts.Truncation
	limitA, limitB := tr.MaxLength, tr.MaxLength
	if tr.Strategy == OnlySecond {
		limitA = 0
	}
	sc.a = t.encodeSequence(sc, sc.a[:0], a, limitA, tr.Side)
	sc.b = sc.b[:0]
	if pair {
		sc.b = t.encodeSequence(sc, sc.b, b, limitB, tr.Side)
	}
	parts := defaultTemplate.single
	if pair {
		parts = defaultTemplate.pair
	}
	if !opts.NoSpecialTokens {
		parts = t.post.single
		if pair {
			parts = t.post.pair
		}
	}
	ids, pids, err := truncate(sc.a, sc.b, pair, opts.Truncation, addedCount(parts))
	if err != nil {
		return err
	}
	for _, p := range parts {
		seq := p.ids
		switch p.seq {
		case 0:
			seq = ids
		case 1:
			seq = pids
		}
		for _, id := range seq {
			dst.IDs = append(dst.IDs, id)
			dst.TypeIDs = append(dst.TypeIDs, p.typeID)
			dst.Mask = append(dst.Mask, 1)
			if opts.Tokens {
				dst.Tokens = append(dst.Tokens, t.Token(id))
			}
		}
	}
	return nil
}

func addedCount(parts []templatePart) int {
	n := 0
	for _, p := range parts {
		n += len(p.ids)
	}
	return n
}

func invalidAt(s string) int {
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			return i
		}
		i += n
	}
	return len(s)
}

// forEachSplit cuts text into the splits Hugging Face tokenizes one by
// one: added tokens (id >= 0) and pre-tokenized words (id < 0). It stops
// when yield returns false.
func (t *Tokenizer) forEachSplit(sc *scratch, text string, yield func(word string, id int32) bool) {
	pieces := t.rawAdded.appendPieces(sc.pieces[:0], text, true)
	defer func() { sc.pieces = pieces }()
	for _, p := range pieces {
		if p.id >= 0 {
			if !yield("", p.id) {
				return
			}
			continue
		}
		s := p.text
		if t.norm != nil {
			s = t.norm.normalize(s)
		}
		sub := t.normAdded.appendPieces(sc.sub[:0], s, p.first)
		sc.sub = sub
		for _, q := range sub {
			if q.id >= 0 || t.pre == nil {
				if !yield(q.text, q.id) {
					return
				}
				continue
			}
			words := t.pre.appendWords(sc.words[:0], q.text, q.first)
			sc.words = words
			for _, w := range words {
				if w != "" && !yield(w, -1) {
					return
				}
			}
		}
	}
}

// encodeSequence appends the ids of one text, without the
// post-processor's special tokens. With a limit it stops, as Hugging Face
// does when truncation is set, once the splits tokenized from the kept end
// hold at least limit ids; truncate then cuts the rest.
func (t *Tokenizer) encodeSequence(sc *scratch, dst []int32, text string, limit int, side Side) []int32 {
	base := len(dst)
	if limit <= 0 || side == Right {
		t.forEachSplit(sc, text, func(w string, id int32) bool {
			if id >= 0 {
				dst = append(dst, id)
				return true
			}
			dst = t.model.appendIDs(sc, dst, w)
			return limit <= 0 || len(dst)-base < limit
		})
		return dst
	}
	// Left: tokenize from the last split backwards, then emit the kept
	// splits in order.
	splits := sc.splits[:0]
	t.forEachSplit(sc, text, func(w string, id int32) bool {
		splits = append(splits, wordSplit{w, id})
		return true
	})
	tmp, starts := sc.tmp[:0], sc.starts[:0]
	for i := len(splits) - 1; i >= 0; i-- {
		starts = append(starts, len(tmp))
		if splits[i].id >= 0 {
			tmp = append(tmp, splits[i].id)
			continue
		}
		tmp = t.model.appendIDs(sc, tmp, splits[i].word)
		if len(tmp) >= limit {
			break
		}
	}
	for k := len(starts) - 1; k >= 0; k-- {
		end := len(tmp)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		dst = append(dst, tmp[starts[k]:end]...)
	}
	sc.splits, sc.tmp, sc.starts = splits[:0], tmp, starts
	return dst
}

// wordSplit is a split kept for right-to-left tokenization.
type wordSplit struct {
	word string
	id   int32
}
