package source

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
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
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// The hostile columnar files: Parquet and Arrow IPC files of a few hundred
// kilobytes at most that made arrow-go abort the process (an allocation of
// tens of gigabytes from four changed bytes) or read at several gigabytes.
// They live in testdata/hostile at the repository root, for this test and
// for cmd/pipe's, which runs `pipe inspect` and `pipe run` on each under a
// memory ceiling. TestHostileColumnarFiles checks each file gives the expected
// error; with -hostile.update it writes them again (the two large ones need
// a few GiB of memory and some seconds to write). Without the flag the
// small ones are still generated, and must equal the files kept.

var hostileColumnarUpdate = flag.Bool("hostile.update", false, "rewrite testdata/hostile from the generators")

const hostileColumnarDir = "../../testdata/hostile"

// hostileColumnarFile is one file of testdata/hostile.
type hostileColumnarFile struct {
	name  string
	large bool // generated only with -hostile.update
	gen   func(t *testing.T) []byte
	// build is the expected error from constructing the source ("" when
	// construction succeeds), read the one from reading it, inspect the one
	// from Inspect ("" when it describes the file). Each is a list of
	// substrings, separated by "|".
	build, read, inspect string
}

// hostileColumnarFiles lists testdata/hostile. The IPC metadata cases change four
// bytes (eight for the variadic count) of a valid file, at an offset found
// by walking its flatbuffers.
var hostileColumnarFiles = []hostileColumnarFile{
	{name: "ipc-stream-schema-metadata.arrows", gen: func(t *testing.T) []byte {
		data := ipcBytes(t, hostileIPCBatch(t), false)
		m := streamMessages(t, data, 0)[0]
		pos := m.off + fbVectorAt(t, fbFollow(t, m.meta, []fbStep{tbl(slotMessageHeader)}), slotSchemaMetadata)
		binary.LittleEndian.PutUint32(data[pos:], 0xFFFFFFF0)
		return data
	}, build: "corrupt input|schema: |custom_metadata: the vector claims 4294967280 entries", inspect: "custom_metadata: the vector claims"},
	{name: "ipc-stream-batch-metadata.arrows", gen: func(t *testing.T) []byte {
		data := ipcBytes(t, hostileIPCBatch(t), false)
		msgs := streamMessages(t, data, 0)
		m := msgs[len(msgs)-1]
		pos := m.off + fbVectorAt(t, fbFollow(t, m.meta, nil), slotMessageMetadata)
		binary.LittleEndian.PutUint32(data[pos:], 0xFFFFFFF0)
		return data
	}, build: "corrupt input|message metadata: |custom_metadata: the vector claims", inspect: "custom_metadata"},
	{name: "ipc-stream-variadic-count.arrows", gen: func(t *testing.T) []byte {
		data := ipcBytes(t, hostileIPCBatch(t), false)
		msgs := streamMessages(t, data, 0)
		m := msgs[len(msgs)-1]
		pos := m.off + fbVectorAt(t, fbFollow(t, m.meta, []fbStep{tbl(slotMessageHeader)}), slotBatchVariadic) + 4
		binary.LittleEndian.PutUint64(data[pos:], 1<<40)
		return data
	}, build: "corrupt input|variadic buffer count 0 of 1099511627776", inspect: "variadic buffer count"},
	{name: "ipc-file-footer-metadata.arrow", gen: func(t *testing.T) []byte {
		data := ipcBytes(t, hostileIPCBatch(t), true, ipc.WithZstd())
		flen := int(binary.LittleEndian.Uint32(data[len(data)-10:]))
		off := len(data) - 10 - flen
		pos := off + fbVectorAt(t, fbFollow(t, data[off:off+flen], []fbStep{tbl(slotFooterSchema)}), slotSchemaMetadata)
		binary.LittleEndian.PutUint32(data[pos:], 0xFFFFFFF0)
		return data
	}, build: "corrupt input|footer: schema: |custom_metadata: the vector claims", inspect: "custom_metadata"},
	{name: "ipc-zstd-3x960mib.arrow", large: true, gen: genIPC960,
		build: "exceeds a safety limit|decode to at least 960.0 MiB, more than max_batch_bytes (192MiB)|raise ipc_source's max_batch_bytes"},
	{name: "parquet-arrow-schema-metadata.parquet", gen: genParquetArrowSchema,
		build: "corrupt input|key ARROW:schema|custom_metadata: the vector claims 4294967280", inspect: "ARROW:schema"},
	{name: "parquet-zstd-content-size.parquet", gen: genParquetZstdContentSize,
		read: "row group 0|could not decompress page|zstd page of 8000 bytes decoding to at most 8000"},
	{name: "parquet-no-magic.parquet", gen: func(t *testing.T) []byte {
		data := smallParquet(t, compress.Codecs.Snappy)
		copy(data, "\x00\x00\x00\x00")
		return data
	}, build: "corrupt input|does not start with the PAR1 magic", inspect: "does not start with the PAR1 magic"},
	{name: "parquet-pages-10x224mib.parquet", large: true, gen: genParquetPages,
		read: "row group 0|exceeds a safety limit|uncompressed page size 234881024 exceeds configured limit 67108864|raise parquet_source's max_page_bytes"},
}

func TestHostileColumnarFiles(t *testing.T) {
	for _, h := range hostileColumnarFiles {
		t.Run(h.name, func(t *testing.T) {
			path := filepath.Join(hostileColumnarDir, h.name)
			switch {
			case *hostileColumnarUpdate:
				data := h.gen(t)
				if err := os.WriteFile(path, data, 0o644); err != nil {
					t.Fatal(err)
				}
				t.Logf("wrote %s: %d bytes", path, len(data))
			case !h.large:
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(h.gen(t), want) {
					t.Fatalf("%s differs from what its generator writes: run go test -run TestHostileColumnarFiles -hostile.update and review", path)
				}
			}
			checkHostileColumnar(t, path, h)
		})
	}
}

// checkHostileColumnar reads the hostile file at path through its source and
// Inspect, checking the errors h expects.
func checkHostileColumnar(t *testing.T, path string, h hostileColumnarFile) {
	mem := stagetest.Mem(t)
	typ := "ipc_source"
	if strings.HasSuffix(path, ".parquet") {
		typ = "parquet_source"
	}
	base := filepath.Base(path)
	src, err := build(t, mem, typ, fmt.Sprintf("{paths: [%q]}", path), "")
	if h.build != "" {
		wantErr(t, err, base+"|"+h.build)
	} else {
		wantErr(t, err, "")
		_, err = drain(t, src, 0)
		if h.read == "" {
			wantErr(t, err, "")
		} else {
			wantErr(t, err, base+"|"+h.read)
		}
	}
	var pe *PanicError
	if errors.As(err, &pe) {
		t.Errorf("a reader panicked: %v", pe.Value)
	}
	info, err := Inspect(path)
	if h.inspect == "" {
		if err != nil {
			t.Errorf("Inspect: %v", err)
		} else if info.Rows < 0 {
			t.Errorf("Inspect: %d rows", info.Rows)
		}
		return
	}
	wantErr(t, err, base+"|"+h.inspect)
}

// hostileIPCBatch is the record batch the IPC metadata cases change (see
// hostileIPCRecord), built from the Go allocator.
func hostileIPCBatch(t *testing.T) arrow.RecordBatch {
	rec := hostileIPCRecord(t, memory.NewGoAllocator())
	t.Cleanup(rec.Release)
	return rec
}

// genIPC960 writes an Arrow IPC file of three record batches of one int64
// column of zeros, 960 MiB each, zstd-compressed (about 30 kB each): every
// declared length is true, and arrow-go alone reads it at about 2.5 GB.
func genIPC960(t *testing.T) []byte {
	const rows = 960 << 20 / 8
	// A fresh allocation is zero pages the writer only reads.
	data := array.NewData(arrow.PrimitiveTypes.Int64, rows, []*memory.Buffer{nil, memory.NewBufferBytes(make([]byte, rows*8))}, nil, 0, 0)
	col := array.NewInt64Data(data)
	data.Release()
	defer col.Release()
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, rows)
	defer rec.Release()
	return ipcBytesN(t, []arrow.RecordBatch{rec, rec, rec}, ipc.WithZstd())
}

// ipcBytesN writes recs in the IPC file format and returns the bytes.
func ipcBytesN(t *testing.T, recs []arrow.RecordBatch, opts ...ipc.Option) []byte {
	path := filepath.Join(t.TempDir(), "x.arrow")
	writeIPC(t, path, recs, true, opts...)
	out, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// genParquetPages writes a Parquet file of ten int64 columns of zeros in
// one row group, each column one zstd page of 224 MiB (about 25 kB
// compressed): arrow-go holds every column's page while it reads the row
// group, and the file alone read at 4.8 GB.
func genParquetPages(t *testing.T) []byte {
	const rows = 224 << 20 / 8
	const cols = 10
	data := array.NewData(arrow.PrimitiveTypes.Int64, rows, []*memory.Buffer{nil, memory.NewBufferBytes(make([]byte, rows*8))}, nil, 0, 0)
	col := array.NewInt64Data(data)
	data.Release()
	defer col.Release()
	fields := make([]arrow.Field, cols)
	arrs := make([]arrow.Array, cols)
	for i := range fields {
		fields[i] = arrow.Field{Name: fmt.Sprintf("c%d", i), Type: arrow.PrimitiveTypes.Int64}
		arrs[i] = col
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, rows)
	defer rec.Release()
	return parquetBytes(t, rec, parquet.WithCompression(compress.Codecs.Zstd), parquet.WithDictionaryDefault(false),
		parquet.WithDataPageSize(1<<30), parquet.WithMaxRowGroupLength(rows), parquet.WithBatchSize(rows), parquet.WithStats(false))
}

// parquetBytes writes rec as a Parquet file and returns the bytes.
func parquetBytes(t testing.TB, rec arrow.RecordBatch, opts ...parquet.WriterProperty) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pqarrow.NewFileWriter(rec.Schema(), &buf, parquet.NewWriterProperties(opts...), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// smallParquet is a Parquet file of one int64 column, 0 to 999, in one
// PLAIN page without dictionary, carrying its Arrow schema (with schema
// metadata) in the footer.
func smallParquet(t testing.TB, codec compress.Compression) []byte {
	b := array.NewInt64Builder(memory.NewGoAllocator())
	defer b.Release()
	for i := range int64(1000) {
		b.Append(i)
	}
	col := b.NewArray()
	defer col.Release()
	md := arrow.NewMetadata([]string{"origin"}, []string{"pipe tests"})
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}}, &md)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, 1000)
	defer rec.Release()
	return parquetBytes(t, rec, parquet.WithCompression(codec), parquet.WithDictionaryDefault(false))
}

// genParquetArrowSchema changes four bytes of the Arrow schema stored in a
// Parquet footer (key ARROW:schema, base64): the length of the schema's
// custom_metadata vector.
func genParquetArrowSchema(t *testing.T) []byte {
	data := smallParquet(t, compress.Codecs.Snappy)
	pf, err := file.NewParquetReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	v := pf.MetaData().KeyValueMetadata().FindValue("ARROW:schema")
	if v == nil {
		t.Fatal("no ARROW:schema")
	}
	enc := base64.StdEncoding
	stream, err := enc.DecodeString(*v)
	if err != nil {
		t.Fatal(err)
	}
	m := streamMessages(t, stream, 0)[0]
	pos := m.off + fbVectorAt(t, fbFollow(t, m.meta, []fbStep{tbl(slotMessageHeader)}), slotSchemaMetadata)
	binary.LittleEndian.PutUint32(stream[pos:], 0xFFFFFFF0)
	changed := enc.EncodeToString(stream)
	if bytes.Count(data, []byte(*v)) != 1 || len(changed) != len(*v) {
		t.Fatal("cannot replace ARROW:schema in place")
	}
	return bytes.Replace(data, []byte(*v), []byte(changed), 1)
}

// genParquetZstdContentSize writes a Parquet file with one uncompressed
// page of 8000 bytes, then makes it a zstd page: the column chunk's codec
// becomes ZSTD, and the page's bytes a zstd frame (as long as the page)
// whose header declares a content size of 48 GiB. arrow-go's zstd decoder
// sizes its output from that header: a 48 GiB allocation, which aborts the
// process on a machine with less memory.
func genParquetZstdContentSize(t *testing.T) []byte {
	data := smallParquet(t, compress.Codecs.Uncompressed)
	values := make([]byte, 8000)
	for i := range 1000 {
		binary.LittleEndian.PutUint64(values[8*i:], uint64(i))
	}
	at := bytes.Index(data, values)
	if at < 0 || bytes.Count(data, values) != 1 {
		t.Fatal("page values not found")
	}
	frame := []byte{0x28, 0xb5, 0x2f, 0xfd, // magic
		0xc0,                    // 8-byte content size, not single segment
		0x00,                    // window descriptor: 1 KiB
		0, 0, 0, 0, 12, 0, 0, 0, // content size: 48 GiB
	}
	raw := len(values) - len(frame) - 3
	frame = append(frame, byte(raw<<3|1), byte(raw>>5), byte(raw>>13)) // last raw block
	copy(data[at:], frame)
	// The codec of the only column chunk: FileMetaData.row_groups[0]
	// .columns[0].meta_data.codec, zigzag varint 0 (UNCOMPRESSED).
	flen := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	footer := len(data) - 8 - flen
	pos := footer + thriftPos(t, data[footer:len(data)-8], 4, 0, 1, 0, 3, 4)
	if data[pos] != 0 {
		t.Fatalf("codec %#x, want 0", data[pos])
	}
	data[pos] = 6 << 1 // ZSTD
	return data
}

// thriftPos returns where the value at path lies in the compact-protocol
// struct b: path alternates field ids and, for a list, an element index.
func thriftPos(t *testing.T, b []byte, path ...int) int {
	t.Helper()
	r := &thriftReader{b: b}
	for len(path) > 0 {
		id := path[0]
		path = path[1:]
		found := -1
		last := 0
		for found < 0 {
			f, err := r.fieldHeader(last)
			if err != nil || f.typ == tcStop {
				t.Fatalf("field %d not found", id)
			}
			last = f.id
			if f.id == id {
				found = f.typ
				break
			}
			if err := r.skip(f.typ, false, 0); err != nil {
				t.Fatal(err)
			}
		}
		if found == tcList {
			n, _, err := r.listHeader()
			if err != nil || len(path) == 0 || path[0] >= n {
				t.Fatalf("list field %d: %v", id, err)
			}
			for range path[0] {
				if err := r.skip(tcStruct, true, 0); err != nil {
					t.Fatal(err)
				}
			}
			path = path[1:]
		}
	}
	return r.pos
}

// TestParquetPageLimit reads a file whose pages need more than
// max_page_memory together, more than max_page_bytes one by one, and more
// than max_batch_bytes for a batch.
func TestParquetPageLimit(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	recs := genRecords(t, mem, `{count: 20000, columns: [{name: a, type: int64}, {name: b, type: int64}, {name: s, type: string}]}`)
	writeParquet(t, filepath.Join(dir, "a.parquet"), recs, 20000)
	stagetest.Release(recs)
	tests := []struct{ with, err string }{
		{`{paths: [a.parquet]}`, ""},
		{`{paths: [a.parquet], max_page_memory: 400KiB}`, "a.parquet|row group 0|exceeds a safety limit|the pages the reader must hold at once|more than max_page_memory (400KiB)|raise parquet_source's max_page_memory"},
		{`{paths: [a.parquet], columns: [a], max_page_memory: 400KiB}`, ""},
		{`{paths: [a.parquet], max_page_bytes: 100KiB}`, "a.parquet|row group 0|exceeds a safety limit|page size 160000 exceeds configured limit 102400|raise parquet_source's max_page_bytes"},
		{`{paths: [a.parquet], max_batch_bytes: 100KiB}`, "a.parquet|row group 0|exceeds a safety limit|decoding one batch needs more than max_batch_bytes (100KiB)|lower parquet_source's batch_rows"},
		{`{paths: [a.parquet], max_batch_bytes: 100KiB, batch_rows: 1000}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.with, func(t *testing.T) {
			src, err := build(t, mem, "parquet_source", tt.with, dir)
			if err == nil {
				var n int64
				n, err = drain(t, src, 0)
				if err == nil && n != 20000 {
					t.Fatalf("read %d rows", n)
				}
			}
			wantErr(t, err, tt.err)
		})
	}
}

// TestParquetPageHeaderLimit: a page whose header declares more than
// max_page_bytes fails before anything is allocated for it, with arrow-go's
// message and the key's name.
func TestParquetPageHeaderLimit(t *testing.T) {
	mem := stagetest.Mem(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.parquet"), smallParquet(t, compress.Codecs.Zstd), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := build(t, mem, "parquet_source", `{paths: [a.parquet], max_page_bytes: 4KiB}`, dir)
	wantErr(t, err, "")
	_, err = drain(t, src, 0)
	wantErr(t, err, "a.parquet|row group 0|uncompressed page size 8000 exceeds configured limit 4096|max_page_bytes")
	if !errors.Is(err, ErrLimit) {
		t.Errorf("%v does not wrap ErrLimit", err)
	}
}

// TestParquetUnknownLogicalType: a column of a logical type arrow-go does
// not know reads as its physical type (arrow-go alone panics "invalid
// logical type"), with a warning.
func TestParquetUnknownLogicalType(t *testing.T) {
	path := filepath.Join(corpusRoot, "parquet-testing", "data", "unknown-logical-type.parquet")
	mem := stagetest.Mem(t)
	src, err := build(t, mem, "parquet_source", fmt.Sprintf("{paths: [%q]}", path), "")
	wantErr(t, err, "")
	if got := src.Schema().String(); !strings.Contains(got, "column with unknown type: type=binary") {
		t.Errorf("schema %s", got)
	}
	if n, err := drain(t, src, 0); err != nil || n != 3 {
		t.Fatalf("read %d rows, %v", n, err)
	}
	if got := src.(*Parquet).files[0].unknownTypes; len(got) != 1 || got[0] != "column with unknown type" {
		t.Errorf("unknown types %q", got)
	}
}

// TestDropUnknownLogicalTypes rewrites footers by hand: the logicalType
// field goes, and the header of a field after it is written again.
func TestDropUnknownLogicalTypes(t *testing.T) {
	// A FileMetaData with a schema list of one SchemaElement: name "c"
	// (field 4), logicalType (field 10) holding member id, then field_id
	// (field 11, which does not exist in parquet.thrift: a later field)
	// when tail.
	footer := func(member int, tail bool) []byte {
		b := []byte{0x29, 0x1c}     // field 2 list, 1 element of structs
		b = append(b, 0x48, 1, 'c') // field 4 binary "c"
		b = append(b, 0x6c)         // field 10 struct (delta 6)
		b = append(b, fieldHeaderBytes(member, tcStruct, 0)...)
		b = append(b, 0, 0) // empty member struct, end of union
		if tail {
			b = append(b, 0x15, 0x02) // field 11 i32 = 1 (delta 1)
		}
		return append(b, 0, 0) // end of element, end of FileMetaData
	}
	for _, tt := range []struct {
		member  int
		tail    bool
		want    []byte
		dropped bool
	}{
		{1, false, footer(1, false), false},
		{19, false, []byte{0x29, 0x1c, 0x48, 1, 'c', 0, 0}, true},
		{9, true, []byte{0x29, 0x1c, 0x48, 1, 'c', 0x75, 0x02, 0, 0}, true}, // field 11 now delta 7 from 4
	} {
		got, names, err := dropUnknownLogicalTypes(footer(tt.member, tt.tail))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, tt.want) || (len(names) == 1) != tt.dropped {
			t.Errorf("member %d: got %x %q, want %x", tt.member, got, names, tt.want)
		}
	}
	if _, _, err := dropUnknownLogicalTypes([]byte{0x29, 0xfc, 0x7f}); err == nil {
		t.Error("a list of 127 elements in 3 bytes: no error")
	}
}

// TestBoundedCodecs decodes pages whose compressed data declares more than
// the page: the wrappers refuse instead of allocating what it declares.
func TestBoundedCodecs(t *testing.T) {
	zstdCodec, _ := compress.GetCodec(compress.Codecs.Zstd)
	snappyCodec, _ := compress.GetCodec(compress.Codecs.Snappy)
	page := bytes.Repeat([]byte("0123456789"), 100)
	for _, c := range []compress.Codec{zstdCodec, snappyCodec} {
		enc := c.Encode(nil, page)
		if out, err := compress.Decode(c, make([]byte, len(page)), enc); err != nil || !bytes.Equal(out, page) {
			t.Fatalf("%T: round trip: %v", c, err)
		}
		if _, err := compress.Decode(c, make([]byte, len(page)-1), enc); err == nil {
			t.Errorf("%T: no error decoding %d bytes into %d", c, len(page), len(page)-1)
		}
		if out, err := compress.Decode(c, nil, enc); err != nil || !bytes.Equal(out, page) {
			t.Fatalf("%T: nil destination: %v", c, err)
		}
	}
}

// TestParquetChunkOutsideFile: a column chunk that lies past the end of the
// file is refused when the source is built.
func TestParquetChunkOutsideFile(t *testing.T) {
	data := smallParquet(t, compress.Codecs.Snappy)
	flen := int(binary.LittleEndian.Uint32(data[len(data)-8:]))
	footer := len(data) - 8 - flen
	// ColumnChunk.meta_data.total_compressed_size (field 7, i64).
	pos := footer + thriftPos(t, data[footer:len(data)-8], 4, 0, 1, 0, 3, 7)
	_, n := binary.Uvarint(data[pos:])
	if n <= 0 || n > 3 {
		t.Fatalf("size varint %d bytes", n)
	}
	// Same varint length, a size just under the next power of 128.
	for i := range n - 1 {
		data[pos+i] = 0xff
	}
	data[pos+n-1] = 0x7f
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.parquet"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := build(t, stagetest.Mem(t), "parquet_source", `{paths: [a.parquet]}`, dir)
	wantErr(t, err, "a.parquet|corrupt input|row group 0: column chunk 0 (id)|lies outside the file")
}

// TestLimitAlloc: a limited allocator refuses, only while armed, an
// allocation past its limit, with a panic that limitError turns back into
// its error; live counting subtracts frees, growth counting does not.
func TestLimitAlloc(t *testing.T) {
	msg := func(n, limit int64) error { return fmt.Errorf("%w: %d over %d", ErrLimit, n, limit) }
	live := &limitAlloc{Allocator: memory.NewGoAllocator(), limit: 100, live: true, msg: msg}
	b := live.Allocate(80)
	live.Free(live.Allocate(90)) // not armed: counted, not refused
	live.arm()
	b = live.Reallocate(90, b)
	err := limitError(guard(func() error { live.Allocate(20); return nil }))
	wantErr(t, err, "exceeds a safety limit: 110 over 100")
	live.Free(b)
	live.Allocate(100)
	live.disarm()

	growth := &limitAlloc{Allocator: memory.NewGoAllocator(), limit: 100, msg: msg}
	growth.arm()
	growth.Free(growth.Allocate(60))
	err = limitError(guard(func() error { growth.Allocate(60); return nil }))
	wantErr(t, err, "120 over 100")
	growth.reset()
	growth.Allocate(60)
	// Wrapped in an error by code that recovers panics itself.
	err = limitError(fmt.Errorf("decode failed: %w", &limitPanic{msg(1, 0)}))
	if !errors.Is(err, ErrLimit) {
		t.Errorf("%v does not wrap ErrLimit", err)
	}
}
