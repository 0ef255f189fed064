package sink

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
	"github.com/pipe-ml/pipe/stages"
)

func stagetestRelease(recs []arrow.RecordBatch) { stagetest.Release(recs) }

// pqarrowOpen opens a pqarrow reader over f reading batches of 8192 rows.
func pqarrowOpen(f parquet.ReaderAtSeeker) (*pqarrow.FileReader, error) {
	pf, err := file.NewParquetReader(f)
	if err != nil {
		return nil, err
	}
	return pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 8192}, memory.DefaultAllocator)
}

// parquetFile is what readBack finds in one file.
type parquetFile struct {
	rows   int64
	rgRows []int64
	codecs []compress.Compression // of the first row group's columns
	cols   []arrow.Array          // one array per column, all rows
	schema *arrow.Schema
}

func (p *parquetFile) release() {
	for _, c := range p.cols {
		c.Release()
	}
}

// readBack reads a whole Parquet file with pqarrow; it fails the test if
// the file is not complete and valid.
func readBack(t *testing.T, mem memory.Allocator, path string) *parquetFile {
	t.Helper()
	pf, err := file.OpenParquetFile(path, false)
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer pf.Close()
	out := &parquetFile{rows: pf.NumRows()}
	md := pf.MetaData()
	for i := range md.NumRowGroups() {
		rg := md.RowGroup(i)
		out.rgRows = append(out.rgRows, rg.NumRows())
		if i == 0 {
			for c := range rg.NumColumns() {
				cc, err := rg.ColumnChunk(c)
				if err != nil {
					t.Fatal(err)
				}
				out.codecs = append(out.codecs, cc.Compression())
			}
		}
	}
	fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: 4096}, mem)
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
	defer tbl.Release()
	out.schema = tbl.Schema()
	for i := range int(tbl.NumCols()) {
		c, err := array.Concatenate(tbl.Column(i).Data().Chunks(), mem)
		if err != nil {
			t.Fatal(err)
		}
		out.cols = append(out.cols, c)
	}
	return out
}

// checkRows asserts that f holds the benchmark rows with ids [first, first+n).
func checkRows(t *testing.T, mem memory.Allocator, f *parquetFile, first, n int64) {
	t.Helper()
	if f.rows != n {
		t.Fatalf("file has %d rows, want %d", f.rows, n)
	}
	want := benchBatches(mem, first, n, max(n, 1))
	defer stagetest.Release(want)
	if n == 0 {
		return
	}
	for i, c := range f.cols {
		if !array.Equal(c, want[0].Column(i)) {
			t.Fatalf("column %s differs from the rows written (ids %d..%d)", want[0].ColumnName(i), first, first+n-1)
		}
	}
}

// build builds a parquet_sink from a `with:` body for the benchmark schema,
// in a fresh job folder. It leaves out fsyncs (tens of ms each on a disk);
// TestParquetEmptyRun and TestParquetOverwrite keep them.
func build(t *testing.T, mem memory.Allocator, with string) (*ParquetSink, error) {
	t.Helper()
	s, err := buildIn(t, mem, with, t.TempDir())
	if err == nil {
		s.conf.skipSync = true
	}
	return s, err
}

// buildIn builds a parquet_sink from a `with:` body in job folder dir.
func buildIn(t *testing.T, mem memory.Allocator, with, dir string) (*ParquetSink, error) {
	t.Helper()
	s, err := stagetest.Build(t, nil, mem, ParquetSinkType, with, dir, benchSchema())
	if err != nil {
		return nil, err
	}
	return s.(*ParquetSink), nil
}

func mustBuild(t *testing.T, mem memory.Allocator, with string) *ParquetSink {
	t.Helper()
	s, err := build(t, mem, with)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return s
}

// writeAll writes recs then commits.
func writeAll(t *testing.T, s *ParquetSink, recs []arrow.RecordBatch) {
	t.Helper()
	ctx := context.Background()
	for _, r := range recs {
		if err := s.Write(ctx, r); err != nil {
			t.Fatalf("write: %v", err)
		}
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatalf("commit: %v", err)
	}
}

// parts lists the part-*.parquet names in dir.
func parts(t *testing.T, dir string) []string {
	t.Helper()
	names, err := existingParts(dir, "part-*.parquet")
	if err != nil {
		t.Fatal(err)
	}
	return names
}

// cutBatches builds n benchmark rows cut into zero-copy slices of the given
// sizes, cycling through them.
func cutBatches(mem memory.Allocator, n int64, sizes ...int64) []arrow.RecordBatch {
	all := benchBatches(mem, 0, n, n)
	defer stagetest.Release(all)
	var out []arrow.RecordBatch
	for off, i := int64(0), 0; off < n; i++ {
		k := min(sizes[i%len(sizes)], n-off)
		out = append(out, all[0].NewSlice(off, off+k))
		off += k
	}
	return out
}

func TestParquetRegistered(t *testing.T) {
	e, err := stages.Default().Lookup(ParquetSinkType)
	if err != nil {
		t.Fatal(err)
	}
	if e.Kind != stages.KindSink || e.MinInputs != 1 || e.MaxInputs != 1 {
		t.Errorf("kind %v inputs %d..%d, want sink with one input", e.Kind, e.MinInputs, e.MaxInputs)
	}
	defaults := map[string]string{}
	for _, f := range e.Spec.Fields {
		defaults[f.Name] = f.Default
	}
	want := map[string]string{"path": "", "compression": "snappy", "compression_level": "", "row_group_rows": "131072",
		"max_rows_per_file": "", "dictionary": "", "overwrite": "", "row_group_bytes": "64MiB", "max_columns": "10000",
		"partition_by": "", "max_open_files": "64", "part_size": "8MiB"}
	for k, v := range want {
		got, ok := defaults[k]
		if !ok || got != v {
			t.Errorf("field %s: default %q (present %v), want %q", k, got, ok, v)
		}
	}
	if len(defaults) != len(want) {
		t.Errorf("fields %v, want the keys of %v", defaults, want)
	}
	if e.Spec.Summary == "" || e.Spec.Description == "" || !strings.Contains(e.Spec.Example, "type: parquet_sink") {
		t.Errorf("spec incomplete: %+v", e.Spec)
	}
}

func TestParquetConfigErrors(t *testing.T) {
	mem := stagetest.Mem(t)
	fileDir := t.TempDir()
	notDir := filepath.Join(fileDir, "plain")
	if err := os.WriteFile(notDir, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, with, want string
	}{
		{"missing path", `{compression: zstd}`, `missing required key "path"`},
		{"unknown key", `{path: out, compresion: zstd}`, `did you mean "compression"`},
		{"unknown codec", `{path: out, compression: lz4}`, `unknown codec "lz4"; valid codecs: gzip, none, snappy, zstd`},
		{"misspelt codec", `{path: out, compression: zsdt}`, `did you mean "zstd"`},
		{"level for snappy", `{path: out, compression: snappy, compression_level: 3}`, "compression_level: snappy takes no level"},
		{"zstd level too high", `{path: out, compression: zstd, compression_level: 30}`, "compression_level: 30 is out of range for zstd (1 to 22)"},
		{"gzip level negative", `{path: out, compression: gzip, compression_level: -1}`, "out of range for gzip"},
		{"zero row groups", `{path: out, row_group_rows: 0}`, "row_group_rows: must be at least 1"},
		{"negative max rows", `{path: out, max_rows_per_file: -5}`, "max_rows_per_file: must be 0"},
		{"wrong type", `{path: out, dictionary: yes please}`, "expected true or false"},
		{"path is a file", `{path: ` + notDir + `}`, "exists and is not a folder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, mem, tc.with)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("unsupported column", func(t *testing.T) {
		schema := arrow.NewSchema([]arrow.Field{
			{Name: "ok", Type: arrow.PrimitiveTypes.Int64},
			{Name: "runs", Type: arrow.RunEndEncodedOf(arrow.PrimitiveTypes.Int32, arrow.PrimitiveTypes.Int64)},
		}, nil)
		_, err := stagetest.Build(t, nil, mem, ParquetSinkType, `{path: out}`, t.TempDir(), schema)
		var ce *stages.ColumnError
		if !errors.As(err, &ce) || ce.Column != "runs" {
			t.Fatalf("error %v, want a column error naming runs", err)
		}
	})
	t.Run("valid levels", func(t *testing.T) {
		for _, with := range []string{`{path: out, compression: zstd, compression_level: 1}`, `{path: out, compression: gzip, compression_level: 9}`, `{path: out, compression: none}`} {
			if _, err := build(t, mem, with); err != nil {
				t.Errorf("%s: %v", with, err)
			}
		}
	})
}

func TestParquetRotation(t *testing.T) {
	tests := []struct {
		name      string
		rows      int64
		sizes     []int64
		with      string
		wantFiles []int64
		wantRG    [][]int64
	}{
		{"unaligned batches", 2500, []int64{7, 1000, 333}, `{path: out, max_rows_per_file: 1000, row_group_rows: 300}`,
			[]int64{1000, 1000, 500}, [][]int64{{300, 300, 300, 100}, {300, 300, 300, 100}, {300, 200}}},
		{"one big batch", 2500, []int64{2500}, `{path: out, max_rows_per_file: 1000, row_group_rows: 2048}`,
			[]int64{1000, 1000, 500}, [][]int64{{1000}, {1000}, {500}}},
		{"exact multiple", 2048, []int64{1024}, `{path: out, max_rows_per_file: 1024, row_group_rows: 512}`,
			[]int64{1024, 1024}, [][]int64{{512, 512}, {512, 512}}},
		{"unlimited", 3000, []int64{1500, 1}, `{path: out, row_group_rows: 1024}`,
			[]int64{3000}, [][]int64{{1024, 1024, 952}}},
		{"single rows", 5, []int64{1}, `{path: out, max_rows_per_file: 2, row_group_rows: 1}`,
			[]int64{2, 2, 1}, [][]int64{{1, 1}, {1, 1}, {1}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mem := stagetest.Mem(t)
			s := mustBuild(t, mem, tc.with)
			recs := cutBatches(mem, tc.rows, tc.sizes...)
			defer stagetest.Release(recs)
			writeAll(t, s, recs)
			names := parts(t, s.OutputDir())
			if len(names) != len(tc.wantFiles) {
				t.Fatalf("files %v, want %d", names, len(tc.wantFiles))
			}
			first := int64(0)
			for i, name := range names {
				if want := partName(i); name != want {
					t.Errorf("file %d named %s, want %s", i, name, want)
				}
				f := readBack(t, mem, filepath.Join(s.OutputDir(), name))
				checkRows(t, mem, f, first, tc.wantFiles[i])
				if !slices.Equal(f.rgRows, tc.wantRG[i]) {
					t.Errorf("%s: row groups %v, want %v", name, f.rgRows, tc.wantRG[i])
				}
				f.release()
				first += tc.wantFiles[i]
			}
			// The staging folder outlives Commit, empty, until Close.
			if ents, err := os.ReadDir(filepath.Join(s.OutputDir(), StagingDir)); err != nil || len(ents) != 0 {
				t.Errorf("staging folder after commit: %d entries, %v; want it empty", len(ents), err)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(filepath.Join(s.OutputDir(), StagingDir)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("staging folder left after close: %v", err)
			}
		})
	}
}

func partName(i int) string { return "part-0000" + string(rune('0'+i)) + ".parquet" }

func TestParquetEmptyRun(t *testing.T) {
	mem := stagetest.Mem(t)
	s, err := buildIn(t, mem, `{path: out}`, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	writeAll(t, s, nil)
	names := parts(t, s.OutputDir())
	if !slices.Equal(names, []string{"part-00000.parquet"}) {
		t.Fatalf("files %v, want one empty part file", names)
	}
	f := readBack(t, mem, filepath.Join(s.OutputDir(), names[0]))
	defer f.release()
	if f.rows != 0 || !sameColumns(f.schema, benchSchema()) {
		t.Errorf("empty file: %d rows, schema %v", f.rows, f.schema)
	}
}

// sameColumns compares names and types, ignoring field metadata.
func sameColumns(a, b *arrow.Schema) bool {
	if a.NumFields() != b.NumFields() {
		return false
	}
	for i := range a.NumFields() {
		if a.Field(i).Name != b.Field(i).Name || !arrow.TypeEqual(a.Field(i).Type, b.Field(i).Type) {
			return false
		}
	}
	return true
}

func TestParquetCodecs(t *testing.T) {
	tests := []struct {
		with string
		want compress.Compression
	}{
		{`{path: out, compression: none}`, compress.Codecs.Uncompressed},
		{`{path: out, compression: snappy}`, compress.Codecs.Snappy},
		{`{path: out, compression: zstd}`, compress.Codecs.Zstd},
		{`{path: out, compression: zstd, compression_level: 1}`, compress.Codecs.Zstd},
		{`{path: out, compression: gzip}`, compress.Codecs.Gzip},
		{`{path: out, compression: gzip, compression_level: 1}`, compress.Codecs.Gzip},
		{`{path: out, compression: snappy, dictionary: true}`, compress.Codecs.Snappy},
	}
	for _, tc := range tests {
		t.Run(tc.with, func(t *testing.T) {
			mem := stagetest.Mem(t)
			s := mustBuild(t, mem, tc.with)
			recs := cutBatches(mem, 1100, 700)
			defer stagetest.Release(recs)
			writeAll(t, s, recs)
			f := readBack(t, mem, filepath.Join(s.OutputDir(), "part-00000.parquet"))
			defer f.release()
			checkRows(t, mem, f, 0, 1100)
			for i, c := range f.codecs {
				if c != tc.want {
					t.Errorf("column %d compressed with %v, want %v", i, c, tc.want)
				}
			}
		})
	}
}

// fileHashes returns the SHA-256 of each part file in dir, in name order.
func fileHashes(t *testing.T, dir string) []string { return hashParts(t, dir, false) }

// hashParts hashes each part file in dir, in name order. With dataOnly it
// hashes the bytes before the footer and records the footer's length.
func hashParts(t *testing.T, dir string, dataOnly bool) []string {
	t.Helper()
	var out []string
	for _, n := range parts(t, dir) {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			t.Fatal(err)
		}
		footer := ""
		if dataOnly {
			flen := int(binary.LittleEndian.Uint32(b[len(b)-8:]))
			b, footer = b[:len(b)-8-flen], fmt.Sprintf(" footer %d bytes", flen)
		}
		sum := sha256.Sum256(b)
		out = append(out, n+" "+hex.EncodeToString(sum[:])+footer)
	}
	return out
}

// TestParquetDeterministic feeds the same rows cut into batches in different
// ways and expects byte-identical files. Small pages make page cuts and
// dictionary fallbacks happen within a few thousand rows, so that they
// would differ if they followed batch boundaries. With dictionary encoding,
// arrow-go v18.8.0 writes a column chunk's page encoding stats from a Go map
// (metadata/column_chunk.go, ColumnChunkMetaDataBuilder.Finish), so their
// order in the footer is random when a column falls back from dictionary to
// plain; there the test compares everything before the footer.
func TestParquetDeterministic(t *testing.T) {
	const rows = 2600
	for _, dict := range []bool{false, true} {
		t.Run(map[bool]string{false: "plain", true: "dictionary"}[dict], func(t *testing.T) {
			mem := stagetest.Mem(t)
			var want []string
			for _, sizes := range [][]int64{{rows}, {1, 2, 3}, {7, 1000, 1023, 1025, 3}, {999, 1, 2000}} {
				dir := filepath.Join(t.TempDir(), "out")
				conf := DefaultParquetConfig()
				conf.Path, conf.Dictionary, conf.RowGroupRows, conf.MaxRowsPerFile = stages.Path(dir), dict, 1200, 2500
				conf.pageBytes = 2048 // many pages, so that page cuts matter
				conf.skipSync = true
				s, err := NewParquet(conf, &stages.Env{ID: "test", Inputs: []*arrow.Schema{benchSchema()}, Mem: mem})
				if err != nil {
					t.Fatal(err)
				}
				recs := cutBatches(mem, rows, sizes...)
				writeAll(t, s, recs)
				stagetest.Release(recs)
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				got := hashParts(t, dir, dict)
				if len(got) != 2 {
					t.Fatalf("batches %v: files %v, want 2", sizes, got)
				}
				if want == nil {
					want = got
				} else if !slices.Equal(got, want) {
					t.Errorf("batches %v: %v, want %v (as one batch)", sizes, got, want)
				}
			}
		})
	}
}

func TestParquetNoPartialFinalFile(t *testing.T) {
	mem := stagetest.Mem(t)
	s := mustBuild(t, mem, `{path: out, max_rows_per_file: 700, row_group_rows: 256}`)
	recs := cutBatches(mem, 3000, 450, 90, 1300)
	defer stagetest.Release(recs)
	ctx := context.Background()
	check := func(after string) {
		t.Helper()
		matches, err := filepath.Glob(filepath.Join(s.OutputDir(), "**", "*.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		top, _ := filepath.Glob(filepath.Join(s.OutputDir(), "*.parquet"))
		for _, m := range append(matches, top...) {
			if !strings.HasPrefix(filepath.Base(m), "part-") || filepath.Dir(m) != s.OutputDir() {
				t.Fatalf("after %s: %s matches *.parquet outside the final names", after, m)
			}
			f := readBack(t, mem, m)
			if f.rows != 700 {
				t.Errorf("after %s: %s has %d rows, want a complete file of 700", after, m, f.rows)
			}
			f.release()
		}
	}
	for i, r := range recs {
		if err := s.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
		check("write " + string(rune('0'+i)))
	}
	if got := len(parts(t, s.OutputDir())); got != 4 {
		t.Errorf("before commit: %d complete files, want 4", got)
	}
	if err := s.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if got := parts(t, s.OutputDir()); len(got) != 5 {
		t.Errorf("after commit: files %v, want 5", got)
	}
}

func TestParquetWriterProperties(t *testing.T) {
	conf := DefaultParquetConfig()
	conf.Path, conf.Compression, conf.RowGroupRows = "x", "zstd", 4096
	props, arrowProps, err := ParquetWriterProperties(conf, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	if props.Compression() != compress.Codecs.Zstd || props.MaxRowGroupLength() != 4096 ||
		props.DictionaryEnabled() || props.WriteBatchSize() != WriteBatchRows {
		t.Errorf("props: codec %v, row group %d, dict %v, batch %d", props.Compression(), props.MaxRowGroupLength(), props.DictionaryEnabled(), props.WriteBatchSize())
	}
	_ = arrowProps
	conf.Compression = "brotli"
	if _, _, err := ParquetWriterProperties(conf, memory.DefaultAllocator); err == nil {
		t.Error("invalid config accepted")
	}
}

// TestParquetNullsAndLists writes nullable columns and a
// fixed_size_list<float32> column (the shape of model inputs and outputs)
// through unaligned batches, so that carried slices with offsets and null
// bitmaps are concatenated, and compares what comes back value by value.
func TestParquetNullsAndLists(t *testing.T) {
	mem := stagetest.Mem(t)
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "a", Type: arrow.PrimitiveTypes.Int32, Nullable: true},
		{Name: "s", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "x", Type: arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float32), Nullable: true},
	}, nil)
	const rows = 3000
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	lb := b.Field(2).(*array.FixedSizeListBuilder)
	vb := lb.ValueBuilder().(*array.Float32Builder)
	for i := range rows {
		if i%7 == 0 {
			b.Field(0).AppendNull()
		} else {
			b.Field(0).(*array.Int32Builder).Append(int32(i))
		}
		if i%5 == 0 {
			b.Field(1).AppendNull()
		} else {
			b.Field(1).(*array.StringBuilder).Append(fmt.Sprintf("row-%d", i%50))
		}
		lb.Append(true)
		for k := range 4 {
			if (i+k)%13 == 0 {
				vb.AppendNull()
			} else {
				vb.Append(float32(i) + float32(k)/4)
			}
		}
	}
	all := b.NewRecordBatch()
	defer all.Release()
	for _, dict := range []bool{false, true} {
		t.Run(fmt.Sprintf("dictionary=%v", dict), func(t *testing.T) {
			s, err := stagetest.Build(t, nil, mem, ParquetSinkType,
				fmt.Sprintf(`{path: out, row_group_rows: 1000, dictionary: %v}`, dict), t.TempDir(), schema)
			if err != nil {
				t.Fatal(err)
			}
			sk := s.(*ParquetSink)
			sk.conf.skipSync = true
			var recs []arrow.RecordBatch
			for off, i := int64(0), 0; off < rows; i++ {
				k := min([]int64{5, 1000, 333}[i%3], rows-off)
				recs = append(recs, all.NewSlice(off, off+k))
				off += k
			}
			defer stagetest.Release(recs)
			writeAll(t, sk, recs)
			f := readBack(t, mem, filepath.Join(sk.OutputDir(), "part-00000.parquet"))
			defer f.release()
			if f.rows != rows || !slices.Equal(f.rgRows, []int64{1000, 1000, 1000}) {
				t.Fatalf("%d rows in row groups %v, want 3 x 1000", f.rows, f.rgRows)
			}
			for i, c := range f.cols {
				if !array.Equal(c, all.Column(i)) {
					t.Errorf("column %s differs after the round trip", schema.Field(i).Name)
				}
			}
		})
	}
	t.Run("null list entry", func(t *testing.T) {
		s, err := stagetest.Build(t, nil, mem, ParquetSinkType, `{path: out}`, t.TempDir(), schema)
		if err != nil {
			t.Fatal(err)
		}
		lb.Append(true)
		for range 4 {
			vb.Append(1)
		}
		lb.AppendNull()
		b.Field(0).AppendNulls(2)
		b.Field(1).AppendNulls(2)
		rec := b.NewRecordBatch()
		defer rec.Release()
		err = s.(stages.Sink).Write(context.Background(), rec)
		var ce *stages.ColumnError
		if !errors.As(err, &ce) || ce.Column != "x" || !strings.Contains(ce.Msg, "row 1 of the batch") {
			t.Fatalf("error %v, want a column error naming x and row 1", err)
		}
	})
}
