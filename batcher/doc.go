// Package batcher forms the batches a model runs best at from whatever
// arrives: one row at a time from a JSON-lines stream, or million-row
// Parquet row groups. It is the dynamic batcher in front of every model
// stage, after Triton's dynamic batcher (max batch size, queue delay,
// preferred sizes) and Beam's BatchElements (sizes adapted to measured
// latency).
//
// A [Batcher] coalesces small inputs into one batch (copying their columns
// into new buffers), slices large inputs without copying
// (RecordBatch.NewSlice), and sends a partial batch once its oldest row has
// waited the policy's MaxDelay. A batch never has more rows than the target
// size; the rows not taken stay pending, in order. [Policy] states the exact
// rules, including preferred sizes and padding to a static batch dimension.
// A [Sizer] chooses the target size: [Fixed], or an [AdaptiveSizer] that
// follows measured latency toward a budget; [Capped] keeps another sizer's
// target under a limit that may change while batches are formed (the
// model stage's memory budget).
//
// # The loop around it
//
// The batcher is a plain data structure: it starts no goroutines and owns
// no timer. The goroutine that owns it writes a loop like this one:
//
//	timer := time.NewTimer(time.Hour)
//	defer timer.Stop()
//	for {
//		var wake <-chan time.Time // nil: nothing pending, nothing to wait for
//		if d, ok := b.UntilNext(); ok {
//			timer.Reset(d)
//			wake = timer.C
//		}
//		select {
//		case rec, ok := <-in:
//			if !ok { // end of input: send everything left
//				for {
//					batch, err := b.Flush()
//					if errors.Is(err, batcher.ErrNoBatch) {
//						return nil
//					}
//					if err != nil {
//						return err
//					}
//					run(batch) // releases batch.Rec
//				}
//			}
//			b.Add(rec)
//			rec.Release() // Add retained it
//		case <-wake: // the oldest pending row reached its deadline
//		case <-ctx.Done():
//			return ctx.Err()
//		}
//		for b.Ready() {
//			batch, err := b.Next()
//			if err != nil {
//				return err
//			}
//			run(batch)
//		}
//	}
//
// The timer is always set from UntilNext, so a partial batch goes out at
// its deadline even when nothing else arrives. The package example runs
// this loop with a [ManualClock] in place of the timer.
//
// # Ownership
//
// Add retains the batch it is given; the caller keeps and releases its own
// reference. The record of a returned [Batch] belongs to the caller, who
// releases it. It is either a zero-copy slice of one input (sharing that
// input's buffers, which stay alive until the slice is released) or a new
// record allocated from the allocator given to [New]. Close releases every
// pending input.
//
// # Concurrency
//
// A Batcher is not safe for concurrent use; one goroutine owns it. The
// [Sizer] is the exception: the executor's workers call Observe while the
// owner calls Target, so sizers are safe for concurrent use.
//
// # Errors
//
// [Policy.Validate] returns every problem of a policy as a *[PolicyError]
// naming its YAML key. An input whose schema differs from the first one is
// refused and reported by the next Next or Flush as a *[SchemaError];
// [ErrNoBatch] means there is nothing to take yet, [ErrClosed] that the
// batcher was closed.
package batcher
