package batcher_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/batcher"
)

// Example runs the owner's loop of the package documentation with a manual
// clock standing in for the timer: rows trickle in one at a time, a full
// batch goes at once, a partial one when its oldest row has waited
// MaxDelay, and the rest at the end of the input.
func Example() {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer func() { fmt.Println("bytes left:", mem.CurrentAlloc()) }()
	clock := batcher.NewManualClock(time.Unix(0, 0))
	start := clock.Now()

	b, err := batcher.New(batcher.Policy{MaxRows: 4, MaxDelay: 10 * time.Millisecond}, mem, batcher.WithClock(clock))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()

	run := func(batch batcher.Batch) { // the model stage would submit it
		defer batch.Release()
		fmt.Printf("%4v: %d rows (%s)\n", clock.Now().Sub(start), batch.Rows, batch.Reason)
	}
	// wait stands in for the select on the input channel and the timer set
	// from UntilNext: it lets d pass, firing the timer on the way.
	wait := func(d time.Duration) {
		until := clock.Now().Add(d)
		for {
			next, ok := b.UntilNext()
			if !ok || clock.Now().Add(next).After(until) {
				clock.Advance(until.Sub(clock.Now()))
				return
			}
			clock.Advance(next) // the timer fires
			for b.Ready() {
				batch, err := b.Next()
				if err != nil {
					fmt.Println(err)
					return
				}
				run(batch)
			}
		}
	}

	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	for i, gap := range []time.Duration{0, 1, 1, 1, 1, 1, 30, 1} { // ms between rows
		wait(gap * time.Millisecond)
		bld := array.NewInt64Builder(mem)
		bld.Append(int64(i))
		col := bld.NewArray()
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1)
		col.Release()
		bld.Release()

		ready := b.Add(rec)
		rec.Release() // Add retained it
		for ready && b.Ready() {
			batch, err := b.Next()
			if err != nil {
				fmt.Println(err)
				return
			}
			run(batch)
		}
	}
	// End of input: flush until nothing is left.
	for {
		batch, err := b.Flush()
		if errors.Is(err, batcher.ErrNoBatch) {
			break
		}
		run(batch)
	}
	st := b.Stats()
	fmt.Println("full:", st.Flushes[batcher.Full], "deadline:", st.Flushes[batcher.Deadline], "end of input:", st.Flushes[batcher.EndOfInput])
	// Output:
	//  3ms: 4 rows (full)
	// 14ms: 2 rows (deadline)
	// 36ms: 2 rows (end_of_input)
	// full: 1 deadline: 1 end of input: 1
	// bytes left: 0
}
