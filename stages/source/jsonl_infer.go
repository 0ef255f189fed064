package source

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
	"unsafe"
)

// jsonInfer collects the columns of the first lines of JSON-lines files:
// their keys in order of first appearance, each with the kinds of its
// values. Its cost is linear in the bytes read: one pass of [scanObject]
// per line and one map lookup per member.
type jsonInfer struct {
	order []*inferColumn
	index map[string]*inferColumn
	line  []lineMember // the members of the line being read
	lines int64        // lines read, to stamp inferColumn.line
	vec   []float32    // scratch for vector values
	bad   []byte       // a key that is not valid UTF-8
}

// inferColumn is one key seen while inferring.
type inferColumn struct {
	name string
	kind inferKind
	line int64 // the last line (jsonInfer.lines) that held the key
	pos  int   // its member's index in jsonInfer.line on that line
}

// lineMember is one key of a line and its raw value.
type lineMember struct {
	col *inferColumn
	raw []byte
}

func newJSONInfer() *jsonInfer {
	return &jsonInfer{index: map[string]*inferColumn{}}
}

// file reads lines of path, at most *left non-blank ones, decrementing it.
func (in *jsonInfer) file(path string, left *int, maxLine int64) error {
	f, err := openText(path)
	if err != nil {
		return err
	}
	defer f.Close()
	sc := newLineScanner(f, maxLine)
	var line int64
	for *left > 0 && sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		*left--
		if err := in.object(b); err != nil {
			return &FileError{Path: path, RowGroup: -1, Batch: -1, Line: line, Err: err}
		}
	}
	if err := sc.Err(); err != nil {
		return scanErr(path, line+1, maxLine, err)
	}
	return nil
}

// object observes the members of one line. A key given twice takes its
// last value, as when the line is read.
func (in *jsonInfer) object(b []byte) error {
	in.lines++
	in.line = in.line[:0]
	in.bad = nil
	err := scanObject(b, in.member)
	if err != nil {
		return err
	}
	if in.bad != nil {
		return fmt.Errorf("key %q is %w", truncate(string(in.bad)), ErrInvalidUTF8)
	}
	for _, m := range in.line {
		in.vec = observeJSON(&m.col.kind, m.raw, in.vec)
	}
	return nil
}

// member records one member of the line being read.
func (in *jsonInfer) member(key, raw []byte) {
	c := in.index[string(key)]
	if c == nil {
		if !utf8.Valid(key) {
			if in.bad == nil {
				in.bad = append([]byte(nil), key...)
			}
			return
		}
		nk := newInferKind()
		c = &inferColumn{name: string(key), kind: nk}
		in.index[c.name] = c
		in.order = append(in.order, c)
	}
	if c.line == in.lines {
		in.line[c.pos].raw = raw // a repeated key: the last one wins
		return
	}
	c.line, c.pos = in.lines, len(in.line)
	in.line = append(in.line, lineMember{col: c, raw: raw})
}

// observeJSON narrows kind with one raw JSON value, checked by
// [scanObject]; vec is scratch space for vectors, returned for reuse.
func observeJSON(k *inferKind, raw []byte, vec []float32) []float32 {
	if len(raw) == 0 || string(raw) == "null" {
		return vec
	}
	k.seen++
	switch raw[0] {
	case '"':
		k.isBool, k.isInt, k.isFloat = false, false, false
		if !k.isTime {
			return vec
		}
		str := unsafe.String(unsafe.SliceData(raw[1:]), len(raw)-2)
		if bytes.IndexByte(raw, '\\') >= 0 {
			if json.Unmarshal(raw, &str) != nil {
				k.other = true
				return vec
			}
		}
		_, k.isTime = parseTime(str)
	case 't', 'f':
		k.isInt, k.isFloat, k.isTime = false, false, false
	case '[':
		return k.observeVector(unsafe.String(unsafe.SliceData(raw), len(raw)), vec)
	case '{':
		k.other = true
	default: // a number
		k.isBool, k.isTime = false, false
		if k.isInt {
			_, err := strconv.ParseInt(unsafe.String(unsafe.SliceData(raw), len(raw)), 10, 64)
			k.isInt = err == nil
		}
	}
	return vec
}
