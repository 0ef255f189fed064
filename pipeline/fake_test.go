package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/stages"
)

// Fake stage types for runtime and loader tests.

var seqSchema = arrow.NewSchema([]arrow.Field{{Name: "n", Type: arrow.PrimitiveTypes.Int64}}, nil)

type seqConf struct {
	Count     int `yaml:"count" doc:"rows" required:"true"`
	BatchRows int `yaml:"batch_rows" doc:"rows per batch"`
	FailAt    int `yaml:"fail_at" doc:"fail when this row is reached (0: never)"`
	PanicAt   int `yaml:"panic_at" doc:"panic when this row is reached (0: never)"`
}

type seqSource struct {
	conf seqConf
	mem  memory.Allocator
	next int
	// ranges left to read, [start, end) each; nil: all rows.
	ranges [][2]int
}

func (s *seqSource) Schema() *arrow.Schema { return seqSchema }
func (s *seqSource) Close() error          { return nil }
func (s *seqSource) TotalRows() (int64, bool) {
	if s.ranges == nil {
		return int64(s.conf.Count), true
	}
	var n int64
	for _, r := range s.ranges {
		n += int64(r[1] - r[0])
	}
	return n, true
}

// Units splits the sequence into ranges of unitRows rows.
func (s *seqSource) Units(unitRows int64) []stages.Unit {
	var out []stages.Unit
	for lo := 0; lo < s.conf.Count; lo += int(unitRows) {
		hi := min(lo+int(unitRows), s.conf.Count)
		out = append(out, stages.Unit{Key: fmt.Sprintf("rows %d-%d", lo, hi-1), Rows: int64(hi - lo)})
	}
	return out
}

func (s *seqSource) Shard(unitRows int64, units []int) (stages.Source, error) {
	c := &seqSource{conf: s.conf, mem: s.mem, ranges: [][2]int{}}
	for _, u := range units {
		lo := u * int(unitRows)
		if u < 0 || lo >= s.conf.Count {
			return nil, fmt.Errorf("no unit %d", u)
		}
		c.ranges = append(c.ranges, [2]int{lo, min(lo+int(unitRows), s.conf.Count)})
	}
	c.next = -1
	return c, nil
}

func (s *seqSource) Next(ctx context.Context) (arrow.RecordBatch, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	end := s.conf.Count
	if s.ranges != nil && len(s.ranges) == 0 {
		return nil, io.EOF
	}
	if s.ranges != nil {
		if s.next < 0 || (s.next >= s.ranges[0][1] && len(s.ranges) > 1) {
			if s.next >= 0 {
				s.ranges = s.ranges[1:]
			}
			s.next = s.ranges[0][0]
		}
		end = s.ranges[0][1]
	}
	if s.next >= end {
		return nil, io.EOF
	}
	n := min(s.conf.BatchRows, end-s.next)
	if s.conf.FailAt > 0 && s.next+n >= s.conf.FailAt {
		return nil, fmt.Errorf("seq failed at row %d", s.conf.FailAt)
	}
	if s.conf.PanicAt > 0 && s.next+n >= s.conf.PanicAt {
		panic("seq panicked")
	}
	b := array.NewInt64Builder(s.mem)
	defer b.Release()
	for i := 0; i < n; i++ {
		b.Append(int64(s.next + i))
	}
	s.next += n
	arr := b.NewArray()
	defer arr.Release()
	return array.NewRecordBatch(seqSchema, []arrow.Array{arr}, int64(n)), nil
}

type addConf struct {
	Add    int64  `yaml:"add" doc:"value to add"`
	Column string `yaml:"column" doc:"column to read"`
	FailAt int64  `yaml:"fail_at" doc:"fail on a batch holding this value (-1: never)"`
	// FailEvery fails a batch holding a multiple of it (0: never).
	FailEvery int64 `yaml:"fail_every" doc:"fail on a batch holding a multiple of this value (0: never)"`
}

type addTransform struct {
	conf addConf
	mem  memory.Allocator
	col  int
}

func (t *addTransform) Schema() *arrow.Schema { return seqSchema }
func (t *addTransform) Close() error          { return nil }
func (t *addTransform) Process(ctx context.Context, in arrow.RecordBatch) (arrow.RecordBatch, error) {
	col := in.Column(t.col).(*array.Int64)
	b := array.NewInt64Builder(t.mem)
	defer b.Release()
	for i := 0; i < col.Len(); i++ {
		if t.conf.FailAt >= 0 && col.Value(i) == t.conf.FailAt {
			return nil, fmt.Errorf("bad value %d", t.conf.FailAt)
		}
		if t.conf.FailEvery > 0 && col.Value(i)%t.conf.FailEvery == 0 {
			return nil, fmt.Errorf("bad value %d", col.Value(i))
		}
		b.Append(col.Value(i) + t.conf.Add)
	}
	arr := b.NewArray()
	defer arr.Release()
	return array.NewRecordBatch(seqSchema, []arrow.Array{arr}, in.NumRows()), nil
}

// collected holds what collect sinks received, by sink id.
var collected = struct {
	sync.Mutex
	rows      map[string][]int64
	committed map[string]bool
	aborted   map[string]bool
}{rows: map[string][]int64{}, committed: map[string]bool{}, aborted: map[string]bool{}}

func resetCollected() {
	collected.Lock()
	defer collected.Unlock()
	collected.rows = map[string][]int64{}
	collected.committed = map[string]bool{}
	collected.aborted = map[string]bool{}
}

func rowsOf(id string) []int64 {
	collected.Lock()
	defer collected.Unlock()
	return append([]int64(nil), collected.rows[id]...)
}

type collectConf struct {
	Delay stages.Duration `yaml:"delay" doc:"sleep per write"`
	// PanicOnCommit makes Commit panic, as a buggy sink would.
	PanicOnCommit bool `yaml:"panic_on_commit" doc:"panic in Commit"`
}

type collectSink struct {
	id   string
	conf collectConf
}

func (s *collectSink) Schema() *arrow.Schema { return nil }
func (s *collectSink) Close() error          { return nil }
func (s *collectSink) Write(ctx context.Context, rec arrow.RecordBatch) error {
	if s.conf.Delay > 0 {
		select {
		case <-time.After(s.conf.Delay.D()):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	col := rec.Column(0).(*array.Int64)
	collected.Lock()
	defer collected.Unlock()
	collected.rows[s.id] = append(collected.rows[s.id], col.Int64Values()...)
	return nil
}
func (s *collectSink) Commit(ctx context.Context) error {
	if s.conf.PanicOnCommit {
		panic("collect: commit")
	}
	collected.Lock()
	defer collected.Unlock()
	collected.committed[s.id] = true
	return nil
}
func (s *collectSink) Abort() error {
	collected.Lock()
	defer collected.Unlock()
	collected.aborted[s.id] = true
	return nil
}

type unionConf struct{}

// unionOp forwards batches from all inputs as they arrive.
type unionOp struct{ schema *arrow.Schema }

func (u *unionOp) Schema() *arrow.Schema { return u.schema }
func (u *unionOp) Close() error          { return nil }
func (u *unionOp) Run(ctx context.Context, in []<-chan arrow.RecordBatch, emit stages.Emit) error {
	open := len(in)
	chans := append([]<-chan arrow.RecordBatch(nil), in...)
	for open > 0 {
		for i, ch := range chans {
			if ch == nil {
				continue
			}
			select {
			case rec, ok := <-ch:
				if !ok {
					chans[i] = nil
					open--
					continue
				}
				if err := emit(ctx, rec); err != nil {
					return err
				}
			case <-ctx.Done():
				return ctx.Err()
			default:
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Microsecond):
		}
	}
	return nil
}

func fakeRegistry() *stages.Registry {
	r := stages.NewRegistry()
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(stages.Register(r, stages.Type[seqConf]{
		Name: "seq", Kind: stages.KindSource, Spec: stages.Spec{Summary: "Counts."},
		Defaults: func() seqConf { return seqConf{BatchRows: 10} },
		New: func(c seqConf, env *stages.Env) (stages.Stage, error) {
			if c.BatchRows < 1 {
				return nil, errors.New("batch_rows must be at least 1")
			}
			return &seqSource{conf: c, mem: env.Mem}, nil
		},
	}))
	must(stages.Register(r, stages.Type[addConf]{
		Name: "add", Kind: stages.KindTransform, Spec: stages.Spec{Summary: "Adds."},
		Defaults: func() addConf { return addConf{Column: "n", FailAt: -1} },
		New: func(c addConf, env *stages.Env) (stages.Stage, error) {
			idx, err := stages.Column(env.Input(), c.Column)
			if err != nil {
				return nil, err
			}
			if env.Input().Field(idx).Type.ID() != arrow.INT64 {
				return nil, &stages.ColumnError{Column: c.Column, Msg: "expected int64, got " + env.Input().Field(idx).Type.String()}
			}
			return &addTransform{conf: c, mem: env.Mem, col: idx}, nil
		},
	}))
	must(stages.Register(r, stages.Type[collectConf]{
		Name: "collect", Kind: stages.KindSink, Spec: stages.Spec{Summary: "Collects."},
		New: func(c collectConf, env *stages.Env) (stages.Stage, error) {
			return &collectSink{id: env.ID, conf: c}, nil
		},
	}))
	must(stages.Register(r, stages.Type[unionConf]{
		Name: "union", Kind: stages.KindOperator, Spec: stages.Spec{Summary: "Unions."}, MinInputs: 1, MaxInputs: -1,
		New: func(c unionConf, env *stages.Env) (stages.Stage, error) {
			return &unionOp{schema: env.Inputs[0]}, nil
		},
	}))
	return r
}
