package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

// oddRegions are partition values that need escaping or stand for null.
var oddRegions = []string{"eu", "a/b=c%d e", "ü 日本:x", "", "us"}

// partSchema is the schema of the partitioning tests: id, the partition
// columns dt (date32) and region (string, nullable), and a data column.
func partSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "dt", Type: arrow.FixedWidthTypes.Date32},
		{Name: "region", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "score", Type: arrow.PrimitiveTypes.Float32},
	}, nil)
}

// partRow is the partition values of row id: region cycles over oddRegions
// and null, dt over 2 days, every 6 rows.
func partRow(id int64) (dt string, region string, null bool) {
	dt = []string{"2026-12-07", "2026-12-08"}[(id/6)%2]
	k := id % int64(len(oddRegions)+1)
	if k == int64(len(oddRegions)) {
		return dt, "", true
	}
	return dt, oddRegions[k], false
}

// partBatches builds n rows of partSchema cut into batches of size rows.
func partBatches(mem memory.Allocator, n, size int64) []arrow.RecordBatch {
	var out []arrow.RecordBatch
	for start := int64(0); start < n; start += size {
		b := array.NewRecordBuilder(mem, partSchema())
		for id := start; id < min(start+size, n); id++ {
			dt, region, null := partRow(id)
			b.Field(0).(*array.Int64Builder).Append(id)
			b.Field(1).(*array.Date32Builder).Append(arrow.Date32FromTime(mustDate(dt)))
			if null {
				b.Field(2).AppendNull()
			} else {
				b.Field(2).(*array.StringBuilder).Append(region)
			}
			b.Field(3).(*array.Float32Builder).Append(float32(id) / 2)
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

// mustDate parses a YYYY-MM-DD date.
func mustDate(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

// digestHex is the SHA-256 of b in hex.
func digestHex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// buildPart builds a partitioned sink in a fresh folder; it returns the
// sink and its output folder.
func buildPart(t *testing.T, mem memory.Allocator, with string) (*ParquetSink, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := stagetest.Build(t, nil, mem, ParquetSinkType, with, dir, partSchema())
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	sk := s.(*ParquetSink)
	sk.conf.skipSync = true
	return sk, filepath.Join(dir, "out")
}

// partFiles lists the .parquet files under dir as slash-separated relative
// paths, sorted, leaving out pipe's own folders.
func partFiles(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), "_") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(p, ".parquet") {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkPartitioned reads back every file under dir and checks that each
// row's partition values are its folder's, that the files hold only id and
// score, and returns how many times each id was found, in file order.
func checkPartitioned(t *testing.T, mem memory.Allocator, dir string) map[int64]int {
	t.Helper()
	seen := map[int64]int{}
	for _, rel := range partFiles(t, dir) {
		segs := strings.Split(rel, "/")
		if len(segs) != 3 || !strings.HasPrefix(segs[0], "dt=") || !strings.HasPrefix(segs[1], "region=") {
			t.Fatalf("file %s is not in a dt=/region= folder", rel)
		}
		dt := stages.UnescapePathName(strings.TrimPrefix(segs[0], "dt="))
		region := stages.UnescapePathName(strings.TrimPrefix(segs[1], "region="))
		f := readBack(t, mem, filepath.Join(dir, filepath.FromSlash(rel)))
		if got := []string{f.schema.Field(0).Name, f.schema.Field(1).Name}; f.schema.NumFields() != 2 || !slices.Equal(got, []string{"id", "score"}) {
			t.Fatalf("%s: schema %s, want id and score only", rel, f.schema)
		}
		ids := f.cols[0].(*array.Int64)
		for i := range ids.Len() {
			id := ids.Value(i)
			wdt, wregion, null := partRow(id)
			if null || wregion == "" {
				wregion = HiveDefaultPartition
			}
			if dt != wdt || region != wregion {
				t.Errorf("%s: row id %d has dt %q region %q", rel, id, wdt, wregion)
			}
			if sc := f.cols[1].(*array.Float32).Value(i); sc != float32(id)/2 {
				t.Errorf("%s: row id %d has score %v", rel, id, sc)
			}
			seen[id]++
		}
		f.release()
	}
	return seen
}

// checkAllOnce fails unless seen holds ids 0..n-1 once each.
func checkAllOnce(t *testing.T, seen map[int64]int, n int64) {
	t.Helper()
	if int64(len(seen)) != n {
		t.Errorf("found %d distinct ids, want %d", len(seen), n)
	}
	for id := range n {
		if seen[id] != 1 {
			t.Errorf("id %d found %d times", id, seen[id])
		}
	}
}

func TestParquetPartitionRouting(t *testing.T) {
	mem := stagetest.Mem(t)
	s, out := buildPart(t, mem, "path: out\npartition_by: [dt, region]\nrow_group_rows: 4")
	recs := partBatches(mem, 100, 9)
	defer stagetest.Release(recs)
	writeAll(t, s, recs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checkAllOnce(t, checkPartitioned(t, mem, out), 100)
	files := partFiles(t, out)
	// 2 days x 6 regions, "" and null sharing the default partition.
	if len(files) != 10 {
		t.Errorf("%d files, want 10: %v", len(files), files)
	}
	for _, want := range []string{
		"dt=2026-12-07/region=a%2Fb%3Dc%25d e/part-00000.parquet",
		"dt=2026-12-08/region=ü 日本%3Ax/part-00000.parquet",
		"dt=2026-12-07/region=" + HiveDefaultPartition + "/part-00000.parquet",
	} {
		if !slices.Contains(files, want) {
			t.Errorf("no file %s in %v", want, files)
		}
	}
	var listed []string
	for _, f := range s.OutputFiles() {
		rel, _ := filepath.Rel(out, f.Path)
		listed = append(listed, filepath.ToSlash(rel))
		checkDigest(t, f)
	}
	if !slices.Equal(listed, files) {
		t.Errorf("OutputFiles %v, want %v", listed, files)
	}
	if present(filepath.Join(out, StagingDir)) {
		t.Error("staging folder left after Close")
	}
}

func TestEscapePathName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"eu", "eu"},
		{"a/b", "a%2Fb"},
		{"k=v", "k%3Dv"},
		{"100%", "100%25"},
		{"a b", "a b"},
		{"ü/日本", "ü%2F日本"},
		{"tab\tnl\n", "tab%09nl%0A"},
		{"nul\x00del\x7f", "nul%00del%7F"},
		{`"#'*:?\^{[]`, "%22%23%27%2A%3A%3F%5C%5E%7B%5B%5D"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got := stages.EscapePathName(tt.in)
			if got != tt.want {
				t.Errorf("EscapePathName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			if back := stages.UnescapePathName(got); back != tt.in {
				t.Errorf("UnescapePathName(%q) = %q, want %q", got, back, tt.in)
			}
		})
	}
}

// TestParquetPartitionMaxOpenFiles interleaves 5 partitions with at most 2
// files open: each partition gets several part files, no more than 2 are
// ever open, and every row lands once, in order within its partition.
func TestParquetPartitionMaxOpenFiles(t *testing.T) {
	mem := stagetest.Mem(t)
	s, out := buildPart(t, mem, "path: out\npartition_by: [region]\nmax_open_files: 2")
	recs := partBatches(mem, 120, 7)
	defer stagetest.Release(recs)
	ctx := context.Background()
	for _, r := range recs {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
		var open int
		for _, part := range s.parts.byDir {
			if part.sink.cur != nil {
				open++
			}
		}
		if open > 2 {
			t.Fatalf("%d files open, max_open_files is 2", open)
		}
		if n := countInProgress(t, filepath.Join(out, StagingDir)); n > 2 {
			t.Fatalf("%d files in progress, max_open_files is 2", n)
		}
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	files := partFiles(t, out)
	perPart := map[string]int{}
	for _, f := range files {
		perPart[filepath.Dir(f)]++
	}
	if len(perPart) != 5 {
		t.Errorf("%d partitions, want 5 (4 regions and the default): %v", len(perPart), files)
	}
	for dir, n := range perPart {
		if n < 2 {
			t.Errorf("%s has %d part file, want several (files closed by max_open_files)", dir, n)
		}
	}
	seen := map[int64]int{}
	last := map[string]int64{}
	for _, rel := range files {
		f := readBack(t, mem, filepath.Join(out, filepath.FromSlash(rel)))
		ids := f.cols[0].(*array.Int64)
		for i := range ids.Len() {
			dir := filepath.Dir(rel)
			if prev, ok := last[dir]; ok && ids.Value(i) <= prev {
				t.Errorf("%s: id %d after %d", rel, ids.Value(i), prev)
			}
			last[dir] = ids.Value(i)
			seen[ids.Value(i)]++
		}
		f.release()
	}
	checkAllOnce(t, seen, 120)
}

// countInProgress counts the files being written under dir.
func countInProgress(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, inProgressSuffix) {
			n++
		}
		return nil
	})
	return n
}

// TestParquetPartitionDeterministic writes the same rows twice: the same
// batches give the same files and bytes with files closed by
// max_open_files, and, with every file open, so do other batch sizes.
func TestParquetPartitionDeterministic(t *testing.T) {
	tests := []struct {
		name    string
		with    string
		sizes   [2]int64
		several bool // files closed by max_open_files
	}{
		{"lru same batches", "max_open_files: 3", [2]int64{11, 11}, true},
		{"all open other batches", "max_open_files: 64", [2]int64{11, 50}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			var runs [2][]string
			for i, size := range tt.sizes {
				s, out := buildPart(t, mem, "path: out\npartition_by: [dt, region]\nrow_group_rows: 5\n"+tt.with)
				recs := partBatches(mem, 200, size)
				writeAll(t, s, recs)
				stagetest.Release(recs)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				for _, rel := range partFiles(t, out) {
					b, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(rel)))
					if err != nil {
						t.Fatal(err)
					}
					runs[i] = append(runs[i], rel+" "+digestHex(b))
				}
			}
			if !slices.Equal(runs[0], runs[1]) {
				t.Errorf("runs differ:\n%v\n%v", runs[0], runs[1])
			}
			if several := len(runs[0]) > 10; several != tt.several {
				t.Errorf("%d files; want more than one per partition: %v", len(runs[0]), tt.several)
			}
		})
	}
}

func TestParquetPartitionConfigErrors(t *testing.T) {
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "f", Type: arrow.PrimitiveTypes.Float64},
		{Name: "l", Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		{Name: "u", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "b", Type: arrow.FixedWidthTypes.Boolean},
	}, nil)
	tests := []struct{ with, want string }{
		{"partition_by: [f]", `column "f": partition_by: type float64 cannot name a folder`},
		{"partition_by: [l]", `column "l": partition_by: type list<item: int32, nullable> cannot name a folder`},
		{"partition_by: [nope]", `partition_by: column "nope"`},
		{"partition_by: [id, id]", `partition_by[1]: column "id" listed twice`},
		{"partition_by: [u]\nmax_open_files: 0", "max_open_files: must be at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.with, func(t *testing.T) {
			mem := stagetest.Mem(t)
			_, err := stagetest.Build(t, nil, mem, ParquetSinkType, "path: out\n"+tt.with, t.TempDir(), schema)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
	t.Run("every column", func(t *testing.T) {
		mem := stagetest.Mem(t)
		one := arrow.NewSchema([]arrow.Field{{Name: "u", Type: arrow.PrimitiveTypes.Uint16}}, nil)
		_, err := stagetest.Build(t, nil, mem, ParquetSinkType, "path: out\npartition_by: [u]", t.TempDir(), one)
		if err == nil || !strings.Contains(err.Error(), "every column is a partition column") {
			t.Fatalf("error %v, want every column is a partition column", err)
		}
	})
	t.Run("u and b accepted", func(t *testing.T) {
		mem := stagetest.Mem(t)
		s, err := stagetest.Build(t, nil, mem, ParquetSinkType, "path: out\npartition_by: [u, b]", t.TempDir(), schema)
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
	})
}

// TestParquetPartitionUnit checks a work unit's partitioned sink: the
// unit's files of an unfinished attempt in partition folders are replaced,
// other units' are left alone, and an aborted attempt leaves nothing.
func TestParquetPartitionUnit(t *testing.T) {
	mem := stagetest.Mem(t)
	out := filepath.Join(t.TempDir(), "out")
	stale := filepath.Join(out, "dt=2026-12-07", "region=zz", "part-00001-00004.parquet")
	other := filepath.Join(out, "dt=2026-12-07", "region=eu", "part-00002-00000.parquet")
	for _, p := range []string{stale, other} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		touch(t, p)
	}
	conf := DefaultParquetConfig()
	conf.Path = stages.Path(out)
	conf.PartitionBy = []string{"dt", "region"}
	env := &stages.Env{Inputs: []*arrow.Schema{partSchema()}, Mem: mem, PartPrefix: "part-00001"}
	recs := partBatches(mem, 30, 8)
	defer stagetest.Release(recs)

	s, err := NewParquet(conf, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Write(context.Background(), recs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Abort(); err != nil {
		t.Fatal(err)
	}
	if got := partFiles(t, out); len(got) != 2 || present(filepath.Join(out, StagingDir)) {
		t.Fatalf("after abort: files %v, staging left %v", got, present(filepath.Join(out, StagingDir)))
	}
	_ = s.Close()

	s, err = NewParquet(conf, env)
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, recs)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if present(stale) {
		t.Error("the unit's file of an earlier attempt was left")
	}
	if !present(other) {
		t.Error("another unit's file was removed")
	}
	if err := os.Remove(other); err != nil {
		t.Fatal(err)
	}
	for _, rel := range partFiles(t, out) {
		if !strings.HasPrefix(filepath.Base(rel), "part-00001-") {
			t.Errorf("file %s is not the unit's", rel)
		}
	}
	checkAllOnce(t, checkPartitioned(t, mem, out), 30)
	if present(filepath.Join(out, StagingDir)) {
		t.Error("staging folder left")
	}
}

// TestParquetPartitionBadFolder checks that a partition folder that cannot
// be made fails the commit with an error naming it.
func TestParquetPartitionBadFolder(t *testing.T) {
	mem := stagetest.Mem(t)
	s, out := buildPart(t, mem, "path: out\npartition_by: [region]")
	defer s.Close()
	recs := partBatches(mem, 1, 1)
	defer stagetest.Release(recs)
	if err := os.MkdirAll(out, 0o755); err != nil {
		t.Fatal(err)
	}
	// A file where the partition folder must go.
	touch(t, filepath.Join(out, "region=eu"))
	if err := s.Write(context.Background(), recs[0]); err != nil {
		t.Fatal(err)
	}
	err := s.Commit(context.Background())
	var fe *FileError
	if !errors.As(err, &fe) || !strings.Contains(fe.Path, "region=eu") {
		t.Fatalf("commit error %v, want a *FileError naming region=eu", err)
	}
}

// TestParquetPartitionBadValues checks the errors found while writing: a
// partition column of a type that cannot name a folder when the schema
// comes with the first batch, and a value too long for a folder name.
func TestParquetPartitionBadValues(t *testing.T) {
	ctx := context.Background()
	t.Run("float column, schema from the first batch", func(t *testing.T) {
		mem := stagetest.Mem(t)
		conf := DefaultParquetConfig()
		conf.Path = stages.Path(filepath.Join(t.TempDir(), "out"))
		conf.PartitionBy = []string{"score"}
		s, err := NewParquet(conf, &stages.Env{Mem: mem})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		recs := partBatches(mem, 3, 3)
		defer stagetest.Release(recs)
		err = s.Write(ctx, recs[0])
		var ce *stages.ColumnError
		if !errors.As(err, &ce) || ce.Column != "score" || !strings.Contains(ce.Msg, "type float32 cannot name a folder") {
			t.Fatalf("error %v, want a *stages.ColumnError on score", err)
		}
	})
	t.Run("value too long", func(t *testing.T) {
		mem := stagetest.Mem(t)
		schema := arrow.NewSchema([]arrow.Field{{Name: "k", Type: arrow.BinaryTypes.String}, {Name: "v", Type: arrow.PrimitiveTypes.Int64}}, nil)
		s, err := stagetest.Build(t, nil, mem, ParquetSinkType, "path: out\npartition_by: [k]", t.TempDir(), schema)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		b.Field(0).(*array.StringBuilder).AppendValues([]string{"short", strings.Repeat("x", 300)}, nil)
		b.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 2}, nil)
		rec := b.NewRecordBatch()
		defer rec.Release()
		err = s.(*ParquetSink).Write(ctx, rec)
		if err == nil || !strings.Contains(err.Error(), `column "k": input row 1: folder name`) {
			t.Fatalf("error %v, want one naming column k and row 1", err)
		}
	})
}
