package onnx

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"google.golang.org/protobuf/encoding/protowire"
)

// field is one decoded field of a message: its number and wire type, and
// its value (u for varint and fixed types, b for length-delimited ones).
// off is the absolute offset of the value in the input.
type field struct {
	num protowire.Number
	typ protowire.Type
	u   uint64
	b   []byte
	off int
}

// fields calls fn for every field of the message b, which starts at
// absolute offset base. Unknown fields must be ignored by fn (return nil).
func fields(b []byte, base int, fn func(field) error) error {
	pos := 0
	for pos < len(b) {
		num, typ, n := protowire.ConsumeTag(b[pos:])
		if n < 0 {
			return &DecodeError{Offset: base + pos, Msg: "bad field tag: " + protowire.ParseError(n).Error()}
		}
		f := field{num: num, typ: typ, off: base + pos + n}
		rest := b[pos+n:]
		var m int
		switch typ {
		case protowire.VarintType:
			f.u, m = protowire.ConsumeVarint(rest)
		case protowire.Fixed32Type:
			var v uint32
			v, m = protowire.ConsumeFixed32(rest)
			f.u = uint64(v)
		case protowire.Fixed64Type:
			f.u, m = protowire.ConsumeFixed64(rest)
		case protowire.BytesType:
			var v []byte
			v, m = protowire.ConsumeBytes(rest)
			if m >= 0 {
				f.b = v
				f.off += m - len(v)
			}
		default:
			m = protowire.ConsumeFieldValue(num, typ, rest)
		}
		if m < 0 {
			return &DecodeError{Offset: f.off, Msg: fmt.Sprintf("field %d: %v", num, protowire.ParseError(m))}
		}
		if typ == protowire.StartGroupType || typ == protowire.EndGroupType {
			f.typ = -1 // groups are never a known field
		}
		if err := fn(f); err != nil {
			return err
		}
		pos += n + m
	}
	return nil
}

func (f field) want(typ protowire.Type) error {
	if f.typ != typ {
		return &DecodeError{Offset: f.off, Msg: fmt.Sprintf("field %d has wire type %d, want %d", f.num, f.typ, typ)}
	}
	return nil
}

func (f field) varint(dst *int64) error {
	if err := f.want(protowire.VarintType); err != nil {
		return err
	}
	*dst = int64(f.u)
	return nil
}

func (f field) str(dst *string) error {
	if err := f.want(protowire.BytesType); err != nil {
		return err
	}
	*dst = string(f.b)
	return nil
}

// int64s appends one unpacked varint or a packed run of them.
func (f field) int64s(dst *[]int64) error {
	switch f.typ {
	case protowire.VarintType:
		*dst = append(*dst, int64(f.u))
		return nil
	case protowire.BytesType:
		count := 0
		for _, c := range f.b {
			if c < 0x80 {
				count++
			}
		}
		out := slices.Grow(*dst, count)
		for b := f.b; len(b) > 0; {
			v, n := protowire.ConsumeVarint(b)
			if n < 0 {
				return &DecodeError{Offset: f.off + len(f.b) - len(b), Msg: fmt.Sprintf("field %d: packed varint: %v", f.num, protowire.ParseError(n))}
			}
			out = append(out, int64(v))
			b = b[n:]
		}
		*dst = out
		return nil
	}
	return f.want(protowire.VarintType)
}

// float32s appends one unpacked fixed32 or a packed run of them.
func (f field) float32s(dst *[]float32) error {
	switch f.typ {
	case protowire.Fixed32Type:
		*dst = append(*dst, math.Float32frombits(uint32(f.u)))
		return nil
	case protowire.BytesType:
		if len(f.b)%4 != 0 {
			return &DecodeError{Offset: f.off, Msg: fmt.Sprintf("field %d: packed floats: %d bytes is not a multiple of 4", f.num, len(f.b))}
		}
		out := slices.Grow(*dst, len(f.b)/4)
		for b := f.b; len(b) > 0; b = b[4:] {
			v, _ := protowire.ConsumeFixed32(b)
			out = append(out, math.Float32frombits(v))
		}
		*dst = out
		return nil
	}
	return f.want(protowire.Fixed32Type)
}

// float64s appends one unpacked fixed64 or a packed run of them.
func (f field) float64s(dst *[]float64) error {
	switch f.typ {
	case protowire.Fixed64Type:
		*dst = append(*dst, math.Float64frombits(f.u))
		return nil
	case protowire.BytesType:
		if len(f.b)%8 != 0 {
			return &DecodeError{Offset: f.off, Msg: fmt.Sprintf("field %d: packed doubles: %d bytes is not a multiple of 8", f.num, len(f.b))}
		}
		out := slices.Grow(*dst, len(f.b)/8)
		for b := f.b; len(b) > 0; b = b[8:] {
			v, _ := protowire.ConsumeFixed64(b)
			out = append(out, math.Float64frombits(v))
		}
		*dst = out
		return nil
	}
	return f.want(protowire.Fixed64Type)
}

// nest prefixes the path of a *DecodeError with name.
func nest(name string, err error) error {
	var de *DecodeError
	if errors.As(err, &de) {
		if de.Path == "" {
			de.Path = name
		} else {
			de.Path = name + "." + de.Path
		}
	}
	return err
}

func clone(b []byte) []byte {
	return append([]byte{}, b...)
}
