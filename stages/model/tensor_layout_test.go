package model

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/internal/mempool"
)

// columns returns a batch of k float32 columns of n rows, f00..f(k-1).
func columns(mem memory.Allocator, n, k int) arrow.RecordBatch {
	rng := rand.New(rand.NewPCG(3, 4))
	fields := make([]arrow.Field, k)
	cols := make([]arrow.Array, k)
	for j := range k {
		fields[j] = arrow.Field{Name: fmt.Sprintf("f%02d", j), Type: arrow.PrimitiveTypes.Float32}
		b := array.NewFloat32Builder(mem)
		for range n {
			b.Append(rng.Float32())
		}
		cols[j] = b.NewArray()
		b.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// TestPackFloat32 checks the float32 fast path against the definition:
// out[r*k+j] is row r of column j.
func TestPackFloat32(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	for _, n := range []int{1, 7, 64, 513} {
		for _, k := range []int{1, 3, 32} {
			rec := columns(mem, n, k)
			ip := inputPlan{want: bridge.Float32}
			for j := range k {
				ip.cols = append(ip.cols, j)
				ip.colNames = append(ip.colNames, rec.ColumnName(j))
			}
			out := make([]byte, 4*n*k)
			if err := pack(rec, ip, out, 0); err != nil {
				t.Fatal(err)
			}
			got := arrow.Float32Traits.CastFromBytes(out)
			for r := range n {
				for j := range k {
					if want := rec.Column(j).(*array.Float32).Value(r); got[r*k+j] != want {
						t.Fatalf("n=%d k=%d: out[%d*%d+%d] = %v, want %v", n, k, r, k, j, got[r*k+j], want)
					}
				}
			}
			rec.Release()
		}
	}
}

// TestStridedWidths checks strided for each value width against the
// definition: row i of the result is flat[i*per+j].
func TestStridedWidths(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n, per = 37, 5
	for _, dt := range []arrow.DataType{arrow.PrimitiveTypes.Int8, arrow.FixedWidthTypes.Float16, arrow.PrimitiveTypes.Float32, arrow.PrimitiveTypes.Int64, arrow.FixedWidthTypes.Boolean} {
		size := max(dt.(arrow.FixedWidthDataType).BitWidth()/8, 1)
		raw := make([]byte, n*per*size)
		for i := range raw {
			raw[i] = byte(i*7 + 3)
		}
		if dt.ID() == arrow.BOOL {
			raw = raw[:(n*per+7)/8]
		}
		buf := memory.NewResizableBuffer(mem)
		buf.Resize(len(raw))
		copy(buf.Bytes(), raw)
		d := array.NewData(dt, n*per, []*memory.Buffer{nil, buf}, nil, 0, 0)
		flat := array.MakeFromData(d)
		d.Release()
		buf.Release()
		for j := range per {
			got := strided(flat, j, per, n, mem)
			for i := range n {
				if g, w := got.ValueStr(i), flat.ValueStr(i*per+j); g != w {
					t.Fatalf("%s j=%d: row %d = %s, want %s", dt, j, i, g, w)
				}
			}
			got.Release()
		}
		flat.Release()
	}
}

func BenchmarkPack(b *testing.B) {
	mem := memory.NewGoAllocator()
	const n, k = 512, 32
	rec := columns(mem, n, k)
	defer rec.Release()
	ip := inputPlan{want: bridge.Float32}
	for j := range k {
		ip.cols = append(ip.cols, j)
		ip.colNames = append(ip.colNames, rec.ColumnName(j))
	}
	out := make([]byte, 4*n*k)
	b.SetBytes(int64(len(out)))
	for b.Loop() {
		if err := pack(rec, ip, out, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStrided(b *testing.B) {
	mem := mempool.New() // the runtime's allocator: what it costs in a job
	const n, per = 512, 8
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(4 * n * per)
	d := array.NewData(arrow.PrimitiveTypes.Float32, n*per, []*memory.Buffer{nil, buf}, nil, 0, 0)
	flat := array.MakeFromData(d)
	d.Release()
	buf.Release()
	defer flat.Release()
	b.SetBytes(4 * n * per)
	for b.Loop() {
		for j := range per {
			strided(flat, j, per, n, mem).Release()
		}
	}
}
