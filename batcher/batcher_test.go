package batcher

import (
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// memAlloc returns a checked allocator asserted empty when t ends.
func memAlloc(t testing.TB) *memory.CheckedAllocator {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// testSchema has a sequence number, a nullable string derived from it (null
// every third row) and a fixed-size list (seq, -seq), so that slicing and
// concatenation errors in any buffer show up.
var testSchema = arrow.NewSchema([]arrow.Field{
	{Name: "seq", Type: arrow.PrimitiveTypes.Int64},
	{Name: "name", Type: arrow.BinaryTypes.String, Nullable: true},
	{Name: "vec", Type: arrow.FixedSizeListOf(2, arrow.PrimitiveTypes.Float32)},
}, nil)

// makeRec returns rows start..start+n-1 of the test data; the caller
// releases it.
func makeRec(mem memory.Allocator, start, n int) arrow.RecordBatch {
	bld := array.NewRecordBuilder(mem, testSchema)
	defer bld.Release()
	seq := bld.Field(0).(*array.Int64Builder)
	name := bld.Field(1).(*array.StringBuilder)
	vec := bld.Field(2).(*array.FixedSizeListBuilder)
	vals := vec.ValueBuilder().(*array.Float32Builder)
	for i := start; i < start+n; i++ {
		seq.Append(int64(i))
		if i%3 == 2 {
			name.AppendNull()
		} else {
			name.Append("r" + strconv.Itoa(i))
		}
		vec.Append(true)
		vals.Append(float32(i))
		vals.Append(-float32(i))
	}
	return bld.NewRecordBatch()
}

// checkBatch checks that b holds rows from..from+b.Rows-1 of the test data
// followed by b.Padding copies of the last one.
func checkBatch(b Batch, from int) error {
	rec := b.Rec
	if rec == nil {
		return errors.New("nil record")
	}
	if got := rec.NumRows(); got != int64(b.Rows+b.Padding) {
		return fmt.Errorf("record has %d rows, batch says %d + %d padding", got, b.Rows, b.Padding)
	}
	if !rec.Schema().Equal(testSchema) {
		return fmt.Errorf("schema %s", rec.Schema())
	}
	seq := rec.Column(0).(*array.Int64)
	name := rec.Column(1).(*array.String)
	vec := rec.Column(2).(*array.FixedSizeList)
	vals := vec.ListValues().(*array.Float32)
	for i := range int(rec.NumRows()) {
		want := from + min(i, b.Rows-1)
		if got := seq.Value(i); got != int64(want) {
			return fmt.Errorf("row %d: seq %d, want %d", i, got, want)
		}
		if want%3 == 2 {
			if !name.IsNull(i) {
				return fmt.Errorf("row %d: name %q, want null", i, name.Value(i))
			}
		} else if name.IsNull(i) || name.Value(i) != "r"+strconv.Itoa(want) {
			return fmt.Errorf("row %d: name null=%v %q, want r%d", i, name.IsNull(i), name.Value(i), want)
		}
		start, _ := vec.ValueOffsets(i)
		if x, y := vals.Value(int(start)), vals.Value(int(start)+1); x != float32(want) || y != -float32(want) {
			return fmt.Errorf("row %d: vec [%v %v], want [%d -%d]", i, x, y, want, want)
		}
	}
	return nil
}

// input is a record batch of rows rows arriving at time at.
type input struct {
	at   time.Duration
	rows int
}

// got is a batch as the simulated loop saw it.
type got struct {
	at      time.Duration
	rows    int
	padding int
	reason  Reason
}

func (g got) String() string {
	return fmt.Sprintf("%v:%d+%d/%s", g.at, g.rows, g.padding, g.reason)
}

// simulate runs the owner's loop of the package documentation with a
// manual clock: inputs arrive at their times, the timer set from UntilNext
// fires when nothing arrives first, and the input ends at end. It checks
// the data of every batch and returns what was sent when.
func simulate(t *testing.T, p Policy, inputs []input, end time.Duration) ([]got, Stats) {
	t.Helper()
	mem := memAlloc(t)
	clock := NewManualClock(t0)
	b, err := New(p, mem, WithClock(clock))
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var out []got
	next := 0 // first row of the next batch
	take := func(batch Batch, err error) bool {
		t.Helper()
		if errors.Is(err, ErrNoBatch) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		defer batch.Release()
		if err := checkBatch(batch, next); err != nil {
			t.Fatalf("batch %d: %v", len(out), err)
		}
		if max(p.MaxRows, p.PadTo) < batch.Rows+batch.Padding {
			t.Fatalf("batch %d has %d rows, above the policy's size", len(out), batch.Rows+batch.Padding)
		}
		next += batch.Rows
		out = append(out, got{clock.Now().Sub(t0), batch.Rows, batch.Padding, batch.Reason})
		return true
	}
	drain := func() {
		for b.Ready() {
			if !take(b.Next()) {
				t.Fatal("Ready but Next has no batch")
			}
		}
		if _, err := b.Next(); !errors.Is(err, ErrNoBatch) {
			t.Fatalf("not Ready but Next: %v", err)
		}
	}
	// advance moves the clock to at, letting the timer fire on the way.
	advance := func(at time.Duration) {
		for {
			d, ok := b.UntilNext()
			now := clock.Now().Sub(t0)
			if !ok || now+d > at {
				clock.Advance(at - now)
				return
			}
			clock.Advance(d)
			drain()
		}
	}
	rows := 0
	for _, in := range inputs {
		advance(in.at)
		rec := makeRec(mem, rows, in.rows)
		b.Add(rec)
		rec.Release()
		rows += in.rows
		drain()
	}
	advance(end)
	for take(b.Flush()) {
	}
	if next != rows {
		t.Fatalf("batches hold %d rows, %d were added", next, rows)
	}
	if b.Pending() != 0 {
		t.Fatalf("Pending() = %d after flushing", b.Pending())
	}
	return out, b.Stats()
}

// every returns n inputs of rows rows, one every step from start.
func every(n, rows int, start, step time.Duration) []input {
	out := make([]input, n)
	for i := range out {
		out[i] = input{start + time.Duration(i)*step, rows}
	}
	return out
}

func TestBatcherLoop(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		p      Policy
		inputs []input
		end    time.Duration
		want   string
		copied int64
	}{{
		name:   "coalesce single rows",
		p:      Policy{MaxRows: 4, MaxDelay: 10 * ms},
		inputs: every(10, 1, 0, ms),
		end:    time.Second,
		// rows 8 and 9 arrive at 8ms and 9ms: ready at 18ms, not later.
		want:   "[3ms:4+0/full 7ms:4+0/full 18ms:2+0/deadline]",
		copied: 3,
	}, {
		name:   "end of input before the deadline",
		p:      Policy{MaxRows: 4, MaxDelay: 10 * ms},
		inputs: every(6, 1, 0, ms),
		end:    6 * ms,
		want:   "[3ms:4+0/full 6ms:2+0/end_of_input]",
		copied: 2,
	}, {
		name:   "slice a large input",
		p:      Policy{MaxRows: 4, MaxDelay: 10 * ms},
		inputs: []input{{0, 10}},
		end:    time.Second,
		want:   "[0s:4+0/full 0s:4+0/full 10ms:2+0/deadline]",
	}, {
		name:   "mixed sizes keep order",
		p:      Policy{MaxRows: 4, MaxDelay: 10 * ms},
		inputs: []input{{0, 3}, {ms, 5}, {2 * ms, 2}},
		end:    time.Second,
		// 3+1 coalesced, then 4 sliced from the 5-row input, then 2 left.
		want:   "[1ms:4+0/full 1ms:4+0/full 12ms:2+0/deadline]",
		copied: 1,
	}, {
		name:   "no delay sends at once",
		p:      Policy{MaxRows: 4},
		inputs: every(3, 1, 0, ms),
		end:    time.Second,
		want:   "[0s:1+0/deadline 1ms:1+0/deadline 2ms:1+0/deadline]",
	}, {
		name:   "whole input passes through",
		p:      Policy{MaxRows: 4, MaxDelay: ms},
		inputs: []input{{0, 4}, {5 * ms, 3}},
		end:    time.Second,
		want:   "[0s:4+0/full 6ms:3+0/deadline]",
	}, {
		name:   "preferred sizes when the delay is spent",
		p:      Policy{MaxRows: 16, MaxDelay: 10 * ms, PreferredRows: []int{8, 4}},
		inputs: every(30, 1, 0, ms),
		end:    time.Second,
		// At 10ms rows 0-10 wait: 8 go; rows 8-10 arrived from 8ms on,
		// so they wait until 18ms, when 11 rows wait again; likewise at
		// 26ms. After the last row (29ms) rows 24-29 are left: at 34ms 4
		// go as a preferred size, and rows 28-29 at their deadline, 38ms.
		want:   "[10ms:8+0/preferred 18ms:8+0/preferred 26ms:8+0/preferred 34ms:4+0/preferred 38ms:2+0/deadline]",
		copied: 5,
	}, {
		name:   "end of input uses preferred sizes",
		p:      Policy{MaxRows: 16, MaxDelay: time.Second, PreferredRows: []int{4, 8}},
		inputs: []input{{0, 13}},
		end:    ms,
		want:   "[1ms:8+0/preferred 1ms:4+0/preferred 1ms:1+0/end_of_input]",
	}, {
		name:   "pad to a static batch",
		p:      Policy{MaxRows: 4, MaxDelay: 10 * ms, PadTo: 6},
		inputs: []input{{0, 9}},
		end:    time.Second,
		want:   "[0s:4+2/full 0s:4+2/full 10ms:1+5/deadline]",
		copied: 3,
	}, {
		name:   "pad to max rows needs no copy when full",
		p:      Policy{MaxRows: 4, MaxDelay: 10 * ms, PadTo: 4},
		inputs: []input{{0, 6}},
		end:    2 * ms,
		want:   "[0s:4+0/full 2ms:2+2/end_of_input]",
		copied: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := simulate(t, tt.p, tt.inputs, tt.end)
			if s := fmt.Sprint(out); s != tt.want {
				t.Errorf("batches\n got %s\nwant %s", s, tt.want)
			}
			if st.Copied != tt.copied {
				t.Errorf("Copied = %d, want %d", st.Copied, tt.copied)
			}
		})
	}
}

// newTest returns a batcher on a manual clock, closed when t ends.
func newTest(t *testing.T, p Policy, opts ...Option) (*Batcher, *ManualClock, memory.Allocator) {
	t.Helper()
	mem := memAlloc(t)
	clock := NewManualClock(t0)
	b, err := New(p, mem, append([]Option{WithClock(clock)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b, clock, mem
}

// add adds rows start..start+n-1 and returns Add's result.
func add(b *Batcher, mem memory.Allocator, start, n int) bool {
	rec := makeRec(mem, start, n)
	defer rec.Release()
	return b.Add(rec)
}

func TestDeadlineExact(t *testing.T) {
	const delay = 5 * time.Millisecond
	b, clock, mem := newTest(t, Policy{MaxRows: 100, MaxDelay: delay})
	if d, ok := b.UntilNext(); ok || d != 0 {
		t.Errorf("UntilNext() on empty = %v, %v; want 0, false", d, ok)
	}
	if add(b, mem, 0, 3) {
		t.Fatal("Add reported ready with 3 of 100 rows and no delay spent")
	}
	clock.Advance(2 * time.Millisecond)
	if add(b, mem, 3, 2) {
		t.Fatal("second Add reported ready")
	}
	// The deadline runs from the first row's arrival, not the last one's.
	if d, ok := b.UntilNext(); !ok || d != 3*time.Millisecond {
		t.Errorf("UntilNext() = %v, %v; want 3ms, true", d, ok)
	}
	clock.Advance(3*time.Millisecond - 1)
	if b.Ready() {
		t.Fatal("Ready 1ns before the deadline")
	}
	if d, _ := b.UntilNext(); d != 1 {
		t.Errorf("UntilNext() = %v 1ns before the deadline", d)
	}
	if _, err := b.Next(); !errors.Is(err, ErrNoBatch) {
		t.Fatalf("Next before the deadline: %v", err)
	}
	clock.Advance(1)
	if !b.Ready() {
		t.Fatal("not Ready at the deadline")
	}
	if d, ok := b.UntilNext(); !ok || d != 0 {
		t.Errorf("UntilNext() at the deadline = %v, %v", d, ok)
	}
	batch, err := b.Next()
	if err != nil {
		t.Fatal(err)
	}
	defer batch.Release()
	if batch.Rows != 5 || batch.Reason != Deadline || batch.Waited != delay {
		t.Errorf("batch = %d rows, %s, waited %v; want 5, deadline, %v", batch.Rows, batch.Reason, batch.Waited, delay)
	}
	if err := checkBatch(batch, 0); err != nil {
		t.Error(err)
	}
	// Late Next calls still send: the deadline is a lower bound on the
	// wait only when the owner is late.
	add(b, mem, 5, 1)
	clock.Advance(time.Hour)
	late, err := b.Next()
	if err != nil {
		t.Fatal(err)
	}
	late.Release()
	if late.Waited != time.Hour || b.Stats().MaxWaited != time.Hour {
		t.Errorf("Waited = %v, MaxWaited = %v; want 1h", late.Waited, b.Stats().MaxWaited)
	}
}

func TestZeroCopy(t *testing.T) {
	b, _, mem := newTest(t, Policy{MaxRows: 4})
	rec := makeRec(mem, 0, 10)
	defer rec.Release()
	b.Add(rec)
	// Slices share the input's buffers.
	for i, want := range []int{4, 4, 2} {
		batch, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		if batch.Rows != want {
			t.Errorf("batch %d: %d rows, want %d", i, batch.Rows, want)
		}
		if got, in := batch.Rec.Column(0).Data().Buffers()[1], rec.Column(0).Data().Buffers()[1]; got != in {
			t.Errorf("batch %d: seq buffer was copied", i)
		}
		if err := checkBatch(batch, 4*i); err != nil {
			t.Errorf("batch %d: %v", i, err)
		}
		batch.Release()
	}
	// An input that is exactly a batch is passed through, retained.
	whole := makeRec(mem, 10, 4)
	defer whole.Release()
	b.Add(whole)
	batch, err := b.Next()
	if err != nil {
		t.Fatal(err)
	}
	if batch.Rec != whole {
		t.Error("a whole input was not passed through")
	}
	batch.Release()
	if st := b.Stats(); st.Copied != 0 || st.Batches != 4 {
		t.Errorf("Copied = %d, Batches = %d; want 0, 4", st.Copied, st.Batches)
	}
}

func TestRefusedInputs(t *testing.T) {
	b, _, mem := newTest(t, Policy{MaxRows: 4, MaxDelay: time.Second})
	add(b, mem, 0, 2)

	other := arrow.NewSchema([]arrow.Field{{Name: "seq", Type: arrow.PrimitiveTypes.Int32}}, nil)
	bld := array.NewRecordBuilder(mem, other)
	bld.Field(0).(*array.Int32Builder).Append(7)
	odd := bld.NewRecordBatch()
	bld.Release()
	defer odd.Release()
	if !b.Add(odd) {
		t.Error("Add of a mismatched schema did not report ready")
	}
	_, err := b.Next()
	var se *SchemaError
	if !errors.As(err, &se) || !errors.Is(err, ErrSchemaMismatch) {
		t.Fatalf("Next after a mismatched schema: %v", err)
	}
	const want = "batcher: input schema changed: first input had (seq int64, name utf8 null, vec fixed_size_list<item: float32, nullable>[2]), this one has (seq int32)"
	if err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}
	// The error is reported once; the pending rows are intact.
	if b.Pending() != 2 || b.Ready() {
		t.Errorf("after the error: Pending() = %d, Ready() = %v", b.Pending(), b.Ready())
	}
	// Empty and nil inputs are ignored.
	empty := makeRec(mem, 0, 0)
	defer empty.Release()
	if b.Add(empty) || b.Add(nil) || b.Pending() != 2 {
		t.Errorf("empty inputs changed the batcher: Pending() = %d", b.Pending())
	}
	batch, err := b.Flush()
	if err != nil {
		t.Fatal(err)
	}
	if err := checkBatch(batch, 0); err != nil || batch.Reason != EndOfInput {
		t.Errorf("flushed %s batch: %v", batch.Reason, err)
	}
	batch.Release()
	if _, err := b.Flush(); !errors.Is(err, ErrNoBatch) {
		t.Errorf("Flush with nothing pending: %v", err)
	}

	add(b, mem, 2, 3)
	b.Close()
	b.Close()
	if b.Pending() != 0 {
		t.Errorf("Pending() = %d after Close", b.Pending())
	}
	if !add(b, mem, 5, 1) {
		t.Error("Add after Close did not report ready")
	}
	for i := range 2 {
		if _, err := b.Next(); !errors.Is(err, ErrClosed) {
			t.Errorf("Next %d after Close: %v", i, err)
		}
	}
	if st := b.Stats(); st.Rejected != 2 || st.Inputs != 2 || st.InputRows != 5 {
		t.Errorf("Rejected = %d, Inputs = %d, InputRows = %d; want 2, 2, 5", st.Rejected, st.Inputs, st.InputRows)
	}
}

// stepSizer is a Sizer whose target the test sets.
type stepSizer struct{ n int }

func (s *stepSizer) Target() int                { return s.n }
func (s *stepSizer) Observe(int, time.Duration) {}

func TestSizerTarget(t *testing.T) {
	s := &stepSizer{n: 3}
	b, _, mem := newTest(t, Policy{MaxRows: 8, MaxDelay: time.Second}, WithSizer(s))
	if b.Sizer() != Sizer(s) {
		t.Error("Sizer() is not the sizer given")
	}
	if !add(b, mem, 0, 20) {
		t.Fatal("20 rows with target 3 not ready")
	}
	next := 0
	for _, tc := range []struct{ target, want int }{{3, 3}, {100, 8}, {0, 1}, {-5, 1}, {5, 5}} {
		s.n = tc.target
		if b.Target() != tc.want {
			t.Errorf("Target() = %d with sizer target %d, want %d", b.Target(), tc.target, tc.want)
		}
		batch, err := b.Next()
		if err != nil {
			t.Fatal(err)
		}
		if batch.Rows != tc.want || batch.Reason != Full {
			t.Errorf("sizer target %d: batch of %d (%s), want %d", tc.target, batch.Rows, batch.Reason, tc.want)
		}
		if err := checkBatch(batch, next); err != nil {
			t.Error(err)
		}
		next += batch.Rows
		batch.Release()
	}
	if b.Pending() != 2 {
		t.Errorf("Pending() = %d, want 2", b.Pending())
	}
}

func TestStats(t *testing.T) {
	_, st := simulate(t, Policy{MaxRows: 16, MaxDelay: 10 * time.Millisecond, PreferredRows: []int{8}, PadTo: 16},
		append(every(20, 1, 0, time.Millisecond), input{25 * time.Millisecond, 40}), time.Second)
	// 1-row inputs: 0-10 wait at 10ms -> 8 preferred; 8-18 at 18ms -> 8
	// preferred; 16-19 at 26ms, but 40 rows came at 25ms: 16 full, 16 full,
	// 12 left from 25ms -> 8 preferred at 35ms, 4 deadline at 35ms.
	// The second full batch is a slice of the 40-row input: not copied.
	want := Stats{
		Inputs: 21, InputRows: 60,
		Batches: 6, Rows: 60, PadRows: 6*16 - 60, Copied: 5,
		Flushes:   [NumReasons]int64{Full: 2, Preferred: 3, Deadline: 1},
		FlushRows: [NumReasons]int64{Full: 32, Preferred: 24, Deadline: 4},
		MaxWaited: 10 * time.Millisecond, Target: 16,
	}
	want.Sizes[SizeBucket(16)] = 2
	want.Sizes[SizeBucket(8)] = 3
	want.Sizes[SizeBucket(4)] = 1
	if st != want {
		t.Errorf("stats\n got %+v\nwant %+v", st, want)
	}
}

func TestSizeBucket(t *testing.T) {
	for _, tc := range []struct{ rows, want int }{
		{0, 0}, {1, 0}, {2, 1}, {3, 2}, {4, 2}, {5, 3}, {8, 3}, {9, 4}, {1 << 20, 20}, {1<<20 + 1, 21}, {1 << 40, SizeBuckets - 1},
	} {
		if got := SizeBucket(tc.rows); got != tc.want {
			t.Errorf("SizeBucket(%d) = %d, want %d", tc.rows, got, tc.want)
		}
	}
	for r := range NumReasons {
		if s := Reason(r).String(); s == "unknown" || s == "" {
			t.Errorf("Reason(%d) has no name", r)
		}
	}
	if s := Reason(NumReasons).String(); s != "unknown" {
		t.Errorf("Reason(NumReasons) = %q", s)
	}
}

func TestAddAllocs(t *testing.T) {
	b, _, mem := newTest(t, Policy{MaxRows: 1 << 30, MaxDelay: time.Hour})
	rec := makeRec(mem, 0, 1)
	defer rec.Release()
	if n := testing.AllocsPerRun(1000, func() { b.Add(rec) }); n != 0 {
		t.Errorf("Add allocates %v times per call", n)
	}
	if b.Pending() != 1001 {
		t.Errorf("Pending() = %d, want 1001", b.Pending())
	}
}
