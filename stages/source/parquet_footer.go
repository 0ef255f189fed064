package source

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file walks a Parquet footer (a FileMetaData struct in Thrift's
// compact protocol) before arrow-go parses it, to drop the logical types
// arrow-go cannot parse. The Parquet format says a reader that does not know
// a column's logical type reads the column as its physical type (or as its
// converted type, when it has one); arrow-go v18 panics instead ("invalid
// logical type") on a LogicalType union member added to the format after it
// was written. Removing the logicalType field of those schema elements
// gives arrow-go a footer it reads the way the format asks.

// Compact protocol type ids.
const (
	tcStop     = 0
	tcTrue     = 1
	tcFalse    = 2
	tcByte     = 3
	tcI16      = 4
	tcI32      = 5
	tcI64      = 6
	tcDouble   = 7
	tcBinary   = 8
	tcList     = 9
	tcSet      = 10
	tcMap      = 11
	tcStruct   = 12
	tcUUID     = 13
	tcMaxDepth = 64
)

// Field ids of parquet.thrift read here.
const (
	thriftFileMetaSchema     = 2  // FileMetaData.schema: list<SchemaElement>
	thriftElementName        = 4  // SchemaElement.name
	thriftElementLogicalType = 10 // SchemaElement.logicalType: LogicalType
	thriftLogicalTime        = 7  // LogicalType.TIME: TimeType
	thriftLogicalTimestamp   = 8  // LogicalType.TIMESTAMP: TimestampType
	thriftTimeUnit           = 2  // TimeType.unit, TimestampType.unit: TimeUnit
)

// knownLogicalTypes are the LogicalType union members arrow-go v18 parses:
// STRING (1) to TIMESTAMP (8), INTEGER (10) to GEOGRAPHY (18).
func knownLogicalType(id int) bool { return id >= 1 && id <= 18 && id != 9 }

var errThrift = errors.New("malformed thrift")

// thriftReader reads compact-protocol values from b with bounds checks.
type thriftReader struct {
	b   []byte
	pos int
}

func (r *thriftReader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errThrift
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

func (r *thriftReader) uvarint() (uint64, error) {
	v, n := binary.Uvarint(r.b[r.pos:])
	if n <= 0 {
		return 0, errThrift
	}
	r.pos += n
	return v, nil
}

func (r *thriftReader) skipBytes(n uint64) error {
	if n > uint64(len(r.b)-r.pos) {
		return errThrift
	}
	r.pos += int(n)
	return nil
}

// thriftField is one field header of a struct.
type thriftField struct {
	id, typ     int
	start, body int // where the header starts, where the value starts
}

// fieldHeader reads a field header; typ is tcStop at the end of the struct.
func (r *thriftReader) fieldHeader(last int) (thriftField, error) {
	f := thriftField{start: r.pos}
	c, err := r.byte1()
	if err != nil {
		return f, err
	}
	f.typ = int(c & 0x0f)
	if f.typ == tcStop {
		return f, nil
	}
	if d := int(c >> 4); d != 0 {
		f.id = last + d
	} else {
		v, err := r.uvarint()
		if err != nil {
			return f, err
		}
		f.id = int(int16(v>>1) ^ -int16(v&1))
	}
	f.body = r.pos
	return f, nil
}

// skip skips a value of compact type typ (as a field or a container
// element: a bool element is a byte, a bool field has no value).
func (r *thriftReader) skip(typ int, elem bool, depth int) error {
	if depth > tcMaxDepth {
		return errThrift
	}
	switch typ {
	case tcTrue, tcFalse:
		if elem {
			return r.skipBytes(1)
		}
		return nil
	case tcByte:
		return r.skipBytes(1)
	case tcI16, tcI32, tcI64:
		_, err := r.uvarint()
		return err
	case tcDouble:
		return r.skipBytes(8)
	case tcUUID:
		return r.skipBytes(16)
	case tcBinary:
		n, err := r.uvarint()
		if err != nil {
			return err
		}
		return r.skipBytes(n)
	case tcList, tcSet:
		n, et, err := r.listHeader()
		if err != nil {
			return err
		}
		for range n {
			if err := r.skip(et, true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tcMap:
		n, err := r.uvarint()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		kv, err := r.byte1()
		if err != nil {
			return err
		}
		if n > uint64(len(r.b)-r.pos) { // every entry takes at least one byte
			return errThrift
		}
		for range n {
			if err := r.skip(int(kv>>4), true, depth+1); err != nil {
				return err
			}
			if err := r.skip(int(kv&0x0f), true, depth+1); err != nil {
				return err
			}
		}
		return nil
	case tcStruct:
		_, err := r.fields(depth+1, nil)
		return err
	}
	return errThrift
}

// listHeader reads a list or set header: the element count, checked against
// the bytes left (every element takes at least one), and the element type.
func (r *thriftReader) listHeader() (int, int, error) {
	c, err := r.byte1()
	if err != nil {
		return 0, 0, err
	}
	n := uint64(c >> 4)
	if n == 15 {
		if n, err = r.uvarint(); err != nil {
			return 0, 0, err
		}
	}
	if n > uint64(len(r.b)-r.pos) {
		return 0, 0, errThrift
	}
	return int(n), int(c & 0x0f), nil
}

// fields reads the fields of a struct up to its stop byte and returns their
// headers. visit, when not nil, reads a field's value itself (returning
// true) or leaves it to be skipped.
func (r *thriftReader) fields(depth int, visit func(f thriftField) (bool, error)) ([]thriftField, error) {
	var out []thriftField
	last := 0
	for {
		f, err := r.fieldHeader(last)
		if err != nil {
			return nil, err
		}
		if f.typ == tcStop {
			return out, nil
		}
		done := false
		if visit != nil {
			if done, err = visit(f); err != nil {
				return nil, err
			}
		}
		if !done {
			if err := r.skip(f.typ, false, depth); err != nil {
				return nil, err
			}
		}
		out = append(out, f)
		last = f.id
	}
}

// unknownLogicalType reads a LogicalType union and reports whether arrow-go
// would fail to parse it: no member or a member it does not know, or a TIME
// or TIMESTAMP whose unit is not one it knows.
func (r *thriftReader) unknownLogicalType(depth int) (bool, error) {
	unknown, members := false, 0
	_, err := r.fields(depth, func(f thriftField) (bool, error) {
		members++
		if !knownLogicalType(f.id) || f.typ != tcStruct {
			unknown = true
			return false, nil
		}
		if f.id != thriftLogicalTime && f.id != thriftLogicalTimestamp {
			return false, nil
		}
		_, err := r.fields(depth+1, func(g thriftField) (bool, error) {
			if g.id != thriftTimeUnit || g.typ != tcStruct {
				return false, nil
			}
			units := 0
			_, err := r.fields(depth+2, func(u thriftField) (bool, error) {
				units++
				if u.id < 1 || u.id > 3 { // MILLIS, MICROS, NANOS
					unknown = true
				}
				return false, nil
			})
			if units != 1 {
				unknown = true
			}
			return true, err
		})
		return true, err
	})
	return unknown || members != 1, err
}

// dropUnknownLogicalTypes returns footer (a FileMetaData in the compact
// protocol) without the logicalType field of the schema elements whose
// logical type arrow-go cannot parse, and the names of those elements. It
// returns footer itself when there is none, and an error when the footer is
// not well-formed Thrift.
func dropUnknownLogicalTypes(footer []byte) ([]byte, []string, error) {
	r := &thriftReader{b: footer}
	var cuts []footerCut
	var names []string
	_, err := r.fields(0, func(f thriftField) (bool, error) {
		if f.id != thriftFileMetaSchema || f.typ != tcList {
			return false, nil
		}
		n, et, err := r.listHeader()
		if err != nil {
			return false, err
		}
		if et != tcStruct {
			return false, errThrift
		}
		for range n {
			name, drop, err := r.schemaElement()
			if err != nil {
				return false, err
			}
			if drop != nil {
				cuts = append(cuts, *drop)
				names = append(names, name)
			}
		}
		return true, nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("%w in the footer", err)
	}
	if len(cuts) == 0 {
		return footer, nil, nil
	}
	return applyCuts(footer, cuts), names, nil
}

// footerCut is a field removed from the footer.
type footerCut struct {
	from, to int    // the field to remove
	next     []byte // the header of the field after it, rewritten
	nextEnd  int    // where that header ended
}

// schemaElement reads one SchemaElement: its name, and the cut that
// removes its logical type when that type is unknown (nil otherwise).
func (r *thriftReader) schemaElement() (string, *footerCut, error) {
	var name string
	var drop *footerCut
	fields, err := r.fields(1, func(g thriftField) (bool, error) {
		switch {
		case g.id == thriftElementName && g.typ == tcBinary:
			l, err := r.uvarint()
			if err != nil {
				return false, err
			}
			start := r.pos
			if err := r.skipBytes(l); err != nil {
				return false, err
			}
			name = string(r.b[start:r.pos])
			return true, nil
		case g.id == thriftElementLogicalType && g.typ == tcStruct:
			unknown, err := r.unknownLogicalType(2)
			if err != nil {
				return false, err
			}
			if unknown {
				drop = &footerCut{from: g.start, to: r.pos}
			}
			return true, nil
		}
		return false, nil
	})
	if err != nil || drop == nil {
		return name, nil, err
	}
	dropIndex := -1
	for i, g := range fields {
		if g.start == drop.from {
			dropIndex = i
		}
	}
	// The header of the next field may give its id as a delta from the
	// removed one: write it again from the field before.
	if dropIndex+1 < len(fields) {
		prev := 0
		if dropIndex > 0 {
			prev = fields[dropIndex-1].id
		}
		nf := fields[dropIndex+1]
		drop.next = fieldHeaderBytes(nf.id, nf.typ, prev)
		drop.nextEnd = nf.body
	}
	return name, drop, nil
}

// applyCuts returns footer without the cut fields, in order.
func applyCuts(footer []byte, cuts []footerCut) []byte {
	out := make([]byte, 0, len(footer))
	at := 0
	for _, c := range cuts {
		out = append(out, footer[at:c.from]...)
		at = c.to
		if c.next != nil {
			out = append(out, c.next...)
			at = c.nextEnd
		}
	}
	return append(out, footer[at:]...)
}

// fieldHeaderBytes encodes a field header after a field of id prev.
func fieldHeaderBytes(id, typ, prev int) []byte {
	if d := id - prev; d > 0 && d <= 15 {
		return []byte{byte(d<<4 | typ)}
	}
	zz := uint64(uint16(int16(id)<<1 ^ int16(id)>>15))
	return binary.AppendUvarint([]byte{byte(typ)}, zz)
}
