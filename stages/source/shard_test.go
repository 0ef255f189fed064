package source

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// shardCase is one source configuration checked by TestShards.
type shardCase struct {
	name, typ, with string
	batchRows       int64
	unitRows        []int64
	// keys lists the expected unit keys for some unitRows values.
	keys map[int64][]string
}

// shardData writes the files the shard cases read and returns their folder.
func shardData(t *testing.T, mem memory.Allocator) string {
	t.Helper()
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 2500, batch_rows: 1000, seed: 7, columns: [{name: id, type: int64}, {name: x, type: float32}, {name: s, type: string, null_fraction: 0.2}, {name: v, type: vector, dims: 3}]}`)
	// Row groups of at most 400 rows per written batch: 400, 400, 200, 400,
	// 400, 200, 400, 100.
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 400)
	writeIPC(t, filepath.Join(dir, "a.arrow"), recs, true) // batches 1000, 1000, 500
	writeIPC(t, filepath.Join(dir, "c.arrows"), recs, false)
	stagetest.Release(recs)
	recs = genRecords(t, mem, `{count: 1000, seed: 8, columns: [{name: id, type: int64, min: 5000}, {name: x, type: float32}, {name: s, type: string, null_fraction: 0.2}, {name: v, type: vector, dims: 3}]}`)
	writeParquet(t, filepath.Join(dir, "b.parquet"), recs, 1000)
	writeIPC(t, filepath.Join(dir, "b.arrow"), recs, true) // one batch of 1000
	stagetest.Release(recs)
	// b.csv alone would infer v as int64: a shard of it must keep float64.
	writeFile(t, filepath.Join(dir, "a.csv"), "id,v,s\n1,1.5,x\n2,,y\n3,2.5,\"q, r\"\n")
	writeFile(t, filepath.Join(dir, "b.csv"), "id,v,s\n4,3,z\n5,4,w\n")
	writeFile(t, filepath.Join(dir, "c.csv"), "id,v,s\n")
	writeFile(t, filepath.Join(dir, "d.csv"), "id,v,s\n6,7.25,u\n")
	writeFile(t, filepath.Join(dir, "a.jsonl"), "{\"id\": 1, \"v\": 1.5}\n\n{\"id\": 2, \"v\": null, \"t\": \"a\"}\n")
	writeFile(t, filepath.Join(dir, "b.jsonl"), "{\"id\": 3, \"v\": 2}\n{\"id\": 4}\n{\"id\": 5, \"v\": 6, \"t\": \"b\"}\n")
	return dir
}

func shardCases() []shardCase {
	return []shardCase{
		{
			name: "parquet", typ: "parquet_source", with: `{paths: [a.parquet, b.parquet], batch_rows: 300}`,
			batchRows: 300, unitRows: []int64{0, 1, 1000, 1 << 40},
			keys: map[int64][]string{
				0:       {"a.parquet#rg0", "a.parquet#rg1", "a.parquet#rg2", "a.parquet#rg3", "a.parquet#rg4", "a.parquet#rg5", "a.parquet#rg6", "a.parquet#rg7", "b.parquet#rg0"},
				1000:    {"a.parquet#rg0-2", "a.parquet#rg3-5", "a.parquet#rg6-7", "b.parquet#rg0"},
				1 << 40: {"a.parquet#rg0-7", "b.parquet#rg0"},
			},
		},
		{
			name: "parquet projection", typ: "parquet_source", with: `{paths: ["*.parquet"], columns: [v, id], batch_rows: 1000}`,
			batchRows: 1000, unitRows: []int64{700},
			keys: map[int64][]string{700: {"a.parquet#rg0-1", "a.parquet#rg2-4", "a.parquet#rg5-7", "b.parquet#rg0"}},
		},
		{
			name: "ipc", typ: "ipc_source", with: `{paths: [a.arrow, c.arrows, b.arrow], batch_rows: 300}`,
			batchRows: 300, unitRows: []int64{0, 1, 1500, 1 << 40},
			keys: map[int64][]string{
				0:       {"a.arrow#b0", "a.arrow#b1", "a.arrow#b2", "c.arrows", "b.arrow#b0"},
				1500:    {"a.arrow#b0-1", "a.arrow#b2", "c.arrows", "b.arrow#b0"},
				1 << 40: {"a.arrow#b0-2", "c.arrows", "b.arrow#b0"},
			},
		},
		{
			name: "csv", typ: "csv_source", with: `{paths: ["*.csv"], batch_rows: 2}`,
			batchRows: 2, unitRows: []int64{0, 1, 3, 1 << 40},
			keys: map[int64][]string{3: {"a.csv", "b.csv", "c.csv", "d.csv"}},
		},
		{
			name: "jsonl", typ: "jsonl_source", with: `{paths: [a.jsonl, b.jsonl], batch_rows: 2}`,
			batchRows: 2, unitRows: []int64{0, 1, 1 << 40},
			keys: map[int64][]string{0: {"a.jsonl", "b.jsonl"}},
		},
		{
			name: "generate", typ: "generate",
			with:      `{count: 2500, batch_rows: 256, seed: 3, columns: [{name: id, type: int64}, {name: x, type: float32}, {name: n, type: float64, distribution: normal, null_fraction: 0.3}, {name: s, type: string, length: 5}, {name: c, type: string, distribution: choice, values: [a, bb]}, {name: b, type: bool}, {name: v, type: vector, dims: 3}]}`,
			batchRows: 256, unitRows: []int64{0, 7, 333, 1000, 1 << 40},
			keys: map[int64][]string{
				0:       {"rows 0-2499"},
				1000:    {"rows 0-999", "rows 1000-1999", "rows 2000-2499"},
				1 << 40: {"rows 0-2499"},
			},
		},
	}
}

// TestShards checks, for every source, that the units are stable and that
// reading them through Shard, one at a time or together, gives exactly the
// rows of the unsharded source.
func TestShards(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := shardData(t, mem)
	for _, tc := range shardCases() {
		t.Run(tc.name, func(t *testing.T) {
			src := mustBuildSharder(t, mem, tc.typ, tc.with, dir)
			again := mustBuildSharder(t, mem, tc.typ, tc.with, dir)
			full, err := drainRecs(t, mustBuildSharder(t, mem, tc.typ, tc.with, dir))
			if err != nil {
				t.Fatal(err)
			}
			if stagetest.Rows(full) == 0 {
				t.Fatal("the test data has no rows")
			}
			for _, u := range tc.unitRows {
				t.Run(fmt.Sprintf("unit_rows=%d", u), func(t *testing.T) {
					units := src.(stages.Sharder).Units(u)
					if got := src.(stages.Sharder).Units(u); !reflect.DeepEqual(got, units) {
						t.Fatalf("listing twice differs:\n%v\n%v", units, got)
					}
					if got := again.(stages.Sharder).Units(u); !reflect.DeepEqual(got, units) {
						t.Fatalf("building twice differs:\n%v\n%v", units, got)
					}
					if want, ok := tc.keys[u]; ok && !slices.Equal(unitKeys(units), want) {
						t.Errorf("keys %q, want %q", unitKeys(units), want)
					}
					checkUnits(t, mem, src, units, u, tc.batchRows, full)
				})
			}
		})
	}
}

func mustBuildSharder(t *testing.T, mem memory.Allocator, typ, with, dir string) stages.Source {
	t.Helper()
	src, err := build(t, mem, typ, with, dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := src.(stages.Sharder); !ok {
		t.Fatalf("%s does not implement stages.Sharder", typ)
	}
	return src
}

func unitKeys(units []stages.Unit) []string {
	out := make([]string, len(units))
	for i, u := range units {
		out[i] = u.Key
	}
	return out
}

// checkUnits reads every unit of src alone, all units together, and all in
// reverse order, comparing the rows with full (the unsharded rows).
func checkUnits(t *testing.T, mem memory.Allocator, src stages.Source, units []stages.Unit, unitRows, batchRows int64, full []arrow.RecordBatch) {
	t.Helper()
	var (
		each    []arrow.RecordBatch
		perUnit [][]arrow.RecordBatch
		all     = make([]int, len(units))
	)
	defer func() { stagetest.Release(each) }()
	for k, u := range units {
		all[k] = k
		recs := readShard(t, src, unitRows, []int{k}, batchRows, u.Rows)
		if u.Rows >= 0 && stagetest.Rows(recs) != u.Rows {
			t.Errorf("unit %d (%s) read %d rows, Units says %d", k, u.Key, stagetest.Rows(recs), u.Rows)
		}
		each = append(each, recs...)
		perUnit = append(perUnit, recs)
	}
	sameRows(t, mem, "units one at a time", each, full)

	var total int64
	for _, u := range units {
		if u.Rows < 0 {
			total = -1
			break
		}
		total += u.Rows
	}
	together := readShard(t, src, unitRows, all, batchRows, total)
	defer stagetest.Release(together)
	sameRows(t, mem, "all units in one shard", together, full)

	slices.Reverse(all)
	var reversed []arrow.RecordBatch
	for _, k := range all {
		reversed = append(reversed, perUnit[k]...)
	}
	backwards := readShard(t, src, unitRows, all, batchRows, total)
	defer stagetest.Release(backwards)
	sameRows(t, mem, "units in reverse order", backwards, reversed)
}

// readShard reads the shard of src made of units, checking its batches and
// TotalRows (against rows when >= 0), and closes it.
func readShard(t *testing.T, src stages.Source, unitRows int64, units []int, batchRows, rows int64) []arrow.RecordBatch {
	t.Helper()
	s, err := src.(stages.Sharder).Shard(unitRows, units)
	if err != nil {
		t.Fatalf("Shard(%d, %v): %v", unitRows, units, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("closing the shard: %v", err)
		}
	}()
	if !s.Schema().Equal(src.Schema()) {
		t.Errorf("shard schema %v, want %v", s.Schema(), src.Schema())
	}
	if rc, ok := s.(stages.RowCounter); ok && rows >= 0 {
		if n, ok := rc.TotalRows(); !ok || n != rows {
			t.Errorf("shard %v TotalRows %d %v, want %d", units, n, ok, rows)
		}
	}
	recs, err := stagetest.Drain(context.Background(), s)
	if err != nil {
		stagetest.Release(recs)
		t.Fatalf("reading shard %v: %v", units, err)
	}
	for _, r := range recs {
		if r.NumRows() < 1 || r.NumRows() > batchRows {
			t.Errorf("shard %v: batch of %d rows, want 1..%d", units, r.NumRows(), batchRows)
		}
		if !r.Schema().Equal(src.Schema()) {
			t.Errorf("shard %v: batch schema %v, want %v", units, r.Schema(), src.Schema())
		}
	}
	return recs
}

// sameRows fails unless got and want hold the same rows in the same order,
// whatever their batch boundaries.
func sameRows(t *testing.T, mem memory.Allocator, what string, got, want []arrow.RecordBatch) {
	t.Helper()
	if g, w := stagetest.Rows(got), stagetest.Rows(want); g != w {
		t.Errorf("%s: %d rows, want %d", what, g, w)
		return
	}
	if len(want) == 0 {
		return
	}
	for i := range want[0].NumCols() {
		g, w := concatColumn(t, mem, got, int(i)), concatColumn(t, mem, want, int(i))
		if !array.Equal(g, w) {
			t.Errorf("%s: column %q differs from the unsharded source's", what, want[0].ColumnName(int(i)))
		}
		g.Release()
		w.Release()
	}
}

func concatColumn(t *testing.T, mem memory.Allocator, recs []arrow.RecordBatch, i int) arrow.Array {
	t.Helper()
	cols := make([]arrow.Array, len(recs))
	for j, r := range recs {
		cols[j] = r.Column(i)
	}
	out, err := array.Concatenate(cols, mem)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestShardBadUnits checks that indexes outside the unit list, or listed
// twice, are errors naming the stage type, never panics.
func TestShardBadUnits(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := shardData(t, mem)
	for _, tc := range shardCases() {
		t.Run(tc.name, func(t *testing.T) {
			sh := mustBuildSharder(t, mem, tc.typ, tc.with, dir).(stages.Sharder)
			n := len(sh.Units(1000))
			for _, bad := range []struct {
				units []int
				want  string
			}{
				{[]int{-1}, fmt.Sprintf("index -1, the source has %d units of 1000 rows", n)},
				{[]int{n}, fmt.Sprintf("index %d, the source has %d units", n, n)},
				{[]int{0, n + 7}, fmt.Sprintf("index %d", n+7)},
				{[]int{0, 0}, "index 0 listed twice"},
			} {
				s, err := sh.Shard(1000, bad.units)
				if s != nil {
					t.Errorf("Shard(%v) returned a source with its error", bad.units)
				}
				if !errors.Is(err, ErrUnit) {
					t.Fatalf("Shard(%v): error %v, want ErrUnit", bad.units, err)
				}
				wantErr(t, err, tc.typ+": no such work unit: "+bad.want)
			}
			// An empty list is a source with no rows.
			s, err := sh.Shard(1000, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got, err := drain(t, s, tc.batchRows); err != nil || got != 0 {
				t.Errorf("empty shard read %d rows, err %v", got, err)
			}
		})
	}
}

// TestShardIndependence checks that closing a shard midway leaves the
// parent and other shards readable, and that shards of one source can be
// read at the same time (they share footers and layouts).
func TestShardIndependence(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := shardData(t, mem)
	for _, tc := range shardCases() {
		t.Run(tc.name, func(t *testing.T) {
			src := mustBuildSharder(t, mem, tc.typ, tc.with, dir)
			sh := src.(stages.Sharder)
			const u = 500
			units := sh.Units(u)
			first, err := sh.Shard(u, []int{0})
			if err != nil {
				t.Fatal(err)
			}
			rec, err := first.Next(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			rec.Release()
			if err := first.Close(); err != nil {
				t.Fatal(err)
			}
			if rec, err := first.Next(context.Background()); err == nil {
				rec.Release()
				t.Error("a closed shard still reads")
			}

			// Every unit read concurrently, one goroutine each.
			got := make([][]arrow.RecordBatch, len(units))
			errs := make([]error, len(units))
			var wg sync.WaitGroup
			for k := range units {
				s, err := sh.Shard(u, []int{k})
				if err != nil {
					t.Fatal(err)
				}
				wg.Go(func() {
					defer s.Close()
					got[k], errs[k] = stagetest.Drain(context.Background(), s)
				})
			}
			wg.Wait()
			var each []arrow.RecordBatch
			for k := range units {
				each = append(each, got[k]...)
				if errs[k] != nil {
					t.Errorf("unit %d: %v", k, errs[k])
				}
			}
			defer stagetest.Release(each)

			full, err := drainRecs(t, src)
			if err != nil {
				t.Fatalf("the parent after its shards: %v", err)
			}
			sameRows(t, mem, "concurrent units", each, full)
		})
	}
}

// TestShardGenerateEmpty checks a generator of no rows has no unit.
func TestShardGenerateEmpty(t *testing.T) {
	mem := stagetest.Mem(t)
	src := mustBuildSharder(t, mem, "generate", `{count: 0, columns: [{name: id, type: int64}]}`, "")
	for _, u := range []int64{0, 10} {
		if units := src.(stages.Sharder).Units(u); len(units) != 0 {
			t.Errorf("Units(%d) = %v, want none", u, units)
		}
	}
}

// TestGroupPieces checks the grouping of row groups or record batches.
func TestGroupPieces(t *testing.T) {
	tests := []struct {
		rows     []int64
		unitRows int64
		want     string
	}{
		{[]int64{5, 5, 5}, 0, "[0,1):5 [1,2):5 [2,3):5"},
		{[]int64{5, 5, 5}, 10, "[0,2):10 [2,3):5"},
		{[]int64{5, 5, 5}, 6, "[0,2):10 [2,3):5"},
		{[]int64{0, 0, 5, 0}, 1, "[0,3):5 [3,4):0"},
		{[]int64{0}, 100, "[0,1):0"},
		{nil, 100, ""},
		{[]int64{7, 3, 9}, 1 << 62, "[0,3):19"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.rows, tt.unitRows), func(t *testing.T) {
			var parts []string
			for _, s := range groupPieces(nil, 4, 10, tt.rows, tt.unitRows) {
				if s.file != 4 {
					t.Errorf("file %d, want 4", s.file)
				}
				parts = append(parts, fmt.Sprintf("[%d,%d):%d", s.from-10, s.to-10, s.rows))
			}
			if got := strings.Join(parts, " "); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

// TestUnitPath checks unit keys name files relative to the job folder when
// they are inside it.
func TestUnitPath(t *testing.T) {
	base := filepath.FromSlash("/jobs/score")
	tests := []struct{ base, path, want string }{
		{base, filepath.FromSlash("/jobs/score/data/a.parquet"), "data/a.parquet"},
		{base, filepath.FromSlash("/jobs/other/a.parquet"), filepath.FromSlash("/jobs/other/a.parquet")},
		{base, filepath.FromSlash("/jobs/score/..a/b.parquet"), "..a/b.parquet"},
		{"", filepath.FromSlash("/x/a.csv"), filepath.FromSlash("/x/a.csv")},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := unitPath(tt.base, tt.path); got != tt.want {
				t.Errorf("unitPath(%q, %q) = %q, want %q", tt.base, tt.path, got, tt.want)
			}
		})
	}
}
