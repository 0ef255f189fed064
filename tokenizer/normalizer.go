package tokenizer

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// A normalizer rewrites one piece of text before pre-tokenization. It
// returns s itself when nothing changes, which keeps ASCII text free of
// allocations.
type normalizer interface {
	normalize(s string) string
}

type normalizerSeq []normalizer

func (q normalizerSeq) normalize(s string) string {
	for _, n := range q {
		s = n.normalize(s)
	}
	return s
}

// unicodeForm is one of NFC, NFD, NFKC, NFKD.
type unicodeForm struct{ f norm.Form }

func (u unicodeForm) normalize(s string) string {
	// ASCII is unchanged by every form; checking it first spares
	// IsNormalString's allocation on the common case.
	if isASCII(s) || u.f.IsNormalString(s) {
		return s
	}
	return u.f.String(s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// lowercase maps each character on its own, as Rust's char::to_lowercase
// does: no final-sigma rule, and U+0130 becomes "i̇" (two characters).
type lowercase struct{}

func (lowercase) normalize(s string) string {
	i := 0
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == 0x130 || unicode.ToLower(r) != r {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteString(s[:i])
	for _, r := range s[i:] {
		if r == 0x130 {
			b.WriteString("i\u0307")
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// stripAccents drops combining marks (general category M), as Hugging
// Face's StripAccents normalizer does; it is meant to follow NFD or NFKD.
type stripAccents struct{ nonspacingOnly bool }

func (a stripAccents) normalize(s string) string {
	for _, r := range s {
		if a.drop(r) {
			return strings.Map(func(r rune) rune {
				if a.drop(r) {
					return -1
				}
				return r
			}, s)
		}
	}
	return s
}

func (a stripAccents) drop(r rune) bool {
	if r < 0x300 {
		return false
	}
	if a.nonspacingOnly {
		return unicode.Is(unicode.Mn, r)
	}
	return unicode.Is(unicode.M, r)
}

// replaceString replaces every occurrence of a literal.
type replaceString struct{ old, new string }

func (r replaceString) normalize(s string) string {
	if r.old == "" || !strings.Contains(s, r.old) {
		return s
	}
	return strings.ReplaceAll(s, r.old, r.new)
}

// replaceRegex replaces every match of a pattern Go's regexp accepts.
type replaceRegex struct {
	re  *regexp.Regexp
	new string
}

func (r replaceRegex) normalize(s string) string {
	return r.re.ReplaceAllLiteralString(s, r.new)
}

// prepend adds a prefix to every non-empty piece.
type prepend struct{ prefix string }

func (p prepend) normalize(s string) string {
	if s == "" {
		return s
	}
	return p.prefix + s
}

// strip removes leading and/or trailing white space.
type strip struct{ left, right bool }

func (p strip) normalize(s string) string {
	if p.left {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
	}
	if p.right {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
	}
	return s
}

// bertNormalizer is Hugging Face's BertNormalizer.
type bertNormalizer struct {
	cleanText, chineseChars, stripAccents, lowercase bool
}

func (b bertNormalizer) normalize(s string) string {
	if b.cleanText || b.chineseChars {
		s = b.clean(s)
	}
	if b.stripAccents {
		s = stripAccents{nonspacingOnly: true}.normalize(unicodeForm{norm.NFD}.normalize(s))
	}
	if b.lowercase {
		s = lowercase{}.normalize(s)
	}
	return s
}

// clean drops NUL, U+FFFD and "other" characters (category C, unassigned
// included) except tab, newline and carriage return, turns white space
// into plain spaces, and puts spaces around CJK ideographs.
func (b bertNormalizer) clean(s string) string {
	changes := false
	for _, r := range s {
		if r >= 0x80 || r < 0x20 || r == 0x7f {
			changes = true
			break
		}
	}
	if !changes {
		return s
	}
	var out strings.Builder
	out.Grow(len(s) + 8)
	for _, r := range s {
		switch {
		case b.cleanText && (r == 0 || r == utf8.RuneError || (r != '\t' && r != '\n' && r != '\r' && isOther(r))):
		case b.cleanText && unicode.IsSpace(r):
			out.WriteByte(' ')
		case b.chineseChars && isCJK(r):
			out.WriteByte(' ')
			out.WriteRune(r)
			out.WriteByte(' ')
		default:
			out.WriteRune(r)
		}
	}
	return out.String()
}

// isOther reports the "other" characters that Hugging Face's BertNormalizer
// drops: control, format and private use. Unassigned code points are kept,
// as the Rust implementation keeps them, and so are the format characters
// its Unicode tables predate (found by encoding every code point with it).
func isOther(r rune) bool {
	switch {
	case r == 0x890, r == 0x891, r == 0x8E2, r == 0x110CD, r >= 0x13430 && r <= 0x1343F:
		return false
	}
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co)
}

func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) || (r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) || (r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) || (r >= 0x2B920 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) || (r >= 0x2F800 && r <= 0x2FA1F)
}
