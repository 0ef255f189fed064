package model

import (
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/stages"
)

// packBlock is the number of rows packed at a time: the block of the
// tensor written by one column's strided pass stays in cache for the next
// column.
const packBlock = 512

// pack writes the columns of a list binding side by side into out, row
// by row: out[r*k+j] is row r of column j, converted to the model's type.
// Each value is read once from the column's buffer and written once into
// out: no scratch buffer, whatever the column's type.
func pack(rec arrow.RecordBatch, ip inputPlan, out []byte, rowBase int64) error {
	k := len(ip.cols)
	for j, ci := range ip.cols {
		if col := rec.Column(ci); col.NullN() > 0 {
			return &RowError{Column: ip.colNames[j], Row: rowBase + firstNull(col), Msg: "null value; the model cannot take nulls"}
		}
	}
	n := int(rec.NumRows())
	for lo := 0; lo < n; lo += packBlock {
		hi := min(lo+packBlock, n)
		for j, ci := range ip.cols {
			if err := packColumn(rec.Column(ci), ip.want, out, k, j, lo, hi); err != nil {
				return &stages.ColumnError{Column: ip.colNames[j], Msg: err.Error()}
			}
		}
	}
	return nil
}

// packColumn writes rows [lo, hi) of col into element j of the rows of k
// values in out, converted to want: straight from the column's values for
// a float32 input, through [convertAt] otherwise.
func packColumn(col arrow.Array, want bridge.ElemType, out []byte, k, j, lo, hi int) error {
	if want != bridge.Float32 {
		return convertAt(col, want, out, k, j, lo, hi)
	}
	dst := arrow.Float32Traits.CastFromBytes(out)
	switch c := col.(type) {
	case *array.Float32:
		packStrided(dst, c.Float32Values(), k, j, lo, hi)
	case *array.Float64:
		packStrided(dst, c.Float64Values(), k, j, lo, hi)
	case *array.Int8:
		packStrided(dst, c.Int8Values(), k, j, lo, hi)
	case *array.Int16:
		packStrided(dst, c.Int16Values(), k, j, lo, hi)
	case *array.Int32:
		packStrided(dst, c.Int32Values(), k, j, lo, hi)
	case *array.Int64:
		packStrided(dst, c.Int64Values(), k, j, lo, hi)
	case *array.Uint8:
		packStrided(dst, c.Uint8Values(), k, j, lo, hi)
	case *array.Uint16:
		packStrided(dst, c.Uint16Values(), k, j, lo, hi)
	case *array.Uint32:
		packStrided(dst, c.Uint32Values(), k, j, lo, hi)
	case *array.Uint64:
		packStrided(dst, c.Uint64Values(), k, j, lo, hi)
	default:
		return convertAt(col, want, out, k, j, lo, hi)
	}
	return nil
}

// number is a numeric Arrow value type packed into a float32 tensor.
type number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~float32 | ~float64
}

// packStrided sets dst[i*k+j] to src[i] for rows [lo, hi), through float64 as
// [getter] reads values (so that int64 values round as they always have).
func packStrided[T number](dst []float32, src []T, k, j, lo, hi int) {
	o := lo*k + j
	for _, v := range src[lo:hi] {
		dst[o] = float32(float64(v))
		o += k
	}
}
