package source

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// hivePart is one leaf folder of a generated partitioned tree: its path
// below the root, and the partition values each of its rows must carry
// ("" with null set for __HIVE_DEFAULT_PARTITION__).
type hivePart struct {
	dir        string
	dt, region string
	nullRegion bool
}

// hiveTree is the tree every format is generated as: part i holds rows
// with id i*100 .. i*100+2. The parts are in reading order (sorted by
// path: "_" sorts before "a").
var hiveTree = []hivePart{
	{dir: "dt=2026-11-30/region=eu", dt: "2026-11-30", region: "eu"},
	{dir: "dt=2026-12-01/region=eu", dt: "2026-12-01", region: "eu"},
	{dir: "dt=2026-12-01/region=us", dt: "2026-12-01", region: "us"},
	{dir: "dt=2026-12-07/region=__HIVE_DEFAULT_PARTITION__", dt: "2026-12-07", nullRegion: true},
	{dir: "dt=2026-12-07/region=a%2Fb%3Dc", dt: "2026-12-07", region: "a/b=c"},
}

// hiveFormats maps a source type to its file extension.
var hiveFormats = []struct{ typ, ext string }{
	{"parquet_source", "parquet"}, {"csv_source", "csv"}, {"jsonl_source", "jsonl"}, {"ipc_source", "arrow"},
}

// writeHiveFile writes the rows of part i (one int64 column id) as a file
// of the format ext.
func writeHiveFile(t *testing.T, mem memory.Allocator, path, ext string, i int) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	ids := []int64{int64(i * 100), int64(i*100 + 1), int64(i*100 + 2)}
	switch ext {
	case "csv", "jsonl":
		var b strings.Builder
		if ext == "csv" {
			b.WriteString("id\n")
		}
		for _, id := range ids {
			if ext == "csv" {
				fmt.Fprintf(&b, "%d\n", id)
			} else {
				fmt.Fprintf(&b, "{\"id\": %d}\n", id)
			}
		}
		writeFile(t, path, b.String())
		return
	}
	bld := array.NewInt64Builder(mem)
	bld.AppendValues(ids, nil)
	col := bld.NewArray()
	bld.Release()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil), []arrow.Array{col}, 3)
	col.Release()
	defer rec.Release()
	if ext == "parquet" {
		writeParquet(t, path, []arrow.RecordBatch{rec}, 2)
	} else {
		writeIPC(t, path, []arrow.RecordBatch{rec}, true)
	}
}

// makeHiveTree writes hiveTree under dir/data and returns dir/data.
func makeHiveTree(t *testing.T, mem memory.Allocator, dir, ext string) string {
	t.Helper()
	root := filepath.Join(dir, "data")
	for i, p := range hiveTree {
		writeHiveFile(t, mem, filepath.Join(root, filepath.FromSlash(p.dir), "part-0."+ext), ext, i)
	}
	return root
}

// corruptFile writes a file that fails any source that opens it.
func corruptFile(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, "\x00not a data file {{{\n")
}

// checkHiveRows checks that every row's dt and region columns (after id)
// are the values of the folder its id says it came from, and returns the
// parts seen, in order.
func checkHiveRows(t *testing.T, recs []arrow.RecordBatch, dtType arrow.DataType) []int {
	t.Helper()
	var parts []int
	for _, r := range recs {
		if r.NumCols() != 3 || r.Schema().Field(1).Name != "dt" || r.Schema().Field(2).Name != "region" {
			t.Fatalf("schema %v, want id, dt, region", r.Schema())
		}
		if !arrow.TypeEqual(r.Column(1).DataType(), dtType) || r.Column(2).DataType().ID() != arrow.STRING {
			t.Fatalf("partition column types %s, %s; want %s, string", r.Column(1).DataType(), r.Column(2).DataType(), dtType)
		}
		ids := r.Column(0).(*array.Int64)
		for j := range ids.Len() {
			pi := int(ids.Value(j) / 100)
			if len(parts) == 0 || parts[len(parts)-1] != pi {
				parts = append(parts, pi)
			}
			want := hiveTree[pi]
			if got := r.Column(1).ValueStr(j); got != want.dt {
				t.Errorf("row id %d: dt %q, want %q", ids.Value(j), got, want.dt)
			}
			reg := r.Column(2)
			if reg.IsNull(j) != want.nullRegion || (!want.nullRegion && reg.(*array.String).Value(j) != want.region) {
				t.Errorf("row id %d: region %q (null %v), want %q (null %v)", ids.Value(j), reg.ValueStr(j), reg.IsNull(j), want.region, want.nullRegion)
			}
		}
	}
	return parts
}

// TestHivePartitions reads a generated partitioned tree with every file
// source and checks the partition columns of every row, the types, and
// which folders the partitions condition prunes.
func TestHivePartitions(t *testing.T) {
	cases := []struct {
		name    string
		types   string   // partition_types and other keys
		cond    string   // partitions
		corrupt []string // folders below the root holding a corrupt file
		dtType  arrow.DataType
		parts   []int
		pruned  []string // skipped notes (paths below the root) with reason partitions
	}{
		{name: "inferred types", dtType: arrow.BinaryTypes.String, parts: []int{0, 1, 2, 3, 4}},
		// One row per batch: the columns built for a file's first batch
		// are shared by its next ones, never by another file's.
		{name: "declared date32", types: "partition_types: {dt: date32}\nbatch_rows: 1", dtType: arrow.FixedWidthTypes.Date32, parts: []int{0, 1, 2, 3, 4}},
		// The dt folders before 2026-12-01 are pruned whole, from the
		// `and`-ed condition on dt alone; the others by both.
		{name: "condition on both keys", types: "partition_types: {dt: date32}", cond: "dt >= '2026-12-01' and region = 'eu'",
			corrupt: []string{"dt=2026-11-29/region=eu", "dt=2026-12-01/region=xx"}, dtType: arrow.FixedWidthTypes.Date32, parts: []int{1},
			pruned: []string{"dt=2026-11-29", "dt=2026-11-30", "dt=2026-12-01/region=us",
				"dt=2026-12-01/region=xx", "dt=2026-12-07/region=__HIVE_DEFAULT_PARTITION__", "dt=2026-12-07/region=a%2Fb%3Dc"}},
		// A condition on the first key prunes its folders unlisted: the
		// pruned folder holds a folder that is not key=value, an error if
		// it were listed.
		{name: "condition on the first key", types: "partition_types: {dt: date32}", cond: "dt > '2026-11-30'",
			corrupt: []string{"dt=2026-11-29/region=eu", "dt=2026-11-28/not-a-partition"}, dtType: arrow.FixedWidthTypes.Date32, parts: []int{1, 2, 3, 4},
			pruned: []string{"dt=2026-11-28", "dt=2026-11-29", "dt=2026-11-30"}},
		{name: "null default partition", cond: "region is null or region = 'a/b=c'", dtType: arrow.BinaryTypes.String, parts: []int{3, 4},
			pruned: []string{"dt=2026-11-30/region=eu", "dt=2026-12-01/region=eu", "dt=2026-12-01/region=us"}},
	}
	for _, f := range hiveFormats {
		for _, tc := range cases {
			t.Run(f.typ+"/"+tc.name, func(t *testing.T) {
				mem := stagetest.Mem(t)
				dir := t.TempDir()
				root := makeHiveTree(t, mem, dir, f.ext)
				for _, c := range tc.corrupt {
					corruptFile(t, filepath.Join(root, filepath.FromSlash(c), "part-0."+f.ext))
				}
				with := "paths: [data]\npartitioning: hive\n" + tc.types
				if tc.cond != "" {
					with += "\npartitions: \"" + tc.cond + "\""
				}
				src, err := build(t, mem, f.typ, with, dir)
				if err != nil {
					t.Fatal(err)
				}
				recs, err := stagetest.Drain(context.Background(), src)
				defer stagetest.Release(recs)
				if err != nil {
					t.Fatal(err)
				}
				if got := checkHiveRows(t, recs, tc.dtType); fmt.Sprint(got) != fmt.Sprint(tc.parts) {
					t.Errorf("rows came from parts %v, want %v", got, tc.parts)
				}
				if !src.Schema().Equal(recs[0].Schema()) {
					t.Errorf("Schema() %v, batches %v", src.Schema(), recs[0].Schema())
				}
				_, skipped := src.(stages.InputLister).InputFiles()
				var pruned []string
				for _, n := range skipped {
					if n.Reason == "partitions: "+tc.cond {
						rel, _ := filepath.Rel(root, n.Path)
						pruned = append(pruned, strings.ReplaceAll(filepath.ToSlash(rel), "."+f.ext, ".EXT"))
					}
				}
				if fmt.Sprint(pruned) != fmt.Sprint(tc.pruned) {
					t.Errorf("pruned %v, want %v", pruned, tc.pruned)
				}
			})
		}
	}
}

// TestHivePartitionErrors checks the errors of files outside the layout,
// of bad settings and of conditions, each naming what is wrong.
func TestHivePartitionErrors(t *testing.T) {
	cases := []struct {
		name  string
		extra string // a file below the root, written corrupt
		with  string
		want  string
		is    error
	}{
		{name: "missing key", extra: "dt=2026-12-09/part-0.csv", want: "dt=2026-12-09/part-0.csv|expected it under folders dt=.../region=...|found dt=...", is: ErrPartitionLayout},
		{name: "other key order", extra: "region=eu/dt=2026-12-09/part-0.csv", want: "region=eu|partition key \"region\" where \"dt\" is expected", is: ErrPartitionLayout},
		{name: "folder not key=value", extra: "dt=2026-12-09/extra/part-0.csv", want: "dt=2026-12-09/extra|folder \"extra\" is not key=value", is: ErrPartitionLayout},
		{name: "corrupt file read without a condition", extra: "dt=2026-11-29/region=eu/part-0.csv", want: "dt=2026-11-29/region=eu/part-0.csv|schema differs"},
		{name: "unknown column in condition", with: "partitions: \"country = 'x'\"", want: "partitions:|country"},
		{name: "condition prunes everything", with: "partitions: \"region = 'nowhere'\"", want: "every partition is pruned (5 folders, 0 files)", is: ErrNoMatch},
		{name: "declared type does not parse", with: "partition_types: {region: int64}", want: "region=eu/part-0.csv|partition key \"region\"|cannot parse \"eu\" as int64"},
		{name: "declared date does not parse", with: "partition_types: {region: date32}", want: "partition key \"region\"|expected a date such as 2026-12-07"},
		{name: "unknown declared type", with: "partition_types: {dt: datetime}", want: "partition_types: dt|unknown type"},
		{name: "unknown partitioning", with: "partitioning: directory", want: "partitioning must be hive or empty"},
		{name: "condition without partitioning", with: "partitioning: \"\"\npartitions: \"dt > 1\"", want: "need partitioning: hive"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			dir := t.TempDir()
			root := makeHiveTree(t, mem, dir, "csv")
			if tc.extra != "" {
				corruptFile(t, filepath.Join(root, filepath.FromSlash(tc.extra)))
			}
			with := "paths: [data]\n" + tc.with
			if !strings.Contains(tc.with, "partitioning:") {
				with += "\npartitioning: hive"
			}
			src, err := build(t, mem, "csv_source", with, dir)
			if err == nil {
				_, err = drain(t, src, 0)
			}
			wantErr(t, err, tc.want)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v does not wrap %v", err, tc.is)
			}
		})
	}
}

// TestHiveColumnClash checks that a file column named as a partition key
// is an error naming it.
func TestHiveColumnClash(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	corruptFile(t, filepath.Join(dir, "data", "dt=1", "a.csv"))
	writeFile(t, filepath.Join(dir, "data", "dt=1", "a.csv"), "id,dt\n1,2\n")
	_, err := build(t, mem, "csv_source", "paths: [data]\npartitioning: hive", dir)
	wantErr(t, err, "\"dt\"|both a column of the files and a partition key")
}

// TestHiveGlobAndInference reads partitioned files through a glob: the
// files the condition rejects are dropped unread (one is corrupt), and
// undeclared keys are int64 only when every value is an integer.
func TestHiveGlobAndInference(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	for _, p := range []string{"year=2025/tag=1", "year=2026/tag=x"} {
		writeFile(t, mkdirFor(t, filepath.Join(dir, "data", p, "a.jsonl")), "{\"v\": 1}\n{\"v\": 2}\n")
	}
	corruptFile(t, filepath.Join(dir, "data", "year=2024", "tag=1", "a.jsonl"))
	src, err := build(t, mem, "jsonl_source", "paths: [\"data/*/*/*.jsonl\"]\npartitioning: hive\npartitions: \"year >= 2025\"", dir)
	if err != nil {
		t.Fatal(err)
	}
	s := src.Schema()
	if got := fmt.Sprint(s.Field(1).Name, " ", s.Field(1).Type, " ", s.Field(2).Name, " ", s.Field(2).Type); got != "year int64 tag utf8" {
		t.Errorf("partition columns %q, want year int64, tag utf8", got)
	}
	recs, err := stagetest.Drain(context.Background(), src)
	defer stagetest.Release(recs)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(colValues(recs, 1), colValues(recs, 2)); got != "[2025 2025 2026 2026] [1 1 x x]" {
		t.Errorf("year and tag %s", got)
	}
	matched, skipped := src.(stages.InputLister).InputFiles()
	if len(matched) != 2 || len(skipped) != 1 || !strings.Contains(skipped[0].Path, "year=2024") || skipped[0].Reason != "partitions: year >= 2025" {
		t.Errorf("matched %v, skipped %v", matched, skipped)
	}
}

func mkdirFor(t *testing.T, path string) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestHiveShard checks that a shard of a partitioned Parquet source gives
// its rows their own folder's values.
func TestHiveShard(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	makeHiveTree(t, mem, dir, "parquet")
	src, err := build(t, mem, "parquet_source", "paths: [data]\npartitioning: hive\npartition_types: {dt: date32}", dir)
	if err != nil {
		t.Fatal(err)
	}
	sh := src.(stages.Sharder)
	units := sh.Units(0)
	if len(units) != 10 { // two row groups in each of five files
		t.Fatalf("%d units, want 10", len(units))
	}
	part, err := sh.Shard(0, []int{7, 2})
	if err != nil {
		t.Fatal(err)
	}
	defer part.Close()
	if !part.Schema().Equal(src.Schema()) {
		t.Errorf("shard schema %v, source %v", part.Schema(), src.Schema())
	}
	recs, err := stagetest.Drain(context.Background(), part)
	defer stagetest.Release(recs)
	if err != nil {
		t.Fatal(err)
	}
	if got := checkHiveRows(t, recs, arrow.FixedWidthTypes.Date32); fmt.Sprint(got) != "[3 1]" {
		t.Errorf("shard rows from parts %v, want [3 1]", got)
	}
}

func TestHiveUnescape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"eu", "eu"}, {"a%2Fb", "a/b"}, {"a%3db", "a=b"}, {"100%", "100%"}, {"%zz", "%zz"}, {"%2", "%2"}, {"%25%3A", "%:"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := stages.UnescapePathName(tc.in); got != tc.want {
				t.Errorf("UnescapePathName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestHiveTypeChangedAfterPruning checks that a key whose inferred type
// changes after pruning compared it as another type is an error asking to
// declare it, and that declaring it reads both trees.
func TestHiveTypeChangedAfterPruning(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	writeFile(t, mkdirFor(t, filepath.Join(dir, "a", "k=1", "f.csv")), "v\n1\n")
	writeFile(t, mkdirFor(t, filepath.Join(dir, "b", "k=x", "f.csv")), "v\n2\n")
	with := "paths: [a, b]\npartitioning: hive\npartitions: \"k is not null\""
	_, err := build(t, mem, "csv_source", with, dir)
	wantErr(t, err, "partition key \"k\"|made it int64|other folders make it utf8|partition_types")
	src, err := build(t, mem, "csv_source", with+"\npartition_types: {k: string}", dir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := stagetest.Drain(context.Background(), src)
	defer stagetest.Release(recs)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(colValues(recs, 1)); got != "[1 x]" {
		t.Errorf("k %s, want [1 x]", got)
	}
}

// BenchmarkHiveExtend measures appending a date32 and a string partition
// column to batches of 65536 rows: built for each batch (the first batch
// of a file), and shared with the previous batch.
func BenchmarkHiveExtend(b *testing.B) {
	for _, fresh := range []bool{true, false} {
		b.Run(fmt.Sprintf("built=%v", fresh), func(b *testing.B) { benchHiveExtend(b, fresh) })
	}
}

func benchHiveExtend(b *testing.B, fresh bool) {
	h := &hiveLayout{byFile: map[string]int{"f": 0}}
	h.keys = []keyState{{name: "dt", declared: arrow.FixedWidthTypes.Date32}, {name: "region"}}
	h.keys[1].notInt = true
	if err := h.fixFields(); err != nil {
		b.Fatal(err)
	}
	if _, err := h.buildTuples([][]partVal{{{key: "dt", val: "2026-12-07"}, {key: "region", val: "europe-west"}}}, []hiveFile{{path: "f"}}, []int{0}); err != nil {
		b.Fatal(err)
	}
	ib := array.NewInt64Builder(memory.DefaultAllocator)
	ib.AppendValues(make([]int64, 65536), nil)
	col := ib.NewArray()
	ib.Release()
	file := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, nil)
	if err := h.bind(file); err != nil {
		b.Fatal(err)
	}
	var cache partCache
	defer cache.release()
	b.ReportAllocs()
	for b.Loop() {
		rec := array.NewRecordBatch(file, []arrow.Array{col}, 65536)
		if fresh {
			cache.release()
		}
		out, err := h.extend(rec, "f", memory.DefaultAllocator, &cache)
		if err != nil {
			b.Fatal(err)
		}
		out.Release()
	}
	col.Release()
}
