package batcher

import (
	"errors"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FuzzBatcher decodes bytes into a policy and a sequence of operations (add
// a batch of r rows, advance the clock, take ready batches, flush one) and
// checks every batch against a reference model of the rules in [Policy]:
// no row lost or duplicated, order kept, no batch above MaxRows (or exactly
// PadTo rows when padding), padding repeating the last real row, and a
// partial batch ready exactly when its oldest row has waited MaxDelay.
//
// data[0:4] is the policy: max_rows 1-16; max_delay 0-3ms; pad_to (low bit)
// max_rows plus 0-3; preferred_rows a bit set of 1-8. Each later byte is one
// operation: the low two bits pick it, the other six are its argument.
func FuzzBatcher(f *testing.F) {
	f.Add([]byte{3, 1, 0, 0, 0x10, 0x10, 0x29, 0x02, 0x03})
	f.Add([]byte{7, 2, 1, 0b1010, 0x00, 0x05, 0x04, 0x51, 0x02, 0xfc, 0x15, 0x02, 0x03, 0x03})
	f.Add([]byte{15, 3, 5, 0xff, 0xfc, 0x01, 0x50, 0x02, 0x04, 0x08, 0x0c, 0xa1, 0x02, 0x07, 0x03})
	f.Add([]byte{0, 0, 0, 0, 0x00, 0x02, 0x00, 0x03, 0x01, 0x02})
	f.Add([]byte{4, 1, 0, 0b0110, 0x00, 0x04, 0x08, 0x0c, 0x10, 0x29, 0x02, 0x14, 0x29, 0x02, 0x51, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 4 {
			return
		}
		p := Policy{MaxRows: 1 + int(data[0]%16), MaxDelay: time.Duration(data[1]%4) * time.Millisecond}
		if data[2]&1 == 1 {
			p.PadTo = p.MaxRows + int(data[2]>>1)%4
		}
		for i := range 8 {
			if data[3]>>i&1 == 1 && i+1 <= p.MaxRows {
				p.PreferredRows = append(p.PreferredRows, i+1)
			}
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		clock := NewManualClock(t0)
		b, err := New(p, mem, WithClock(clock))
		if err != nil {
			t.Fatal(err)
		}

		// The reference model: pending inputs with their arrival times.
		type pend struct {
			arrival time.Time
			rows    int
		}
		var model []pend
		total, added, next := 0, 0, 0
		// want returns the size and reason of the next batch, or 0.
		want := func(flush bool) (int, Reason) {
			switch {
			case total == 0:
				return 0, Full
			case total >= p.MaxRows:
				return p.MaxRows, Full
			case !flush && clock.Now().Before(model[0].arrival.Add(p.MaxDelay)):
				return 0, Full
			}
			for i := len(p.PreferredRows) - 1; i >= 0; i-- {
				if p.PreferredRows[i] <= total {
					return p.PreferredRows[i], Preferred
				}
			}
			if flush {
				return total, EndOfInput
			}
			return total, Deadline
		}
		take := func(flush bool) bool {
			t.Helper()
			n, reason := want(flush)
			var batch Batch
			var err error
			if flush {
				batch, err = b.Flush()
			} else {
				batch, err = b.Next()
			}
			if n == 0 {
				if !errors.Is(err, ErrNoBatch) {
					t.Fatalf("expected no batch, got %v (%d rows)", err, batch.Rows)
				}
				return false
			}
			if err != nil {
				t.Fatalf("expected a batch of %d, got %v", n, err)
			}
			defer batch.Release()
			wantPad := 0
			if p.PadTo > 0 {
				wantPad = p.PadTo - n
			}
			if batch.Rows != n || batch.Reason != reason || batch.Padding != wantPad {
				t.Fatalf("batch %d+%d %s, want %d+%d %s", batch.Rows, batch.Padding, batch.Reason, n, wantPad, reason)
			}
			if w := clock.Now().Sub(model[0].arrival); batch.Waited != w {
				t.Fatalf("Waited = %v, want %v", batch.Waited, w)
			}
			if err := checkBatch(batch, next); err != nil {
				t.Fatal(err)
			}
			next += n
			total -= n
			for n > 0 {
				k := min(n, model[0].rows)
				model[0].rows -= k
				n -= k
				if model[0].rows == 0 {
					model = model[1:]
				}
			}
			return true
		}
		check := func() {
			t.Helper()
			if b.Pending() != total {
				t.Fatalf("Pending() = %d, want %d", b.Pending(), total)
			}
			n, _ := want(false)
			if b.Ready() != (n > 0) {
				t.Fatalf("Ready() = %v with %d pending", b.Ready(), total)
			}
			d, ok := b.UntilNext()
			switch {
			case total == 0:
				if ok {
					t.Fatal("UntilNext reports a wait with nothing pending")
				}
			case n > 0:
				if !ok || d != 0 {
					t.Fatalf("UntilNext() = %v, %v when ready", d, ok)
				}
			default:
				if w := model[0].arrival.Add(p.MaxDelay).Sub(clock.Now()); !ok || d != w {
					t.Fatalf("UntilNext() = %v, %v; want %v", d, ok, w)
				}
			}
		}

		for _, op := range data[4:] {
			arg := int(op >> 2)
			switch op & 3 {
			case 0:
				rec := makeRec(mem, added, 1+arg)
				ready := b.Add(rec)
				rec.Release()
				model = append(model, pend{clock.Now(), 1 + arg})
				added += 1 + arg
				total += 1 + arg
				if n, _ := want(false); ready != (n > 0) {
					t.Fatalf("Add returned %v with %d pending", ready, total)
				}
			case 1:
				clock.Advance(time.Duration(arg) * 100 * time.Microsecond)
			case 2:
				for take(false) {
				}
			case 3:
				take(true)
			}
			check()
		}
		for take(true) {
		}
		if next != added {
			t.Fatalf("batches held %d rows, %d were added", next, added)
		}
		st := b.Stats()
		if st.Rows != int64(added) || st.InputRows != int64(added) {
			t.Fatalf("Stats rows in %d, out %d; want %d", st.InputRows, st.Rows, added)
		}
		b.Close()
		if n := mem.CurrentAlloc(); n != 0 {
			t.Fatalf("%d bytes still allocated", n)
		}
	})
}
