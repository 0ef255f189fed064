package tokenizer

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// fileJSON is the part of tokenizer.json this package reads.
type fileJSON struct {
	AddedTokens   []addedTokenJSON `json:"added_tokens"`
	Normalizer    json.RawMessage  `json:"normalizer"`
	PreTokenizer  json.RawMessage  `json:"pre_tokenizer"`
	PostProcessor json.RawMessage  `json:"post_processor"`
	Model         modelJSON        `json:"model"`
	Padding       *struct {
		PadID    int32  `json:"pad_id"`
		PadToken string `json:"pad_token"`
	} `json:"padding"`
}

type addedTokenJSON struct {
	ID         int32  `json:"id"`
	Content    string `json:"content"`
	SingleWord bool   `json:"single_word"`
	LStrip     bool   `json:"lstrip"`
	RStrip     bool   `json:"rstrip"`
	Normalized bool   `json:"normalized"`
	Special    bool   `json:"special"`
}

type modelJSON struct {
	Type                    string          `json:"type"`
	Vocab                   json.RawMessage `json:"vocab"`
	Merges                  json.RawMessage `json:"merges"`
	UnkToken                *string         `json:"unk_token"`
	ContinuingSubwordPrefix *string         `json:"continuing_subword_prefix"`
	EndOfWordSuffix         *string         `json:"end_of_word_suffix"`
	FuseUnk                 bool            `json:"fuse_unk"`
	ByteFallback            bool            `json:"byte_fallback"`
	IgnoreMerges            bool            `json:"ignore_merges"`
	Dropout                 *float64        `json:"dropout"`
	MaxInputCharsPerWord    *int            `json:"max_input_chars_per_word"`
}

// component is what every normalizer, pre-tokenizer and post-processor
// object has in common, plus the fields any of them uses.
type component struct {
	Type string `json:"type"`
	// Sequence
	Normalizers   []json.RawMessage `json:"normalizers"`
	PreTokenizers []json.RawMessage `json:"pretokenizers"`
	Processors    []json.RawMessage `json:"processors"`
	// BertNormalizer
	CleanText          *bool `json:"clean_text"`
	HandleChineseChars *bool `json:"handle_chinese_chars"`
	StripAccents       *bool `json:"strip_accents"`
	Lowercase          *bool `json:"lowercase"`
	// Replace, Split
	Pattern  *patternJSON `json:"pattern"`
	Content  string       `json:"content"`
	Behavior string       `json:"behavior"`
	Invert   bool         `json:"invert"`
	// Prepend
	Prepend string `json:"prepend"`
	// Strip
	StripLeft  *bool `json:"strip_left"`
	StripRight *bool `json:"strip_right"`
	// ByteLevel
	AddPrefixSpace *bool `json:"add_prefix_space"`
	UseRegex       *bool `json:"use_regex"`
	// Metaspace
	Replacement   string `json:"replacement"`
	PrependScheme string `json:"prepend_scheme"`
	Split         *bool  `json:"split"`
	// Digits
	IndividualDigits bool `json:"individual_digits"`
	// TemplateProcessing
	Single        []templateItemJSON          `json:"single"`
	Pair          []templateItemJSON          `json:"pair"`
	SpecialTokens map[string]specialTokenJSON `json:"special_tokens"`
	// BertProcessing, RobertaProcessing: [token, id]
	Sep []json.RawMessage `json:"sep"`
	Cls []json.RawMessage `json:"cls"`
}

type patternJSON struct {
	String *string `json:"String"`
	Regex  *string `json:"Regex"`
}

type templateItemJSON struct {
	SpecialToken *struct {
		ID     string `json:"id"`
		TypeID int32  `json:"type_id"`
	} `json:"SpecialToken"`
	Sequence *struct {
		ID     string `json:"id"`
		TypeID int32  `json:"type_id"`
	} `json:"Sequence"`
}

type specialTokenJSON struct {
	ID  string  `json:"id"`
	IDs []int32 `json:"ids"`
}

func decodeComponent(raw json.RawMessage, what string) (*component, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var c component
	if err := json.Unmarshal(raw, &c); err != nil {
		return nil, formatErrorf("%s: %v", what, err)
	}
	return &c, nil
}

func boolOr(p *bool, def bool) bool {
	if p == nil {
		return def
	}
	return *p
}

func buildNormalizer(raw json.RawMessage) (normalizer, error) {
	c, err := decodeComponent(raw, "normalizer")
	if err != nil || c == nil {
		return nil, err
	}
	switch c.Type {
	case "Sequence":
		var seq normalizerSeq
		for _, r := range c.Normalizers {
			n, err := buildNormalizer(r)
			if err != nil {
				return nil, err
			}
			if n != nil {
				seq = append(seq, n)
			}
		}
		return seq, nil
	case "BertNormalizer":
		lower := boolOr(c.Lowercase, true)
		return bertNormalizer{cleanText: boolOr(c.CleanText, true), chineseChars: boolOr(c.HandleChineseChars, true),
			stripAccents: boolOr(c.StripAccents, lower), lowercase: lower}, nil
	case "NFC":
		return unicodeForm{norm.NFC}, nil
	case "NFD":
		return unicodeForm{norm.NFD}, nil
	case "NFKC":
		return unicodeForm{norm.NFKC}, nil
	case "NFKD":
		return unicodeForm{norm.NFKD}, nil
	case "Lowercase":
		return lowercase{}, nil
	case "StripAccents":
		return stripAccents{}, nil
	case "Prepend":
		return prepend{c.Prepend}, nil
	case "Strip":
		return strip{left: boolOr(c.StripLeft, true), right: boolOr(c.StripRight, true)}, nil
	case "Replace":
		if c.Pattern == nil {
			return nil, formatErrorf("Replace normalizer without a pattern")
		}
		if c.Pattern.String != nil {
			return replaceString{*c.Pattern.String, c.Content}, nil
		}
		re, err := compilePattern(*c.Pattern.Regex)
		if err != nil {
			return nil, err
		}
		return replaceRegex{re, c.Content}, nil
	}
	return nil, &UnsupportedError{Component: "normalizer", Type: c.Type}
}

func buildPreTokenizer(raw json.RawMessage) (preTokenizer, error) {
	c, err := decodeComponent(raw, "pre_tokenizer")
	if err != nil || c == nil {
		return nil, err
	}
	behaviorOf := func(def behavior) (behavior, error) {
		if c.Behavior == "" {
			return def, nil
		}
		b, ok := behaviors[c.Behavior]
		if !ok {
			return 0, &UnsupportedError{Component: "split behavior", Type: c.Behavior}
		}
		return b, nil
	}
	switch c.Type {
	case "Sequence":
		var seq preTokenizerSeq
		for _, r := range c.PreTokenizers {
			p, err := buildPreTokenizer(r)
			if err != nil {
				return nil, err
			}
			if p != nil {
				seq = append(seq, p)
			}
		}
		if len(seq) == 1 {
			return seq[0], nil
		}
		return seq, nil
	case "BertPreTokenizer":
		return bertPreTokenizer{}, nil
	case "Whitespace":
		return wordsAndPunct{}, nil
	case "WhitespaceSplit":
		return whitespaceSplit{}, nil
	case "ByteLevel":
		return byteLevel{addPrefixSpace: boolOr(c.AddPrefixSpace, true), useRegex: boolOr(c.UseRegex, true)}, nil
	case "Metaspace":
		scheme := strings.ToLower(c.PrependScheme)
		if scheme == "" {
			scheme = "never"
			if boolOr(c.AddPrefixSpace, true) {
				scheme = "always"
			}
		}
		if scheme != "always" && scheme != "first" && scheme != "never" {
			return nil, &UnsupportedError{Component: "Metaspace prepend_scheme", Type: c.PrependScheme}
		}
		repl := c.Replacement
		if repl == "" {
			repl = "\u2581"
		}
		return metaspace{replacement: repl, prepend: scheme, split: boolOr(c.Split, true)}, nil
	case "Digits":
		b := behaviorContiguous
		if c.IndividualDigits {
			b = behaviorIsolated
		}
		// Rust's char::is_numeric: any number (Nd, Nl, No), not only ASCII.
		return funcSplit{f: unicode.IsNumber, behavior: b}, nil
	case "Punctuation":
		b, err := behaviorOf(behaviorIsolated)
		if err != nil {
			return nil, err
		}
		return funcSplit{f: isBertPunct, behavior: b}, nil
	case "Split":
		b, err := behaviorOf(behaviorIsolated)
		if err != nil {
			return nil, err
		}
		return buildSplit(c, b)
	}
	return nil, &UnsupportedError{Component: "pre_tokenizer", Type: c.Type}
}

func buildSplit(c *component, b behavior) (preTokenizer, error) {
	if c.Pattern == nil {
		return nil, formatErrorf("Split pre-tokenizer without a pattern")
	}
	if c.Pattern.String != nil {
		return split{m: literal(*c.Pattern.String), behavior: b, invert: c.Invert}, nil
	}
	if sc, ok := knownPatterns[*c.Pattern.Regex]; ok {
		return split{m: sc, behavior: b, invert: c.Invert, whole: b == behaviorIsolated && !c.Invert, sc: sc}, nil
	}
	re, err := compilePattern(*c.Pattern.Regex)
	if err != nil {
		return nil, err
	}
	return split{m: goRegexp{re}, behavior: b, invert: c.Invert}, nil
}

// compilePattern compiles an Oniguruma pattern that Go's regexp can run
// with the same meaning: \s is widened to Unicode white space (as in
// Oniguruma); lookaround and backreferences are rejected.
func compilePattern(p string) (*regexp.Regexp, error) {
	const space = `\t\n\v\f\r \x{85}\p{Z}`
	var b strings.Builder
	inClass := false
	for i := 0; i < len(p); i++ {
		ch := p[i]
		switch {
		case ch == '\\' && i+1 < len(p):
			next := p[i+1]
			i++
			switch {
			case next == 's' && inClass:
				b.WriteString(space)
			case next == 's':
				b.WriteString("[" + space + "]")
			case next == 'S' && !inClass:
				b.WriteString("[^" + space + "]")
			case next == 'S', next >= '1' && next <= '9', next == 'w', next == 'W', next == 'b', next == 'B', next == 'd', next == 'D':
				return nil, &UnsupportedError{Component: "pattern", Type: p}
			default:
				b.WriteByte('\\')
				b.WriteByte(next)
			}
		case ch == '[' && !inClass:
			inClass = true
			b.WriteByte(ch)
			if i+1 < len(p) && p[i+1] == '^' {
				b.WriteByte('^')
				i++
			}
			if i+1 < len(p) && p[i+1] == ']' {
				b.WriteByte(']')
				i++
			}
		case ch == ']' && inClass:
			inClass = false
			b.WriteByte(ch)
		case ch == '(' && i+2 < len(p) && p[i+1] == '?' && (p[i+2] == '=' || p[i+2] == '!' || p[i+2] == '<'):
			return nil, &UnsupportedError{Component: "pattern", Type: p}
		default:
			b.WriteByte(ch)
		}
	}
	re, err := regexp.Compile(b.String())
	if err != nil {
		return nil, &UnsupportedError{Component: "pattern", Type: fmt.Sprintf("%s (%v)", p, err)}
	}
	return re, nil
}
