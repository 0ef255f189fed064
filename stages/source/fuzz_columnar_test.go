package source

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/stages"
)

// The Parquet and Arrow IPC fuzz targets. FuzzParquet and FuzzIPC mutate
// whole files; FuzzIPCMetadata and FuzzParquetArrowSchema mutate the
// flatbuffers that arrow-go's schema and message decoders read, framed into
// a valid file around them, so that mutations reach those decoders instead
// of failing at the framing.

// addCorpusSeeds adds the corpus files under dir with one of the suffixes
// and at most maxBytes long.
func addCorpusSeeds(f *testing.F, dir string, maxBytes int64, suffixes ...string) {
	_ = filepath.WalkDir(filepath.Join(corpusRoot, dir), func(p string, e os.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return nil
		}
		for _, s := range suffixes {
			if info, err := e.Info(); err == nil && strings.HasSuffix(p, s) && info.Size() <= maxBytes {
				if b, err := os.ReadFile(p); err == nil {
					f.Add(b)
				}
			}
		}
		return nil
	})
}

// fuzzParquetSource builds the source every Parquet target reads with.
func fuzzParquetSource(path string, mem memory.Allocator) (stages.Source, error) {
	return NewParquet(ParquetConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: 4096}, mem)
}

// fuzzIPCSource builds the source every IPC target reads with.
func fuzzIPCSource(path string, mem memory.Allocator) (stages.Source, error) {
	return NewIPC(IPCConfig{Paths: []stages.Path{stages.Path(path)}, BatchRows: 4096, MaxBatchBytes: 64 << 20}, mem)
}

func FuzzParquet(f *testing.F) {
	addCorpusSeeds(f, "parquet-testing", 2048, ".parquet")
	// Files carrying their Arrow schema (ARROW:schema) in the footer.
	for _, c := range []compress.Compression{compress.Codecs.Snappy, compress.Codecs.Zstd} {
		f.Add(smallParquet(f, c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// arrow-go leaves bytes allocated on some error paths (see
		// corpus.tsv): no leak check here.
		fuzzRead(t, "fuzz.parquet", data, false, fuzzParquetSource)
	})
}

func FuzzIPC(f *testing.F) {
	addCorpusSeeds(f, "arrow-testing/data/arrow-ipc-stream/integration/2.0.0-compression", 4096, ".stream", ".arrow_file")
	addCorpusSeeds(f, "arrow-testing/data/arrow-ipc-stream/integration/cpp-21.0.0", 1500, ".stream", ".arrow_file")
	rec := hostileIPCRecord(f, memory.NewGoAllocator())
	defer rec.Release()
	f.Add(ipcBytes(f, rec, false))
	f.Add(ipcBytes(f, rec, true, ipc.WithZstd()))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "fuzz.arrow", data, false, fuzzIPCSource)
	})
}

// ipcFrame frames a message flatbuffer as the stream format does.
func ipcFrame(meta []byte) []byte {
	out := binary.LittleEndian.AppendUint32(nil, 0xFFFFFFFF)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(meta)))
	return append(out, meta...)
}

// ipcEOS is the stream format's end-of-stream marker.
var ipcEOS = []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}

// FuzzIPCMetadata reads a flatbuffer as one piece of an otherwise valid
// Arrow IPC input, chosen by kind: 0, the schema message of a stream; 1, a
// record batch message of a stream (after a valid schema and dictionary,
// followed by the valid batch's body); 2, the footer of a file.
func FuzzIPCMetadata(f *testing.F) {
	rec := hostileIPCRecord(f, memory.NewGoAllocator())
	defer rec.Release()
	stream := ipcBytes(f, rec, false)
	msgs := streamMessages(f, stream, 0)
	if len(msgs) != 3 {
		f.Fatalf("%d messages, want schema, dictionary, batch", len(msgs))
	}
	last := msgs[2]
	body := stream[last.off+len(last.meta):]
	body = body[:len(body)-len(ipcEOS)]
	prefix := stream[:last.off-8] // schema and dictionary messages, with bodies
	file := ipcBytes(f, rec, true, ipc.WithZstd())
	flen := int(binary.LittleEndian.Uint32(file[len(file)-10:]))
	filePrefix := file[:len(file)-10-flen]

	f.Add(msgs[0].meta, uint8(0))
	f.Add(last.meta, uint8(1))
	f.Add(msgs[1].meta, uint8(1))
	f.Add(file[len(file)-10-flen:len(file)-10], uint8(2))
	for _, name := range []string{"generated_nested.stream", "generated_map.stream", "generated_union.stream", "generated_custom_metadata.stream"} {
		data, err := os.ReadFile(filepath.Join(corpusRoot, "arrow-testing/data/arrow-ipc-stream/integration/cpp-21.0.0", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(streamMessages(f, data, 0)[0].meta, uint8(0))
	}
	f.Fuzz(func(t *testing.T, meta []byte, kind uint8) {
		var data []byte
		switch kind % 3 {
		case 0:
			data = append(ipcFrame(meta), ipcEOS...)
		case 1:
			data = append(bytes.Clone(prefix), ipcFrame(meta)...)
			data = append(append(data, body...), ipcEOS...)
		default:
			data = append(bytes.Clone(filePrefix), meta...)
			data = binary.LittleEndian.AppendUint32(data, uint32(len(meta)))
			data = append(data, ipcMagic...)
		}
		fuzzRead(t, "fuzz.arrow", data, false, fuzzIPCSource)
	})
}

// FuzzParquetArrowSchema stores the bytes as the Arrow schema of a valid
// Parquet file (the footer's ARROW:schema key, base64), which pqarrow
// decodes as an Arrow IPC stream before anything else.
func FuzzParquetArrowSchema(f *testing.F) {
	rec := hostileIPCRecord(f, memory.NewGoAllocator())
	defer rec.Release()
	var seeds []*arrow.Schema
	seeds = append(seeds, rec.Schema())
	seeds = append(seeds, arrow.NewSchema([]arrow.Field{
		{Name: "s", Type: arrow.StructOf(arrow.Field{Name: "a", Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)}, arrow.Field{Name: "b", Type: arrow.BinaryTypes.LargeString})},
		{Name: "m", Type: arrow.MapOf(arrow.BinaryTypes.String, arrow.PrimitiveTypes.Int64)},
		{Name: "v", Type: arrow.FixedSizeListOf(4, arrow.PrimitiveTypes.Float32)},
	}, nil))
	for _, s := range seeds {
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, ipc.WithSchema(s))
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	ib := array.NewInt64Builder(memory.NewGoAllocator())
	defer ib.Release()
	ib.AppendValues([]int64{1, 2, 3}, nil)
	col := ib.NewArray()
	defer col.Release()
	f.Fuzz(func(t *testing.T, stored []byte) {
		md := arrow.NewMetadata([]string{"ARROW:schema"}, []string{base64.StdEncoding.EncodeToString(stored)})
		schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, &md)
		rec := array.NewRecordBatch(schema, []arrow.Array{col}, 3)
		defer rec.Release()
		var buf bytes.Buffer
		w, err := pqarrow.NewFileWriter(schema, &buf, parquet.NewWriterProperties(), pqarrow.DefaultWriterProps())
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rec); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		fuzzRead(t, "fuzz.parquet", buf.Bytes(), false, fuzzParquetSource)
	})
}
