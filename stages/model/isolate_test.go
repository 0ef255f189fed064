package model_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/bridge"
	"github.com/pipe-ml/pipe/executor"
	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
	"github.com/pipe-ml/pipe/stages/model"
)

// rejected is what the fake Rejecter saw in one call.
type rejected struct {
	keys []int64 // the key column of the rows
	err  error
}

// fakeRejecter records rejected rows, copying their keys out (the record is
// borrowed), and refuses once more than budget rows were rejected
// (budget < 0: never).
type fakeRejecter struct {
	budget int
	mu     sync.Mutex
	calls  []rejected
	rows   int
}

func (r *fakeRejecter) Reject(ctx context.Context, rec arrow.RecordBatch, err error) error {
	idx := rec.Schema().FieldIndices("key")
	if len(idx) != 1 {
		return fmt.Errorf("fake rejecter: no key column in %s", rec.Schema())
	}
	keys := slices.Clone(rec.Column(idx[0]).(*array.Int64).Int64Values())
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, rejected{keys: keys, err: err})
	r.rows += len(keys)
	if r.budget >= 0 && r.rows > r.budget {
		return fmt.Errorf("stage %q: %d failed rows, max_errors is %d: %w", "test", r.rows, r.budget, stages.ErrTooManyErrors)
	}
	return nil
}

// keys returns every rejected key in the order the rows were rejected.
func (r *fakeRejecter) keys() []int64 {
	var out []int64
	for _, c := range r.calls {
		out = append(out, c.keys...)
	}
	return out
}

// embedRows builds rows for embed.onnx: key (the row number, first..) and
// ids, null where ids[i] is nullID.
const nullID = -1 << 62

func embedRows(mem memory.Allocator, first int, ids []int64) arrow.RecordBatch {
	kb := array.NewInt64Builder(mem)
	defer kb.Release()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	for i, id := range ids {
		kb.Append(int64(first + i))
		if id == nullID {
			ib.AppendNull()
		} else {
			ib.Append(id)
		}
	}
	k, v := kb.NewArray(), ib.NewArray()
	defer k.Release()
	defer v.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "key", Type: arrow.PrimitiveTypes.Int64}, {Name: "ids", Type: arrow.PrimitiveTypes.Int64, Nullable: true}}, nil)
	return array.NewRecordBatch(schema, []arrow.Array{k, v}, int64(len(ids)))
}

// embedding is embed.onnx's lookup, computed independently: row id of the
// table is 10·id + d, negative ids count from the end.
func embedding(id int64) [3]float32 {
	if id < 0 {
		id += 10
	}
	return [3]float32{float32(10 * id), float32(10*id + 1), float32(10*id + 2)}
}

// scored is one output row: its key and its three embedding values.
type scored struct {
	key int64
	emb [3]float32
}

func collectEmbed(t *testing.T, out []arrow.RecordBatch) []scored {
	t.Helper()
	var got []scored
	for _, r := range out {
		keys := r.Column(0).(*array.Int64)
		emb := r.Column(2).(*array.FixedSizeList)
		vals := emb.ListValues().(*array.Float32).Float32Values()[emb.Offset()*3:]
		for i := range int(r.NumRows()) {
			got = append(got, scored{keys.Value(i), [3]float32{vals[3*i], vals[3*i+1], vals[3*i+2]}})
		}
	}
	return got
}

// TestIsolateBadRows runs embed.onnx over rows of which some hold ids out
// of the table (ONNX Runtime fails their whole batch as invalid input) or
// nulls, with a Rejecter: exactly those rows are rejected, with errors
// naming the row, and every other row comes out scored, in input order.
func TestIsolateBadRows(t *testing.T) {
	stagetest.NeedORT(t)
	const n = 70
	tests := []struct {
		name      string
		bad       map[int]int64 // row -> id; nullID: null
		batch     string
		instances int
		executor  bool     // own executor; its health is checked after the run
		wantErr   []string // per rejected row, in stream order: substrings of its error
	}{
		{name: "out of range ids, one instance", bad: map[int]int64{3: 10, 17: -11, 18: 1000, 69: 99},
			batch: "{max_rows: 16}", instances: 1,
			wantErr: []string{"row 3: ", "row 17: ", "row 18: ", "row 69: "}},
		{name: "out of range ids, three instances", bad: map[int]int64{0: 10, 31: 12, 32: 13, 33: 14, 47: -20},
			batch: "{max_rows: 16}", instances: 3,
			wantErr: []string{"row 0: ", "row 31: ", "row 32: ", "row 33: ", "row 47: "}},
		{name: "a whole batch out of range", bad: map[int]int64{8: 10, 9: 10, 10: 10, 11: 10, 12: 10, 13: 10, 14: 10, 15: 10},
			batch: "{max_rows: 8}", instances: 2,
			wantErr: []string{"row 8: ", "row 9: ", "row 10: ", "row 11: ", "row 12: ", "row 13: ", "row 14: ", "row 15: "}},
		{name: "nulls", bad: map[int]int64{0: nullID, 5: nullID, 6: nullID, 15: nullID, 16: nullID, 69: nullID},
			batch: "{max_rows: 16}", instances: 2,
			wantErr: []string{`column "ids", row 0: null`, `column "ids", row 5: null`, `column "ids", row 6: null`,
				`column "ids", row 15: null`, `column "ids", row 16: null`, `column "ids", row 69: null`}},
		{name: "a whole batch of nulls", bad: map[int]int64{16: nullID, 17: nullID, 18: nullID, 19: nullID, 20: nullID, 21: nullID, 22: nullID, 23: nullID},
			batch: "{max_rows: 8}", instances: 2,
			wantErr: []string{"row 16: null", "row 17: null", "row 18: null", "row 19: null", "row 20: null", "row 21: null", "row 22: null", "row 23: null"}},
		{name: "nulls and out of range ids in one batch", bad: map[int]int64{2: nullID, 4: 10, 7: nullID, 9: 55, 10: nullID, 40: 10},
			batch: "{max_rows: 32}", instances: 1,
			// Nulls are set aside before the run and handed over in
			// stream order with the rows bisection finds.
			wantErr: []string{"row 2: null", "row 4: ", "row 7: null", "row 9: ", "row 10: null", "row 40: "}},
		{name: "pad_to on a dynamic model", bad: map[int]int64{5: 10, 6: nullID, 23: 10, 50: -11},
			batch: "{max_rows: 8, pad_to: 8}", instances: 2,
			// Parts are padded to 8 rows as whole batches are.
			wantErr: []string{"row 5: ", "row 6: null", "row 23: ", "row 50: "}},
		{name: "through the executor", bad: map[int]int64{5: 10, 6: nullID, 50: -11},
			batch: "{max_rows: 32}", instances: 2, executor: true,
			wantErr: []string{"row 5: ", "row 6: null", "row 50: "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			ids := make([]int64, n)
			var want []scored
			for i := range ids {
				ids[i] = int64(i%19) - 9 // -9..9: all in the table
				if id, bad := tt.bad[i]; bad {
					ids[i] = id
					continue
				}
				want = append(want, scored{int64(i), embedding(ids[i])})
			}
			// Several input batches of awkward sizes.
			var recs []arrow.RecordBatch
			for lo := 0; lo < n; lo += 23 {
				hi := min(lo+23, n)
				recs = append(recs, embedRows(mem, lo, ids[lo:hi]))
			}
			var ex *executor.Executor
			with := fmt.Sprintf("model: embed.onnx\ninputs: {ids: ids}\nbatch: %s\ninstances: %d\nthreads: 1\n", tt.batch, tt.instances)
			if tt.executor {
				var err error
				ex, err = executor.New(executor.Options{})
				if err != nil {
					t.Fatal(err)
				}
				defer ex.Close()
				// One counted failure would open the breaker.
				with += "circuit_breaker: {failures: 1}\n"
			}
			rej := &fakeRejecter{budget: -1}
			s := buildRejecting(t, mem, rej, ex, with, recs[0].Schema())
			out, err := runStage(t, s, recs...)
			defer stagetest.Release(out)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			got := collectEmbed(t, out)
			if !slices.Equal(got, want) {
				t.Fatalf("scored rows:\n got %v\nwant %v", got, want)
			}
			if len(rej.calls) != len(tt.wantErr) {
				t.Fatalf("%d Reject calls (keys %v), want %d", len(rej.calls), rej.keys(), len(tt.wantErr))
			}
			for i, c := range rej.calls {
				if len(c.keys) != 1 || !strings.Contains(c.err.Error(), tt.wantErr[i]) {
					t.Fatalf("Reject call %d: keys %v, error %q; want one row and %q", i, c.keys, c.err, tt.wantErr[i])
				}
				row := int(c.keys[0])
				if tt.bad[row] == nullID {
					var re *model.RowError
					if !errors.As(c.err, &re) || re.Column != "ids" || re.Row != int64(row) {
						t.Fatalf("Reject call %d: %v is not a RowError for column ids, row %d", i, c.err, row)
					}
					continue
				}
				if bridge.ClassOf(c.err) != bridge.ClassInvalidInput || !strings.Contains(c.err.Error(), "out of data bounds") {
					t.Fatalf("Reject call %d: %v is not the backend's invalid-input error", i, c.err)
				}
			}
			if ex != nil {
				// Invalid input is the rows' fault: the backend's breaker
				// and health must not count it.
				var seen bool
				for _, b := range ex.Backends() {
					for _, m := range b.Models {
						if m.Model == "embed.onnx" {
							seen = true
							if b.Name != "cpu" || m.Breaker != executor.BreakerClosed || m.Errors != 0 {
								t.Errorf("executor: embed.onnx on %s: breaker %s, %d errors in %d runs", b.Name, m.Breaker, m.Errors, m.Runs)
							}
						}
					}
				}
				if !seen {
					t.Errorf("executor reports no health for embed.onnx")
				}
			}
			r := s.Report().(*model.Report)
			t.Logf("report: %s; first rejection: %v", r, rej.calls[0].err)
			if r.RejectedRows != int64(len(tt.bad)) {
				t.Errorf("report: %d rejected rows, want %d", r.RejectedRows, len(tt.bad))
			}
			nulls := 0
			for _, id := range tt.bad {
				if id == nullID {
					nulls++
				}
			}
			if (r.BisectRuns > 0) != (nulls < len(tt.bad)) {
				t.Errorf("report: %d bisection runs with %d of %d bad rows out of range", r.BisectRuns, len(tt.bad)-nulls, len(tt.bad))
			}
			if !strings.Contains(r.String(), fmt.Sprintf("rejected %d rows", len(tt.bad))) {
				t.Errorf("report: %s", r)
			}
		})
	}
}

// floatRows builds rows keyed by keys with k float values each, value j of
// key r being a fixed function of (r, j): as one fixed_size_list<float32>
// column x, or (packed) as k float64 columns c0..c{k-1}. nulls maps a key
// to what is null in its row: -1 the whole list, j >= 0 value j (or column
// cj).
func floatRows(mem memory.Allocator, keys []int64, k int, packed bool, nulls map[int64]int) arrow.RecordBatch {
	value := func(r int64, j int) float64 { return float64((r*31+int64(j)*7)%23)/11 - 1 }
	kb := array.NewInt64Builder(mem)
	defer kb.Release()
	kb.AppendValues(keys, nil)
	cols := []arrow.Array{kb.NewArray()}
	fields := []arrow.Field{{Name: "key", Type: arrow.PrimitiveTypes.Int64}}
	defer func() {
		for _, c := range cols {
			c.Release()
		}
	}()
	if packed {
		for j := range k {
			b := array.NewFloat64Builder(mem)
			for _, r := range keys {
				if w, ok := nulls[r]; ok && w == j {
					b.AppendNull()
				} else {
					b.Append(value(r, j))
				}
			}
			cols = append(cols, b.NewArray())
			b.Release()
			fields = append(fields, arrow.Field{Name: fmt.Sprintf("c%d", j), Type: arrow.PrimitiveTypes.Float64, Nullable: true})
		}
	} else {
		lb := array.NewFixedSizeListBuilder(mem, int32(k), arrow.PrimitiveTypes.Float32)
		defer lb.Release()
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for _, r := range keys {
			w, isNull := nulls[r]
			if isNull && w < 0 {
				lb.AppendNull()
				continue
			}
			lb.Append(true)
			for j := range k {
				if isNull && w == j {
					vb.AppendNull()
				} else {
					vb.Append(float32(value(r, j)))
				}
			}
		}
		cols = append(cols, lb.NewArray())
		fields = append(fields, arrow.Field{Name: "x", Type: cols[1].DataType(), Nullable: true})
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(keys)))
}

// outputsByKey maps each output row's key to the float32 values of the
// column named col.
func outputsByKey(t *testing.T, out []arrow.RecordBatch, col string) (keys []int64, vals map[int64][]float32) {
	t.Helper()
	vals = map[int64][]float32{}
	for _, r := range out {
		ci := r.Schema().FieldIndices(col)
		if len(ci) != 1 {
			t.Fatalf("no column %q in %s", col, r.Schema())
		}
		c := r.Column(ci[0])
		per := 1
		if fsl, ok := c.(*array.FixedSizeList); ok {
			per = int(fsl.DataType().(*arrow.FixedSizeListType).Len())
		}
		flat := flatF32(c)
		for i, key := range r.Column(0).(*array.Int64).Int64Values() {
			keys = append(keys, key)
			vals[key] = flat[i*per : (i+1)*per]
		}
	}
	return keys, vals
}

// TestNullRowsMatchCleanRun rejects rows with nulls (in a list column, in
// a list's values, in packed columns; with a static batch dimension, so the
// rows left are padded again) and checks that the other rows score exactly
// as a run over only those rows without on_error.
func TestNullRowsMatchCleanRun(t *testing.T) {
	stagetest.NeedORT(t)
	tests := []struct {
		name   string
		with   string
		k      int
		packed bool
		out    string
		n      int64
		nulls  map[int64]int
	}{
		{name: "static batch, list column", with: "model: static_batch.onnx\ninputs: {x: x}\noutputs: {y: y}\n", k: 16, out: "y",
			n: 21, nulls: map[int64]int{3: -1, 4: 5, 20: -1}},
		{name: "static batch, a batch left with one row", with: "model: static_batch.onnx\ninputs: {x: x}\noutputs: {y: y}\n", k: 16, out: "y",
			n: 16, nulls: map[int64]int{8: -1, 9: 0, 10: 1, 11: 2, 13: -1, 14: 15, 15: -1}},
		{name: "packed columns", with: "model: head.onnx\ninputs: {h: [c0, c1, c2, c3, c4, c5, c6, c7]}\noutputs: {score: score}\nbatch: {max_rows: 8}\ninstances: 2\n", k: 8, packed: true, out: "score",
			n: 30, nulls: map[int64]int{0: 2, 9: 7, 10: 0, 29: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			var all, good []int64
			for r := range tt.n {
				all = append(all, r)
				if _, bad := tt.nulls[r]; !bad {
					good = append(good, r)
				}
			}
			rec := floatRows(mem, all, tt.k, tt.packed, tt.nulls)
			clean := floatRows(mem, good, tt.k, tt.packed, nil)
			rej := &fakeRejecter{budget: -1}
			s := buildRejecting(t, mem, rej, nil, tt.with, rec.Schema())
			ref := buildRejecting(t, mem, nil, nil, tt.with, clean.Schema())
			out, err := runStage(t, s, rec)
			defer stagetest.Release(out)
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			refOut, err := runStage(t, ref, clean)
			defer stagetest.Release(refOut)
			if err != nil {
				t.Fatalf("clean run: %v", err)
			}
			keys, got := outputsByKey(t, out, tt.out)
			if !slices.Equal(keys, good) {
				t.Fatalf("output keys %v, want %v", keys, good)
			}
			_, want := outputsByKey(t, refOut, tt.out)
			for _, key := range good {
				if len(got[key]) != len(want[key]) || len(got[key]) == 0 {
					t.Fatalf("key %d: %d values, want %d", key, len(got[key]), len(want[key]))
				}
				for j := range got[key] {
					if !near(got[key][j], want[key][j]) {
						t.Fatalf("key %d value %d: %g, want %g", key, j, got[key][j], want[key][j])
					}
				}
			}
			var wantRejected []int64
			for r := range tt.n {
				if _, bad := tt.nulls[r]; bad {
					wantRejected = append(wantRejected, r)
				}
			}
			if !slices.Equal(rej.keys(), wantRejected) {
				t.Fatalf("rejected %v, want %v", rej.keys(), wantRejected)
			}
			for _, c := range rej.calls {
				var re *model.RowError
				if !errors.As(c.err, &re) || re.Row != c.keys[0] || !strings.Contains(re.Msg, "null") {
					t.Fatalf("rejected key %d with %v", c.keys[0], c.err)
				}
			}
			if r := s.Report().(*model.Report); r.RejectedRows != int64(len(tt.nulls)) || r.BisectRuns != 0 {
				t.Errorf("report: %d rejected rows, %d bisection runs", r.RejectedRows, r.BisectRuns)
			}
		})
	}
}

// TestRejectBudgetEndsRun gives the stage a Rejecter whose max_errors
// budget runs out: the stage returns its error, and nothing leaks, whether
// the budget runs out on nulls (before a run) or while bisecting, and with
// calls still in flight.
func TestRejectBudgetEndsRun(t *testing.T) {
	stagetest.NeedORT(t)
	tests := []struct {
		name string
		bad  map[int]int64
	}{
		{"nulls", map[int]int64{20: nullID, 21: nullID, 40: nullID}},
		{"out of range ids", map[int]int64{20: 10, 21: 10, 40: 10}},
		{"both", map[int]int64{20: nullID, 40: 10, 41: 11}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			ids := make([]int64, 80)
			for i := range ids {
				ids[i] = int64(i % 10)
				if id, ok := tt.bad[i]; ok {
					ids[i] = id
				}
			}
			var recs []arrow.RecordBatch
			for lo := 0; lo < len(ids); lo += 10 {
				recs = append(recs, embedRows(mem, lo, ids[lo:lo+10]))
			}
			rej := &fakeRejecter{budget: 2}
			s := buildRejecting(t, mem, rej, nil, "model: embed.onnx\ninputs: {ids: ids}\nbatch: {max_rows: 8}\ninstances: 3\nthreads: 1\n", recs[0].Schema())
			in := make(chan arrow.RecordBatch, len(recs))
			for _, r := range recs {
				in <- r
			}
			close(in)
			err := s.Run(context.Background(), []<-chan arrow.RecordBatch{in}, func(ctx context.Context, r arrow.RecordBatch) error {
				r.Release()
				return nil
			})
			for r := range in { // the rows Run did not read
				r.Release()
			}
			if !errors.Is(err, stages.ErrTooManyErrors) {
				t.Fatalf("Run = %v, want the Rejecter's ErrTooManyErrors", err)
			}
			if rej.rows != 3 {
				t.Fatalf("%d rows rejected, want the Run to stop at the third", rej.rows)
			}
		})
	}
}

// TestEmitErrorWhileBisecting stops downstream while a bisected batch is
// being emitted part by part: Run returns emit's error and frees every
// part.
func TestEmitErrorWhileBisecting(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	ids := make([]int64, 16)
	ids[11] = 10
	rec := embedRows(mem, 0, ids)
	rej := &fakeRejecter{budget: -1}
	s := buildRejecting(t, mem, rej, nil, "model: embed.onnx\ninputs: {ids: ids}\nbatch: {max_rows: 16}\n", rec.Schema())
	in := make(chan arrow.RecordBatch, 1)
	in <- rec
	close(in)
	errStop := errors.New("downstream stopped")
	emitted := 0
	err := s.Run(context.Background(), []<-chan arrow.RecordBatch{in}, func(ctx context.Context, r arrow.RecordBatch) error {
		r.Release()
		emitted++
		if emitted == 2 {
			return errStop
		}
		return nil
	})
	if !errors.Is(err, errStop) || emitted != 2 {
		t.Fatalf("Run = %v after %d emits, want errStop after 2", err, emitted)
	}
}

// TestInvalidInputWithoutRejecter checks that without a Rejecter (on_error
// fail) a batch the backend refuses ends the run as before, naming the
// batch's rows and keeping the backend's class, with no bisection.
func TestInvalidInputWithoutRejecter(t *testing.T) {
	stagetest.NeedORT(t)
	mem := stagetest.Mem(t)
	ids := make([]int64, 40)
	ids[20] = 10
	rec := embedRows(mem, 0, ids)
	s := buildRejecting(t, mem, nil, nil, "model: embed.onnx\ninputs: {ids: ids}\nbatch: {max_rows: 16}\n", rec.Schema())
	out, err := runStage(t, s, rec)
	stagetest.Release(out)
	if err == nil || !strings.HasPrefix(err.Error(), "rows 16-31: cpu backend: run: invalid_input") || bridge.ClassOf(err) != bridge.ClassInvalidInput {
		t.Fatalf("Run = %v", err)
	}
	if r := s.Report().(*model.Report); r.BisectRuns != 0 || r.RejectedRows != 0 {
		t.Fatalf("report without a Rejecter: %d bisection runs, %d rejected rows", r.BisectRuns, r.RejectedRows)
	}
}
