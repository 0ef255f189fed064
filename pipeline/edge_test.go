package pipeline

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestRecordBytesCountsSlices checks that a slice of a batch counts only
// its own rows: zero-copy slices share their parent's buffers.
func TestRecordBytesCountsSlices(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	ib := array.NewInt64Builder(mem)
	sb := array.NewStringBuilder(mem)
	lb := array.NewFixedSizeListBuilder(mem, 4, arrow.PrimitiveTypes.Float32)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for i := 0; i < 1000; i++ {
		ib.Append(int64(i))
		sb.Append("abcdefghij") // 10 bytes
		lb.Append(true)
		vb.AppendValues([]float32{1, 2, 3, 4}, nil)
	}
	cols := []arrow.Array{ib.NewArray(), sb.NewArray(), lb.NewArray()}
	ib.Release()
	sb.Release()
	lb.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "i", Type: cols[0].DataType()}, {Name: "s", Type: cols[1].DataType()}, {Name: "v", Type: cols[2].DataType()}}, nil)
	rec := array.NewRecordBatch(schema, cols, 1000)
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	// Per row: 8 (int64) + 4+10 (string offsets and bytes) + 16 (4 floats).
	const perRow = 8 + 14 + 16
	whole := recordBytes(rec)
	slice := rec.NewSlice(100, 110)
	defer slice.Release()
	part := recordBytes(slice)
	if whole < 1000*perRow || whole > 1000*perRow+1000 {
		t.Fatalf("whole batch: %d bytes, want about %d", whole, 1000*perRow)
	}
	if part < 10*perRow || part > 10*perRow+30 {
		t.Fatalf("10-row slice: %d bytes, want about %d", part, 10*perRow)
	}
}
