package source

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/stages"
)

// This file holds what the text sources (CSV, JSON lines) share: the
// explicit schema of their config, value parsing, and type inference.

// SchemaColumn is one column of an explicit schema in a text source's config.
type SchemaColumn struct {
	Name string `yaml:"name" required:"true" doc:"Column name."`
	Type string `yaml:"type" required:"true" doc:"One of bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, string, timestamp, date, or vector[n] (fixed_size_list<float32>[n], read from a JSON array of n numbers)."`
}

// timestampType is the type of timestamp columns: microseconds, UTC.
var timestampType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// textTypeNames lists the type names an explicit schema accepts.
const textTypeNames = "bool, int8, int16, int32, int64, uint8, uint16, uint32, uint64, float32, float64, string, timestamp, date, vector[n]"

// parseTextType maps a schema type name to its Arrow type.
func parseTextType(s string) (arrow.DataType, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if dt, ok, err := parseVectorType(s); ok {
		return dt, err
	}
	switch s {
	case "bool", "boolean":
		return arrow.FixedWidthTypes.Boolean, nil
	case "int8":
		return arrow.PrimitiveTypes.Int8, nil
	case "int16":
		return arrow.PrimitiveTypes.Int16, nil
	case "int32":
		return arrow.PrimitiveTypes.Int32, nil
	case "int64", "int":
		return arrow.PrimitiveTypes.Int64, nil
	case "uint8":
		return arrow.PrimitiveTypes.Uint8, nil
	case "uint16":
		return arrow.PrimitiveTypes.Uint16, nil
	case "uint32":
		return arrow.PrimitiveTypes.Uint32, nil
	case "uint64":
		return arrow.PrimitiveTypes.Uint64, nil
	case "float32", "float":
		return arrow.PrimitiveTypes.Float32, nil
	case "float64", "double":
		return arrow.PrimitiveTypes.Float64, nil
	case "string", "utf8":
		return arrow.BinaryTypes.String, nil
	case "timestamp":
		return timestampType, nil
	case "date", "date32":
		return arrow.FixedWidthTypes.Date32, nil
	}
	return nil, fmt.Errorf("unknown type %q; valid types: %s", s, textTypeNames)
}

// explicitSchema builds the schema of a config's `schema` list.
func explicitSchema(cols []SchemaColumn) (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(cols))
	seen := map[string]bool{}
	for i, c := range cols {
		if c.Name == "" {
			return nil, fmt.Errorf("schema[%d]: name is empty", i)
		}
		if seen[c.Name] {
			return nil, &stages.ColumnError{Column: c.Name, Msg: "listed twice in schema"}
		}
		seen[c.Name] = true
		dt, err := parseTextType(c.Type)
		if err != nil {
			return nil, &stages.ColumnError{Column: c.Name, Msg: err.Error()}
		}
		fields[i] = arrow.Field{Name: c.Name, Type: dt, Nullable: true}
	}
	return arrow.NewSchema(fields, nil), nil
}

// timeLayouts are the timestamp forms text sources accept; a value without
// a zone is UTC.
var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
	"2006-01-02",
}

func parseTime(s string) (time.Time, bool) {
	if len(s) < 10 || s[4] != '-' {
		return time.Time{}, false
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func parseBool(s string) (bool, bool) {
	switch s {
	case "true", "True", "TRUE", "t", "T":
		return true, true
	case "false", "False", "FALSE", "f", "F":
		return false, true
	}
	return false, false
}

// appender appends one text value to a column builder; ok is false when the
// text does not parse.
type appender func(s string) bool

// newAppender returns the appender of builder b.
func newAppender(b array.Builder) appender {
	switch b := b.(type) {
	case *array.BooleanBuilder:
		return boolAppender(b)
	case *array.Int8Builder:
		return intAppender(8, func(v int64) { b.Append(int8(v)) })
	case *array.Int16Builder:
		return intAppender(16, func(v int64) { b.Append(int16(v)) })
	case *array.Int32Builder:
		return intAppender(32, func(v int64) { b.Append(int32(v)) })
	case *array.Int64Builder:
		return intAppender(64, b.Append)
	case *array.Uint8Builder:
		return uintAppender(8, func(v uint64) { b.Append(uint8(v)) })
	case *array.Uint16Builder:
		return uintAppender(16, func(v uint64) { b.Append(uint16(v)) })
	case *array.Uint32Builder:
		return uintAppender(32, func(v uint64) { b.Append(uint32(v)) })
	case *array.Uint64Builder:
		return uintAppender(64, b.Append)
	case *array.Float32Builder:
		return floatAppender(32, func(v float64) { b.Append(float32(v)) })
	case *array.Float64Builder:
		return floatAppender(64, b.Append)
	case *array.StringBuilder:
		return stringAppender(b)
	case *array.FixedSizeListBuilder:
		if isVectorType(b.Type()) {
			return vectorAppender(b)
		}
	case *array.TimestampBuilder:
		return timestampAppender(b)
	case *array.Date32Builder:
		return date32Appender(b)
	}
	panic(fmt.Sprintf("source: no text appender for %T", b))
}

// boolAppender appends true/false in the spellings parseBool takes, or 1
// and 0.
func boolAppender(b *array.BooleanBuilder) appender {
	return func(s string) bool {
		v, ok := parseBool(s)
		if !ok {
			if s == "1" || s == "0" {
				v, ok = s == "1", true
			}
		}
		if ok {
			b.Append(v)
		}
		return ok
	}
}

// floatAppender parses a float of bitSize bits and hands it to add.
func floatAppender(bitSize int, add func(float64)) appender {
	return func(s string) bool {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), bitSize)
		if err != nil {
			return false
		}
		add(v)
		return true
	}
}

// stringAppender appends the text as is. Arrow strings are UTF-8: other
// text is refused.
func stringAppender(b *array.StringBuilder) appender {
	return func(s string) bool {
		if !utf8.ValidString(s) {
			return false
		}
		b.Append(s)
		return true
	}
}

// timestampAppender appends a time parseTime takes, in microseconds,
// refusing years a microsecond timestamp cannot hold.
func timestampAppender(b *array.TimestampBuilder) appender {
	return func(s string) bool {
		t, ok := parseTime(strings.TrimSpace(s))
		if !ok || t.Year() < -290000 || t.Year() > 290000 {
			return false
		}
		b.Append(arrow.Timestamp(t.UnixMicro()))
		return true
	}
}

// date32Appender appends a YYYY-MM-DD date.
func date32Appender(b *array.Date32Builder) appender {
	return func(s string) bool {
		t, err := time.Parse("2006-01-02", strings.TrimSpace(s))
		if err != nil {
			return false
		}
		b.Append(arrow.Date32FromTime(t))
		return true
	}
}

func intAppender(bitSize int, add func(int64)) appender {
	return func(s string) bool {
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, bitSize)
		if err != nil {
			return false
		}
		add(v)
		return true
	}
}

func uintAppender(bitSize int, add func(uint64)) appender {
	return func(s string) bool {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, bitSize)
		if err != nil {
			return false
		}
		add(v)
		return true
	}
}

// inferKind tracks which types all the non-null values of a column seen so
// far would parse as.
type inferKind struct {
	seen                           int
	isBool, isInt, isFloat, isTime bool
	other                          bool // a value no type takes (a JSON object, an array that is not a vector)
	arrays                         int  // JSON arrays of vec numbers seen
	vec                            int
}

func newInferKind() inferKind {
	return inferKind{isBool: true, isInt: true, isFloat: true, isTime: true}
}

// observe narrows the kind with one non-null text value.
func (k *inferKind) observe(s string) {
	k.seen++
	t := strings.TrimSpace(s)
	if k.isBool {
		_, k.isBool = parseBool(t)
	}
	if k.isInt {
		_, err := strconv.ParseInt(t, 10, 64)
		k.isInt = err == nil
	}
	if k.isFloat {
		_, err := strconv.ParseFloat(t, 64)
		k.isFloat = err == nil && !strings.ContainsAny(t, "_xXpP")
	}
	if k.isTime {
		_, k.isTime = parseTime(t)
	}
}

// result returns the inferred type.
func (k *inferKind) result() arrow.DataType {
	switch {
	case k.seen == 0 || k.other:
		return arrow.BinaryTypes.String
	case k.arrays > 0:
		if k.arrays == k.seen {
			return vectorType(k.vec)
		}
		return arrow.BinaryTypes.String // arrays mixed with other values
	case k.isInt:
		return arrow.PrimitiveTypes.Int64
	case k.isFloat:
		return arrow.PrimitiveTypes.Float64
	case k.isBool:
		return arrow.FixedWidthTypes.Boolean
	case k.isTime:
		return timestampType
	}
	return arrow.BinaryTypes.String
}

// truncate shortens s for error messages.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}

// finishColumn returns the first rows values of b as an array owned by the
// caller, and resets b. A builder that took a value of a record then set
// aside (on_error) holds one value more.
func finishColumn(b array.Builder, rows int) arrow.Array {
	a := b.NewArray()
	if a.Len() <= rows {
		return a
	}
	cut := array.NewSlice(a, 0, int64(rows))
	a.Release()
	return cut
}
