package image

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/stages"
)

// inputLayout says where the bytes are in the input column: the column
// itself, or the fields of the Hugging Face struct (path -1 if absent).
type inputLayout struct {
	isStruct    bool
	bytes, path int
}

// imageColumn finds the image column and its layout.
func imageColumn(in *arrow.Schema, name string) (int, inputLayout, error) {
	idx, err := stages.Column(in, name)
	if err != nil {
		return -1, inputLayout{}, err
	}
	t := in.Field(idx).Type
	if isBinary(t) {
		return idx, inputLayout{bytes: -1, path: -1}, nil
	}
	if st, ok := t.(*arrow.StructType); ok {
		l := inputLayout{isStruct: true, bytes: -1, path: -1}
		if i, ok := st.FieldIdx("bytes"); ok && isBinary(st.Field(i).Type) {
			l.bytes = i
		}
		if i, ok := st.FieldIdx("path"); ok {
			switch st.Field(i).Type.ID() {
			case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
				l.path = i
			}
		}
		if l.bytes >= 0 {
			return idx, l, nil
		}
	}
	return -1, inputLayout{}, &stages.ColumnError{Column: name, Msg: fmt.Sprintf("is %s; image needs binary or struct<bytes: binary, path: string>", t)}
}

func isBinary(t arrow.DataType) bool {
	switch t.ID() {
	case arrow.BINARY, arrow.LARGE_BINARY, arrow.BINARY_VIEW:
		return true
	}
	return false
}

// rowImage is where one row's image is: its bytes (nil for a null), or,
// when file is set, the file its path names. path names the row in errors
// either way ("" if none).
type rowImage struct {
	bytes []byte
	path  string
	file  bool
}

// imageGetter returns row i's image.
type imageGetter func(i int) rowImage

type binaryValues interface {
	arrow.Array
	Value(int) []byte
}

type stringValues interface {
	arrow.Array
	Value(int) string
}

// getter reads the image column of one batch. A struct row with null bytes
// and a non-empty path is a file to read (the Hugging Face layout of
// images kept outside the table).
func (l inputLayout) getter(a arrow.Array) imageGetter {
	if !l.isStruct {
		b := a.(binaryValues)
		return func(i int) rowImage {
			if b.IsNull(i) {
				return rowImage{}
			}
			return rowImage{bytes: b.Value(i)}
		}
	}
	st := a.(*array.Struct)
	b := st.Field(l.bytes).(binaryValues)
	var p stringValues
	if l.path >= 0 {
		p = st.Field(l.path).(stringValues)
	}
	return func(i int) rowImage {
		var r rowImage
		if p != nil && p.IsValid(i) && st.IsValid(i) {
			r.path = p.Value(i)
		}
		if st.IsNull(i) {
			return r
		}
		if b.IsNull(i) {
			r.file = r.path != ""
			return r
		}
		r.bytes = b.Value(i)
		return r
	}
}

// pathColumn returns the input's utf8 `path` column, which names rows in
// errors, or -1 when the image column's own struct has a path or the
// input has no such column.
func pathColumn(in *arrow.Schema, l inputLayout) int {
	if l.isStruct && l.path >= 0 {
		return -1
	}
	idx := in.FieldIndices("path")
	if len(idx) != 1 {
		return -1
	}
	switch in.Field(idx[0]).Type.ID() {
	case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
		return idx[0]
	}
	return -1
}

// withPaths names each row of get by the path column p; the path only
// names the row, it is never read.
func withPaths(get imageGetter, p stringValues) imageGetter {
	return func(i int) rowImage {
		r := get(i)
		r.path = ""
		if p.IsValid(i) {
			r.path = p.Value(i)
		}
		return r
	}
}
