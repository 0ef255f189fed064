package batcher

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// benchAddNext adds in (rows rows each) and takes every ready batch, b.N
// times, and reports rows per second through the batcher.
func benchAddNext(b *testing.B, p Policy, rows int) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	in := makeRec(mem, 0, rows)
	bt, err := New(p, mem, WithClock(NewManualClock(t0)))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if bt.Add(in) {
			for bt.Ready() {
				batch, err := bt.Next()
				if err != nil {
					b.Fatal(err)
				}
				batch.Release()
			}
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)*float64(rows)/b.Elapsed().Seconds(), "rows/s")
	st := bt.Stats()
	b.ReportMetric(float64(st.Rows)/max(float64(st.Batches), 1), "rows/batch")
	bt.Close()
	in.Release()
	if n := mem.CurrentAlloc(); n != 0 {
		b.Fatalf("%d bytes left allocated", n)
	}
}

// BenchmarkCoalesce: one-row inputs coalesced into 256-row batches (copy).
func BenchmarkCoalesce(b *testing.B) {
	benchAddNext(b, Policy{MaxRows: 256, MaxDelay: 1 << 40}, 1)
}

// BenchmarkCoalesce64: 64-row inputs coalesced into 1024-row batches.
func BenchmarkCoalesce64(b *testing.B) {
	benchAddNext(b, Policy{MaxRows: 1024, MaxDelay: 1 << 40}, 64)
}

// BenchmarkSlice: 65536-row inputs sliced into 512-row batches (no copy).
func BenchmarkSlice(b *testing.B) {
	benchAddNext(b, Policy{MaxRows: 512, MaxDelay: 1 << 40}, 65536)
}

// BenchmarkPassThrough: inputs of exactly the batch size, retained.
func BenchmarkPassThrough(b *testing.B) {
	benchAddNext(b, Policy{MaxRows: 512, MaxDelay: 1 << 40}, 512)
}

// BenchmarkPad: 100-row inputs padded to a static batch of 128.
func BenchmarkPad(b *testing.B) {
	benchAddNext(b, Policy{MaxRows: 100, PadTo: 128}, 100)
}
