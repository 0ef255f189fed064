package stages

import (
	"fmt"
	"strconv"
	"strings"
)

// Hive-style partition folders (`key=value`) are written by sinks
// (parquet_sink's partition_by) and read by sources (partitioning: hive);
// both escape names as Hive does.

// EscapePathName escapes s for a partition folder name as Hive's
// FileUtils.escapePathName does: control characters, `"#%'*/:=?\^{[]` and
// DEL become %XX (uppercase hex); other bytes, UTF-8 included, stay. A NUL
// byte, which no file name may hold, is escaped too.
func EscapePathName(s string) string {
	i := strings.IndexFunc(s, func(r rune) bool { return r < 0x80 && hiveEscaped(byte(r)) })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.WriteString(s[:i])
	for j := i; j < len(s); j++ {
		if c := s[j]; hiveEscaped(c) {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// hiveEscaped reports whether Hive escapes byte c in a path name.
func hiveEscaped(c byte) bool {
	if c < 0x20 || c == 0x7F {
		return true
	}
	return strings.IndexByte("\"#%'*/:=?\\^{[]", c) >= 0
}

// UnescapePathName reverses [EscapePathName], as Hive's
// FileUtils.unescapePathName does: a % not followed by two hex digits
// stays.
func UnescapePathName(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+3], 16, 8); err == nil {
				b.WriteByte(byte(v))
				i += 2
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
