package sink

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pgo "github.com/parquet-go/parquet-go"
	pgocompress "github.com/parquet-go/parquet-go/compress"
	pgosnappy "github.com/parquet-go/parquet-go/compress/snappy"
	pgouncompressed "github.com/parquet-go/parquet-go/compress/uncompressed"

	"github.com/pipe-ml/pipe/stages"
)

// The writer benchmarks compare arrow-go's pqarrow writer with parquet-go on
// the benchmark schema (id int64, f0..f31 float32, s a 16-byte string),
// writing benchRows rows per op from Arrow batches of benchBatchRows rows to
// a counting io.Writer. Run them with:
//
//	go test ./stages/sink -run '^$' -bench 'Writer|Sink' -benchtime 5x
const (
	benchRows      = 200_000
	benchBatchRows = 8192
	benchFloatCols = 32
)

// benchSchema returns the benchmark schema.
func benchSchema() *arrow.Schema {
	fields := []arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}
	for i := range benchFloatCols {
		fields = append(fields, arrow.Field{Name: "f" + strconv.Itoa(i), Type: arrow.PrimitiveTypes.Float32})
	}
	fields = append(fields, arrow.Field{Name: "s", Type: arrow.BinaryTypes.String})
	return arrow.NewSchema(fields, nil)
}

// benchBatches builds rows rows of the benchmark schema, starting at id
// first, cut into batches of batchRows rows. The data is a fixed function of
// the id, so any cut of the same ids gives the same rows. The caller
// releases the batches.
func benchBatches(mem memory.Allocator, first, rows, batchRows int64) []arrow.RecordBatch {
	schema := benchSchema()
	var out []arrow.RecordBatch
	for start := first; start < first+rows; start += batchRows {
		n := min(batchRows, first+rows-start)
		b := array.NewRecordBuilder(mem, schema)
		for i := start; i < start+n; i++ {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			b.Field(0).(*array.Int64Builder).Append(i)
			for c := 1; c <= benchFloatCols; c++ {
				b.Field(c).(*array.Float32Builder).Append(r.Float32())
			}
			b.Field(benchFloatCols + 1).(*array.StringBuilder).Append(fmt.Sprintf("%016x", r.Uint64()))
		}
		out = append(out, b.NewRecordBatch())
		b.Release()
	}
	return out
}

// countingWriter counts the bytes written through it.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

// cpuTime returns the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// measure runs op b.N times and reports rows/s of wall time, rows per
// CPU-second (stable when other processes share the machine) and the bytes
// op returned.
func measure(b *testing.B, rows int64, op func() int64) {
	var bytes int64
	cpu0 := cpuTime()
	for b.Loop() {
		bytes = op()
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(rows)*float64(b.N)/cpu.Seconds(), "rows/cpu-s")
	b.ReportMetric(float64(bytes), "file-bytes")
}

// writePqarrow writes recs with the sink's settings for conf, the way the
// sink does (one buffered row group cut every row_group_rows rows).
func writePqarrow(b *testing.B, conf ParquetConfig, recs []arrow.RecordBatch, w io.Writer) {
	props, arrowProps, err := ParquetWriterProperties(conf, memory.DefaultAllocator)
	if err != nil {
		b.Fatal(err)
	}
	fw, err := pqarrow.NewFileWriter(recs[0].Schema(), w, props, arrowProps)
	if err != nil {
		b.Fatal(err)
	}
	for _, r := range recs {
		if err := fw.WriteBuffered(r); err != nil {
			b.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		b.Fatal(err)
	}
}

func benchConf(codec string, dict bool) ParquetConfig {
	c := DefaultParquetConfig()
	c.Path, c.Compression, c.Dictionary = "unused", codec, dict
	return c
}

func BenchmarkWriterPqarrow(b *testing.B) {
	recs := benchBatches(memory.DefaultAllocator, 0, benchRows, benchBatchRows)
	defer stagetestRelease(recs)
	for _, dict := range []bool{false, true} {
		b.Run(fmt.Sprintf("snappy/dict=%v", dict), func(b *testing.B) {
			measure(b, benchRows, func() int64 {
				var w countingWriter
				writePqarrow(b, benchConf("snappy", dict), recs, &w)
				return w.n
			})
		})
	}
}

func BenchmarkWriterPqarrowCodec(b *testing.B) {
	recs := benchBatches(memory.DefaultAllocator, 0, benchRows, benchBatchRows)
	defer stagetestRelease(recs)
	one := 1
	cases := []struct {
		name  string
		codec string
		level *int
	}{
		{"none", "none", nil}, {"snappy", "snappy", nil}, {"zstd", "zstd", nil},
		{"zstd-1", "zstd", &one}, {"gzip", "gzip", nil},
	}
	for _, tc := range cases {
		b.Run(tc.name+"/dict=false", func(b *testing.B) {
			conf := benchConf(tc.codec, false)
			conf.CompressionLevel = tc.level
			measure(b, benchRows, func() int64 {
				var w countingWriter
				writePqarrow(b, conf, recs, &w)
				return w.n
			})
		})
	}
}

// writeParquetGo converts recs to rows of T and writes them with
// parquet-go's GenericWriter; set fills one row from the columns.
func writeParquetGo[T any](b *testing.B, recs []arrow.RecordBatch, w io.Writer, codec pgocompress.Codec, set func(*T, int64, *[benchFloatCols]float32, string)) {
	pw := pgo.NewGenericWriter[T](w, pgo.Compression(codec), pgo.MaxRowsPerRowGroup(DefaultParquetConfig().RowGroupRows))
	rows := make([]T, benchBatchRows)
	for _, rec := range recs {
		n := int(rec.NumRows())
		ids := rec.Column(0).(*array.Int64).Int64Values()
		var cols [benchFloatCols][]float32
		for c := range cols {
			cols[c] = rec.Column(c + 1).(*array.Float32).Float32Values()
		}
		strs := rec.Column(benchFloatCols + 1).(*array.String)
		for i := range n {
			var fs [benchFloatCols]float32
			for c := range cols {
				fs[c] = cols[c][i]
			}
			set(&rows[i], ids[i], &fs, strs.Value(i))
		}
		if _, err := pw.Write(rows[:n]); err != nil {
			b.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkWriterParquetGo(b *testing.B) {
	recs := benchBatches(memory.DefaultAllocator, 0, benchRows, benchBatchRows)
	defer stagetestRelease(recs)
	for _, codec := range []pgocompress.Codec{&pgosnappy.Codec{}, &pgouncompressed.Codec{}} {
		name := map[bool]string{true: "snappy", false: "none"}[codec.String() == "SNAPPY"]
		b.Run(name+"/dict=false", func(b *testing.B) {
			measure(b, benchRows, func() int64 {
				var w countingWriter
				writeParquetGo(b, recs, &w, codec, func(r *pgoRow, id int64, fs *[benchFloatCols]float32, s string) {
					r.ID, r.S = id, s
					*(*[benchFloatCols]float32)(unsafe.Pointer(&r.F0)) = *fs
				})
				return w.n
			})
		})
	}
	b.Run("snappy/dict=true", func(b *testing.B) {
		measure(b, benchRows, func() int64 {
			var w countingWriter
			writeParquetGo(b, recs, &w, &pgosnappy.Codec{}, func(r *pgoDictRow, id int64, fs *[benchFloatCols]float32, s string) {
				r.ID, r.S = id, s
				*(*[benchFloatCols]float32)(unsafe.Pointer(&r.F0)) = *fs
			})
			return w.n
		})
	})
}

// BenchmarkWriterParquetGoRows writes through parquet-go's schema-agnostic
// path (a Writer and []parquet.Row), which is what a sink that takes any
// Arrow schema at run time would have to use: GenericWriter needs the row
// type at compile time.
func BenchmarkWriterParquetGoRows(b *testing.B) {
	recs := benchBatches(memory.DefaultAllocator, 0, benchRows, benchBatchRows)
	defer stagetestRelease(recs)
	b.Run("snappy/dict=false", func(b *testing.B) {
		schema := pgo.SchemaOf(new(pgoRow))
		rows := make([]pgo.Row, benchBatchRows)
		for i := range rows {
			rows[i] = make(pgo.Row, benchFloatCols+2)
		}
		measure(b, benchRows, func() int64 {
			var w countingWriter
			pw := pgo.NewWriter(&w, schema, pgo.Compression(&pgosnappy.Codec{}), pgo.MaxRowsPerRowGroup(DefaultParquetConfig().RowGroupRows))
			for _, rec := range recs {
				n := int(rec.NumRows())
				ids := rec.Column(0).(*array.Int64).Int64Values()
				for i := range n {
					rows[i][0] = pgo.Int64Value(ids[i]).Level(0, 0, 0)
				}
				for c := 1; c <= benchFloatCols; c++ {
					vals := rec.Column(c).(*array.Float32).Float32Values()
					for i := range n {
						rows[i][c] = pgo.FloatValue(vals[i]).Level(0, 0, c)
					}
				}
				strs := rec.Column(benchFloatCols + 1).(*array.String)
				for i := range n {
					v := strs.Value(i)
					rows[i][benchFloatCols+1] = pgo.ByteArrayValue(unsafe.Slice(unsafe.StringData(v), len(v))).Level(0, 0, benchFloatCols+1)
				}
				if _, err := pw.WriteRows(rows[:n]); err != nil {
					b.Fatal(err)
				}
			}
			if err := pw.Close(); err != nil {
				b.Fatal(err)
			}
			return w.n
		})
	})
}

// BenchmarkSinkCopy compares a Parquet->Parquet copy through the sink with a
// plain pqarrow read-then-write loop using the same writer settings, both
// writing real files.
func BenchmarkSinkCopy(b *testing.B) {
	mem := memory.DefaultAllocator
	recs := benchBatches(mem, 0, benchRows, benchBatchRows)
	src := filepath.Join(b.TempDir(), "src.parquet")
	var buf bytes.Buffer
	writePqarrow(b, benchConf("snappy", false), recs, &buf)
	stagetestRelease(recs)
	if err := os.WriteFile(src, buf.Bytes(), 0o644); err != nil {
		b.Fatal(err)
	}
	conf := benchConf("snappy", false)
	b.Run("baseline", func(b *testing.B) {
		dst := filepath.Join(b.TempDir(), "out.parquet")
		measure(b, benchRows, func() int64 {
			f, err := os.Create(dst)
			if err != nil {
				b.Fatal(err)
			}
			props, arrowProps, _ := ParquetWriterProperties(conf, mem)
			copyParquet(b, src, func(s *arrow.Schema) func(arrow.RecordBatch) {
				fw, err := pqarrow.NewFileWriter(s, f, props, arrowProps)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = fw.Close() })
				return func(r arrow.RecordBatch) {
					if r == nil {
						if err := fw.Close(); err != nil {
							b.Fatal(err)
						}
						return
					}
					if err := fw.WriteBuffered(r); err != nil {
						b.Fatal(err)
					}
				}
			})
			_ = f.Sync()
			_ = f.Close()
			return fileSize(b, dst)
		})
	})
	b.Run("sink", func(b *testing.B) {
		dir := b.TempDir()
		ctx := context.Background()
		measure(b, benchRows, func() int64 {
			c := conf
			c.Path, c.Overwrite = stages.Path(dir), true
			copyParquet(b, src, func(s *arrow.Schema) func(arrow.RecordBatch) {
				sk, err := NewParquet(c, &stages.Env{ID: "bench", Inputs: []*arrow.Schema{s}, Mem: mem})
				if err != nil {
					b.Fatal(err)
				}
				return func(r arrow.RecordBatch) {
					if r == nil {
						if err := sk.Commit(ctx); err != nil {
							b.Fatal(err)
						}
						_ = sk.Close()
						return
					}
					if err := sk.Write(ctx, r); err != nil {
						b.Fatal(err)
					}
				}
			})
			return fileSize(b, filepath.Join(dir, "part-00000.parquet"))
		})
	})
}

func fileSize(b *testing.B, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return st.Size()
}

// copyParquet reads src batch by batch and hands each batch to the writer
// made by open, then nil at the end.
func copyParquet(b *testing.B, src string, open func(*arrow.Schema) func(arrow.RecordBatch)) {
	f, err := os.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rdr, err := pqarrowOpen(f)
	if err != nil {
		b.Fatal(err)
	}
	rr, err := rdr.GetRecordReader(context.Background(), nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer rr.Release()
	write := open(rr.Schema())
	for rr.Next() {
		write(rr.RecordBatch())
	}
	if err := rr.Err(); err != nil && err != io.EOF {
		b.Fatal(err)
	}
	write(nil)
}

// pgoRow is the benchmark row for parquet-go, plain encoding.
type pgoRow struct {
	ID  int64   `parquet:"id"`
	F0  float32 `parquet:"f0"`
	F1  float32 `parquet:"f1"`
	F2  float32 `parquet:"f2"`
	F3  float32 `parquet:"f3"`
	F4  float32 `parquet:"f4"`
	F5  float32 `parquet:"f5"`
	F6  float32 `parquet:"f6"`
	F7  float32 `parquet:"f7"`
	F8  float32 `parquet:"f8"`
	F9  float32 `parquet:"f9"`
	F10 float32 `parquet:"f10"`
	F11 float32 `parquet:"f11"`
	F12 float32 `parquet:"f12"`
	F13 float32 `parquet:"f13"`
	F14 float32 `parquet:"f14"`
	F15 float32 `parquet:"f15"`
	F16 float32 `parquet:"f16"`
	F17 float32 `parquet:"f17"`
	F18 float32 `parquet:"f18"`
	F19 float32 `parquet:"f19"`
	F20 float32 `parquet:"f20"`
	F21 float32 `parquet:"f21"`
	F22 float32 `parquet:"f22"`
	F23 float32 `parquet:"f23"`
	F24 float32 `parquet:"f24"`
	F25 float32 `parquet:"f25"`
	F26 float32 `parquet:"f26"`
	F27 float32 `parquet:"f27"`
	F28 float32 `parquet:"f28"`
	F29 float32 `parquet:"f29"`
	F30 float32 `parquet:"f30"`
	F31 float32 `parquet:"f31"`
	S   string  `parquet:"s"`
}

// pgoDictRow is pgoRow with dictionary encoding on every column.
type pgoDictRow struct {
	ID  int64   `parquet:"id,dict"`
	F0  float32 `parquet:"f0,dict"`
	F1  float32 `parquet:"f1,dict"`
	F2  float32 `parquet:"f2,dict"`
	F3  float32 `parquet:"f3,dict"`
	F4  float32 `parquet:"f4,dict"`
	F5  float32 `parquet:"f5,dict"`
	F6  float32 `parquet:"f6,dict"`
	F7  float32 `parquet:"f7,dict"`
	F8  float32 `parquet:"f8,dict"`
	F9  float32 `parquet:"f9,dict"`
	F10 float32 `parquet:"f10,dict"`
	F11 float32 `parquet:"f11,dict"`
	F12 float32 `parquet:"f12,dict"`
	F13 float32 `parquet:"f13,dict"`
	F14 float32 `parquet:"f14,dict"`
	F15 float32 `parquet:"f15,dict"`
	F16 float32 `parquet:"f16,dict"`
	F17 float32 `parquet:"f17,dict"`
	F18 float32 `parquet:"f18,dict"`
	F19 float32 `parquet:"f19,dict"`
	F20 float32 `parquet:"f20,dict"`
	F21 float32 `parquet:"f21,dict"`
	F22 float32 `parquet:"f22,dict"`
	F23 float32 `parquet:"f23,dict"`
	F24 float32 `parquet:"f24,dict"`
	F25 float32 `parquet:"f25,dict"`
	F26 float32 `parquet:"f26,dict"`
	F27 float32 `parquet:"f27,dict"`
	F28 float32 `parquet:"f28,dict"`
	F29 float32 `parquet:"f29,dict"`
	F30 float32 `parquet:"f30,dict"`
	F31 float32 `parquet:"f31,dict"`
	S   string  `parquet:"s,dict"`
}
