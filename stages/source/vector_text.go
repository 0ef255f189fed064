package source

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Text sources read a vector column (fixed_size_list<float32>[n], the shape
// model stages take) from a JSON array of n numbers: a JSON-lines value
// such as "x": [0.5, -1, 2e-3], or a CSV cell holding the same text.

// maxVectorLen bounds n in a schema's vector[n].
const maxVectorLen = 1 << 20

// vectorType is the type of a vector[n] column.
func vectorType(n int) arrow.DataType {
	return arrow.FixedSizeListOf(int32(n), arrow.PrimitiveTypes.Float32)
}

// parseVectorType reads "vector[n]" (or Arrow's own spelling,
// "fixed_size_list<float32>[n]"); ok is false when s is neither.
func parseVectorType(s string) (arrow.DataType, bool, error) {
	var rest string
	switch {
	case strings.HasPrefix(s, "vector["):
		rest = s[len("vector["):]
	case strings.HasPrefix(s, "fixed_size_list<float32>["):
		rest = s[len("fixed_size_list<float32>["):]
	default:
		return nil, false, nil
	}
	n, err := strconv.Atoi(strings.TrimSuffix(rest, "]"))
	if !strings.HasSuffix(rest, "]") || err != nil || n < 1 || n > maxVectorLen {
		return nil, true, fmt.Errorf("type %q: want vector[n] with n from 1 to %d", s, maxVectorLen)
	}
	return vectorType(n), true, nil
}

// parseVector appends to dst the numbers of s, a JSON array of exactly n
// numbers (white space allowed; no nulls); ok is false otherwise.
func parseVector(s string, n int, dst []float32) ([]float32, bool) {
	s = strings.TrimSpace(s)
	if len(s) < 2 || s[0] != '[' || s[len(s)-1] != ']' {
		return dst, false
	}
	s = strings.TrimSpace(s[1 : len(s)-1])
	if s == "" {
		return dst, n == 0
	}
	for k := 0; ; k++ {
		if k == n {
			return dst, false // more than n
		}
		tok := s
		i := strings.IndexByte(s, ',')
		if i >= 0 {
			tok, s = s[:i], s[i+1:]
		}
		v, ok := parseFloat32(strings.TrimSpace(tok))
		if !ok {
			return dst, false
		}
		dst = append(dst, v)
		if i < 0 {
			return dst, k+1 == n
		}
	}
}

// float32Pow10 holds the powers of ten that float32 represents exactly.
var float32Pow10 = [...]float32{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10}

// parseFloat32 reads tok, a JSON number, as strconv.ParseFloat(tok, 32)
// does; ok is false for anything else (a null, a string, an empty element,
// NaN, Inf, hex). It has a fast path for the common case: at most 7
// significant digits and a small exponent, where a single float32 division
// of exact values gives the correctly rounded result (Clinger's fast path,
// as strconv's own). Other numbers go to strconv. A vector of 32 numbers
// then parses in about a third of the time.
func parseFloat32(tok string) (float32, bool) {
	if tok == "" || (tok[0] != '-' && (tok[0] < '0' || tok[0] > '9')) {
		return 0, false
	}
	i, neg := 0, false
	if i < len(tok) && tok[i] == '-' {
		neg = true
		i++
	}
	var mant uint32
	digits, exp := 0, 0
	sawDigit, sawDot := false, false
	for ; i < len(tok); i++ {
		c := tok[i]
		switch {
		case c >= '0' && c <= '9':
			sawDigit = true
			if mant == 0 && c == '0' {
				if sawDot {
					exp--
				}
				continue // leading zeros are not significant
			}
			digits++
			if digits > 7 {
				return slowFloat32(tok)
			}
			mant = mant*10 + uint32(c-'0')
			if sawDot {
				exp--
			}
		case c == '.' && !sawDot:
			sawDot = true
		case c == 'e' || c == 'E':
			return slowFloat32(tok)
		default:
			return 0, false
		}
	}
	if !sawDigit {
		return 0, false
	}
	f := float32(mant) // exact: mant < 10^7 < 2^24
	switch {
	case mant == 0:
	case exp >= 0:
		// no fractional digits: mant is the value (exp counts only
		// fractional digits, so it is never above 0 here)
	case -exp < len(float32Pow10):
		f /= float32Pow10[-exp]
	default:
		return slowFloat32(tok)
	}
	if neg {
		f = -f
	}
	return f, true
}

func slowFloat32(tok string) (float32, bool) {
	if !numberChars(tok) {
		return 0, false
	}
	v, err := strconv.ParseFloat(tok, 32)
	return float32(v), err == nil
}

// numberChars reports whether tok could be a JSON number: it starts with
// a digit or a minus and holds only digits, signs, dots and exponents.
func numberChars(tok string) bool {
	if tok == "" || (tok[0] != '-' && (tok[0] < '0' || tok[0] > '9')) {
		return false
	}
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+', c == '.', c == 'e', c == 'E':
		default:
			return false
		}
	}
	return true
}

// vectorAppender is the appender of a vector column's builder.
func vectorAppender(b *array.FixedSizeListBuilder) appender {
	vb := b.ValueBuilder().(*array.Float32Builder)
	n := int(b.Type().(*arrow.FixedSizeListType).Len())
	buf := make([]float32, 0, n)
	return func(s string) bool {
		var ok bool
		if buf, ok = parseVector(s, n, buf[:0]); !ok {
			return false
		}
		b.Append(true)
		vb.AppendValues(buf, nil)
		return true
	}
}

// isVectorType reports whether dt is a vector column's type.
func isVectorType(dt arrow.DataType) bool {
	l, ok := dt.(*arrow.FixedSizeListType)
	return ok && l.Elem().ID() == arrow.FLOAT32
}

// observeVector narrows k with one JSON array value: a column is a vector
// when every value is an array of the same number of numbers. vec is
// scratch space, returned for reuse.
func (k *inferKind) observeVector(raw string, vec []float32) []float32 {
	k.isBool, k.isInt, k.isFloat, k.isTime = false, false, false, false
	n := strings.Count(raw, ",") + 1
	vec, ok := parseVector(raw, n, vec[:0])
	if !ok || (k.vec != 0 && k.vec != n) {
		k.other = true
		return vec
	}
	k.vec = n
	k.arrays++
	return vec
}
