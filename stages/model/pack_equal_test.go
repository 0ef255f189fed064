package model

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/float16"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/stagetest"
)

// oldPack is pack as it was before it wrote values in place: a float32
// column copied straight, any other converted into a scratch buffer and
// then scattered. The tests check the new pack against it byte for byte.
func oldPack(rec arrow.RecordBatch, ip inputPlan, out []byte) error {
	k := len(ip.cols)
	size := ip.want.Size()
	for j, ci := range ip.cols {
		col := rec.Column(ci)
		if f, ok := col.(*array.Float32); ok && ip.want == bridge.Float32 {
			dst := arrow.Float32Traits.CastFromBytes(out)
			for r, v := range f.Float32Values() {
				dst[r*k+j] = v
			}
			continue
		}
		n := col.Len()
		scratch := make([]byte, n*size)
		if err := convert(col, ip.want, scratch); err != nil {
			return err
		}
		for r := 0; r < n; r++ {
			copy(out[(r*k+j)*size:(r*k+j+1)*size], scratch[r*size:(r+1)*size])
		}
	}
	return nil
}

// packColumnOf builds a column of type dt with rows values, varied and
// including large magnitudes, so that conversions and their rounding show.
func packColumnOf(mem memory.Allocator, dt arrow.DataType, rows, seed int) arrow.Array {
	b := array.NewBuilder(mem, dt)
	defer b.Release()
	for i := range rows {
		v := float64((i*7+seed*13)%97) - 40.5
		if i%31 == 5 {
			v *= 1e6
		}
		switch bb := b.(type) {
		case *array.Float32Builder:
			bb.Append(float32(v) / 3)
		case *array.Float64Builder:
			bb.Append(v / 3)
		case *array.Float16Builder:
			bb.Append(float16.New(float32(v) / 8))
		case *array.Int8Builder:
			bb.Append(int8(i*seed - 60))
		case *array.Int16Builder:
			bb.Append(int16(v))
		case *array.Int32Builder:
			bb.Append(int32(v))
		case *array.Int64Builder:
			bb.Append(int64(v) * (1 << 30)) // beyond 2^53 for some rows
		case *array.Uint8Builder:
			bb.Append(uint8(i + seed))
		case *array.Uint16Builder:
			bb.Append(uint16(i * seed))
		case *array.Uint32Builder:
			bb.Append(uint32(i) * 1_000_003)
		case *array.Uint64Builder:
			bb.Append(uint64(i) * (1<<40 + 7))
		case *array.BooleanBuilder:
			bb.Append(i%3 == seed%3)
		}
	}
	return b.NewArray()
}

// TestPackEqualsOldPath packs columns of every numeric type into tensors of
// several element types and checks the bytes against the old two-copy
// path: odd batch sizes around the packing block, columns that are slices
// (an offset into a larger buffer, as the batcher's model batches are),
// and columns concatenated across chunk boundaries.
func TestPackEqualsOldPath(t *testing.T) {
	mem := stagetest.Mem(t)
	types := []arrow.DataType{arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Float64, arrow.FixedWidthTypes.Float16,
		arrow.PrimitiveTypes.Int8, arrow.PrimitiveTypes.Int16, arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64,
		arrow.PrimitiveTypes.Uint8, arrow.PrimitiveTypes.Uint16, arrow.PrimitiveTypes.Uint32, arrow.PrimitiveTypes.Uint64}
	wants := []bridge.ElemType{bridge.Float32, bridge.Float64, bridge.Float16, bridge.Int64, bridge.Int32, bridge.Int8}
	layouts := []string{"whole", "sliced", "chunks"}
	for _, want := range wants {
		for _, rows := range []int{1, 7, 511, 512, 513, 1025} {
			for _, layout := range layouts {
				t.Run(fmt.Sprintf("%s/%d rows/%s", want, rows, layout), func(t *testing.T) {
					rec, ip := packBatch(t, mem, types, rows, layout)
					defer rec.Release()
					ip.want = want
					got := make([]byte, rows*len(ip.cols)*want.Size())
					old := make([]byte, len(got))
					for i := range got {
						got[i], old[i] = 0xA5, 0x5A // every byte must be written
					}
					if err := pack(rec, ip, got, 0); err != nil {
						t.Fatal(err)
					}
					if err := oldPack(rec, ip, old); err != nil {
						t.Fatal(err)
					}
					if i := firstDiff(got, old); i >= 0 {
						row, col := i/want.Size()/len(ip.cols), i/want.Size()%len(ip.cols)
						t.Fatalf("byte %d (row %d, column %s) differs: %d, old path %d", i, row, rec.Schema().Field(ip.cols[col]).Name, got[i], old[i])
					}
				})
			}
		}
	}
}

// packBatch builds a batch of rows rows, one column per type, laid out as
// layout says, and the plan binding all its columns to one input.
func packBatch(t *testing.T, mem memory.Allocator, types []arrow.DataType, rows int, layout string) (arrow.RecordBatch, inputPlan) {
	t.Helper()
	var fields []arrow.Field
	var cols []arrow.Array
	ip := inputPlan{name: "x"}
	for c, dt := range types {
		var col arrow.Array
		switch layout {
		case "whole":
			col = packColumnOf(mem, dt, rows, c+1)
		case "sliced":
			big := packColumnOf(mem, dt, rows+19, c+1)
			col = array.NewSlice(big, 11, int64(11+rows))
			big.Release()
		case "chunks": // concatenated from pieces of 3 and the rest
			a, b := packColumnOf(mem, dt, min(3, rows), c+1), packColumnOf(mem, dt, rows-min(3, rows), c+2)
			var err error
			col, err = array.Concatenate([]arrow.Array{a, b}, mem)
			a.Release()
			b.Release()
			if err != nil {
				t.Fatal(err)
			}
		}
		cols = append(cols, col)
		name := fmt.Sprintf("c%d_%s", c, dt)
		fields = append(fields, arrow.Field{Name: name, Type: dt})
		ip.cols = append(ip.cols, c)
		ip.colNames = append(ip.colNames, name)
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(rows))
	for _, c := range cols {
		c.Release()
	}
	return rec, ip
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return len(a)
}

// TestPackErrors: a null names the column and the row (counted from
// rowBase); a type that cannot feed the input names the column.
func TestPackErrors(t *testing.T) {
	mem := stagetest.Mem(t)
	fb := array.NewFloat32Builder(mem)
	fb.AppendValues([]float32{1, 2, 3, 4, 5, 6}, []bool{true, true, true, true, false, true})
	withNull := fb.NewArray()
	fb.Release()
	sliced := array.NewSlice(withNull, 2, 6) // the null is row 2 of the slice
	withNull.Release()
	bb := array.NewBooleanBuilder(mem)
	bb.AppendValues([]bool{true, false, true, true}, nil)
	flags := bb.NewArray()
	bb.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.PrimitiveTypes.Float32, Nullable: true}, {Name: "b", Type: arrow.FixedWidthTypes.Boolean}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{sliced, flags}, 4)
	sliced.Release()
	flags.Release()
	defer rec.Release()

	tests := []struct {
		name string
		cols []int
		want bridge.ElemType
		err  string
	}{
		{"null", []int{1, 0}, bridge.Float32, `column "a", row 102: null value`},
		{"bool into float32", []int{1}, bridge.Float32, ""},
		{"bool into bool", []int{1}, bridge.Bool, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ip := inputPlan{name: "x", want: tt.want, cols: tt.cols}
			for _, c := range tt.cols {
				ip.colNames = append(ip.colNames, schema.Field(c).Name)
			}
			out := make([]byte, 4*len(tt.cols)*tt.want.Size())
			err := pack(rec, ip, out, 100)
			if tt.err == "" {
				if err != nil {
					t.Fatal(err)
				}
				if got := out[0:tt.want.Size()]; tt.want == bridge.Float32 && math.Float32frombits(uint32(got[0])|uint32(got[1])<<8|uint32(got[2])<<16|uint32(got[3])<<24) != 1 {
					t.Errorf("true packed as %v, want 1", got)
				}
				return
			}
			var re *RowError
			if !errors.As(err, &re) || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("error %v, want a *RowError containing %q", err, tt.err)
			}
		})
	}
}
