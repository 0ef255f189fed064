package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/pipe-ml/pipe/internal/stagetest"
)

// hostileIPCRecord builds a record batch whose metadata has every vector
// the validator checks: schema, field and message key-value metadata, a
// dictionary, a union, a time zone and a string_view column (variadic
// buffer counts).
func hostileIPCRecord(t testing.TB, mem memory.Allocator) arrow.RecordBatch {
	t.Helper()
	ib := array.NewInt64Builder(mem)
	defer ib.Release()
	ib.AppendValues([]int64{1, 2, 3}, nil)
	ids := ib.NewArray()
	defer ids.Release()

	sv := array.NewStringViewBuilder(mem)
	defer sv.Release()
	sv.AppendValues([]string{"a string longer than twelve bytes", "b", "c"}, nil)
	views := sv.NewArray()
	defer views.Release()

	db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String})
	defer db.Release()
	for _, s := range []string{"x", "y", "x"} {
		if err := db.(*array.BinaryDictionaryBuilder).AppendString(s); err != nil {
			t.Fatal(err)
		}
	}
	dict := db.NewArray()
	defer dict.Release()

	tb := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "Europe/Paris"})
	defer tb.Release()
	tb.AppendValues([]arrow.Timestamp{1, 2, 3}, nil)
	ts := tb.NewArray()
	defer ts.Release()

	codes := array.NewInt8Builder(mem)
	defer codes.Release()
	codes.AppendValues([]int8{0, 0, 0}, nil)
	codeArr := codes.NewArray()
	defer codeArr.Release()
	union, err := array.NewSparseUnionFromArraysWithFieldCodes(codeArr, []arrow.Array{ids}, []string{"i"}, []arrow.UnionTypeCode{0})
	if err != nil {
		t.Fatal(err)
	}
	defer union.Release()

	fieldMeta := arrow.NewMetadata([]string{"field-key"}, []string{"field-value"})
	schemaMeta := arrow.NewMetadata([]string{"schema-key"}, []string{"schema-value"})
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: ids.DataType(), Metadata: fieldMeta},
		{Name: "view", Type: views.DataType(), Nullable: true},
		{Name: "dict", Type: dict.DataType(), Nullable: true},
		{Name: "ts", Type: ts.DataType(), Nullable: true},
		{Name: "union", Type: union.DataType(), Nullable: true},
	}, &schemaMeta)
	batchMeta := arrow.NewMetadata([]string{"batch-key"}, []string{"batch-value"})
	return array.NewRecordBatchWithMetadata(schema, []arrow.Array{ids, views, dict, ts, union}, 3, batchMeta)
}

// ipcBytes writes rec in the file or stream format and returns the bytes.
func ipcBytes(t testing.TB, rec arrow.RecordBatch, file bool, opts ...ipc.Option) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "x")
	writeIPC(t, path, []arrow.RecordBatch{rec}, file, opts...)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// ipcMessage is one message of a stream: where its flatbuffer starts in
// the data, and the flatbuffer.
type ipcMessage struct {
	off  int
	meta []byte
}

// streamMessages returns the messages of the stream that starts at off.
func streamMessages(t testing.TB, data []byte, off int) []ipcMessage {
	t.Helper()
	var out []ipcMessage
	r := bytes.NewReader(data)
	for o := int64(off); o < int64(len(data)); {
		meta, body, err := readMessageMeta(r, o, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		if meta == nil {
			break
		}
		msg, err := fbRoot(meta)
		if err != nil {
			t.Fatal(err)
		}
		n, err := msg.i64(slotMessageBodyLength)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ipcMessage{off: int(body) - len(meta), meta: meta})
		o = body + n
	}
	return out
}

// fbPath follows slots from the root table of buf: a slot names a table
// field, or with elem >= 0 entry elem of a vector of tables.
type fbStep struct{ slot, elem int }

func fbFollow(t testing.TB, buf []byte, path []fbStep) fbTable {
	t.Helper()
	tb, err := fbRoot(buf)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range path {
		if s.elem < 0 {
			if tb, err = tb.table(s.slot); err != nil {
				t.Fatalf("slot %d: %v", s.slot, err)
			}
			continue
		}
		start, n, err := tb.vector(s.slot, 4, "test")
		if err != nil || s.elem >= n {
			t.Fatalf("slot %d entry %d of %d: %v", s.slot, s.elem, n, err)
		}
		if tb, err = tb.elem(start, s.elem); err != nil {
			t.Fatal(err)
		}
	}
	return tb
}

// fbVectorAt returns the position in tb.buf of the length of slot's vector.
func fbVectorAt(t testing.TB, tb fbTable, slot int) int {
	t.Helper()
	p := tb.field(slot)
	if p == 0 {
		t.Fatalf("vector slot %d absent", slot)
	}
	v, err := tb.indirect(p)
	if err != nil {
		t.Fatal(err)
	}
	return int(v)
}

func tbl(slot int) fbStep       { return fbStep{slot, -1} }
func vec(slot, elem int) fbStep { return fbStep{slot, elem} }
func fieldPath(i int) []fbStep  { return []fbStep{tbl(slotMessageHeader), vec(slotSchemaFields, i)} }

// TestIPCHostileMetadata changes four bytes of a valid stream or file: a
// vector length in the schema, a record batch or the file footer, or a
// variadic buffer count. arrow-go alone allocates a slice of that length
// before reading the entries (128 GiB for a key-value vector of 2^32-16
// entries), which aborts the process; the validator must refuse the file.
func TestIPCHostileMetadata(t *testing.T) {
	mem := stagetest.Mem(t)
	rec := hostileIPCRecord(t, mem)
	defer rec.Release()
	stream := ipcBytes(t, rec, false)
	file := ipcBytes(t, rec, true, ipc.WithZstd())

	const huge = 0xFFFFFFF0
	// where returns the position in data of the four (or eight) bytes to
	// change.
	type target func(t *testing.T, data []byte) int
	inMessage := func(i int, path []fbStep, slot int) target {
		return func(t *testing.T, data []byte) int {
			start := 0
			if bytes.HasPrefix(data, []byte(ipcMagic)) {
				start = 8
			}
			msgs := streamMessages(t, data, start)
			m := msgs[i]
			return m.off + fbVectorAt(t, fbFollow(t, m.meta, path), slot)
		}
	}
	inFooter := func(path []fbStep, slot int) target {
		return func(t *testing.T, data []byte) int {
			flen := int(binary.LittleEndian.Uint32(data[len(data)-10:]))
			off := len(data) - 10 - flen
			return off + fbVectorAt(t, fbFollow(t, data[off:off+flen], path), slot)
		}
	}
	// The record batch is the last message (after the dictionary).
	last := func(t *testing.T, data []byte) int {
		return len(streamMessages(t, data, 0)) - 1
	}
	tests := []struct {
		name   string
		file   bool
		where  target
		eight  bool // an int64 value, not a vector length
		value  uint64
		errSub string
	}{
		{"schema custom_metadata", false, inMessage(0, []fbStep{tbl(slotMessageHeader)}, slotSchemaMetadata), false, huge, "custom_metadata: the vector claims 4294967280 entries"},
		{"field custom_metadata", false, inMessage(0, fieldPath(0), slotFieldMetadata), false, huge, "field 0: |custom_metadata: the vector claims"},
		{"schema fields", false, inMessage(0, []fbStep{tbl(slotMessageHeader)}, slotSchemaFields), false, huge, "field list: the vector claims"},
		{"field children", false, inMessage(0, fieldPath(4), slotFieldChildren), false, huge, "field 4: |field list: the vector claims"},
		{"field name", false, inMessage(0, fieldPath(1), slotFieldName), false, huge, "field 1: |name: the vector claims"},
		{"union type ids", false, inMessage(0, append(fieldPath(4), tbl(slotFieldType)), 1), false, huge, "union type ids"},
		{"time zone", false, inMessage(0, append(fieldPath(3), tbl(slotFieldType)), 1), false, huge, "timestamp time zone"},
		{"batch custom_metadata", false, func(t *testing.T, data []byte) int {
			return inMessage(last(t, data), nil, slotMessageMetadata)(t, data)
		}, false, huge, "message 2: message metadata: |custom_metadata: the vector claims"},
		{"batch nodes", false, func(t *testing.T, data []byte) int {
			return inMessage(last(t, data), []fbStep{tbl(slotMessageHeader)}, slotBatchNodes)(t, data)
		}, false, huge, "record batch nodes"},
		{"batch buffers", false, func(t *testing.T, data []byte) int {
			return inMessage(last(t, data), []fbStep{tbl(slotMessageHeader)}, slotBatchBuffers)(t, data)
		}, false, huge, "record batch buffers"},
		{"variadic count", false, func(t *testing.T, data []byte) int {
			return inMessage(last(t, data), []fbStep{tbl(slotMessageHeader)}, slotBatchVariadic)(t, data) + 4
		}, true, 1 << 40, "variadic buffer count 0 of 1099511627776"},
		{"footer schema custom_metadata", true, inFooter([]fbStep{tbl(slotFooterSchema)}, slotSchemaMetadata), false, huge, "footer: schema: |custom_metadata: the vector claims"},
		{"footer field custom_metadata", true, inFooter([]fbStep{tbl(slotFooterSchema), vec(slotSchemaFields, 0)}, slotFieldMetadata), false, huge, "footer: schema: field 0: |custom_metadata: the vector claims"},
		{"footer record batches", true, inFooter(nil, slotFooterBatches), false, huge, "footer record batch blocks"},
		{"footer dictionaries", true, inFooter(nil, slotFooterDicts), false, huge, "footer dictionary blocks"},
		{"footer custom_metadata", true, func(t *testing.T, data []byte) int {
			// The writer leaves the footer's custom_metadata out: point
			// at the schema's instead through the footer's own walk.
			return inFooter([]fbStep{tbl(slotFooterSchema)}, slotSchemaMetadata)(t, data)
		}, false, huge, "custom_metadata"},
		{"file batch custom_metadata", true, func(t *testing.T, data []byte) int {
			return inMessage(len(streamMessages(t, data, 8))-1, nil, slotMessageMetadata)(t, data)
		}, false, huge, "record batch block 0: message metadata: |custom_metadata: the vector claims"},
	}
	dir := t.TempDir()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := bytes.Clone(stream)
			name := "hostile.arrows"
			if tt.file {
				data, name = bytes.Clone(file), "hostile.arrow"
			}
			pos := tt.where(t, data)
			if tt.eight {
				binary.LittleEndian.PutUint64(data[pos:], tt.value)
			} else {
				binary.LittleEndian.PutUint32(data[pos:], uint32(tt.value))
			}
			path := filepath.Join(dir, name)
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := build(t, mem, "ipc_source", `{paths: [`+name+`]}`, dir)
			wantErr(t, err, name+"|corrupt input|"+tt.errSub)
			if _, err := Inspect(path); !errors.Is(err, ErrCorruptInput) {
				t.Errorf("Inspect: %v, want ErrCorruptInput", err)
			}
		})
	}
	// The unchanged files read.
	for _, data := range [][]byte{stream, file} {
		path := filepath.Join(dir, "valid.arrow")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		src, err := build(t, mem, "ipc_source", `{paths: [valid.arrow]}`, dir)
		wantErr(t, err, "")
		if n, err := drain(t, src, 0); err != nil || n != 3 {
			t.Fatalf("read %d rows, %v", n, err)
		}
	}
}

// TestIPCSharedStrings points every entry of a key-value vector at one
// table: the vector fits the metadata, but arrow-go would copy the key once
// per entry, and make a slice per entry.
func TestIPCSharedStrings(t *testing.T) {
	shared := func(n, keyLen int) ([]byte, fbTable) {
		b := flatbuffers.NewBuilder(0)
		key := b.CreateString(strings.Repeat("k", keyLen))
		b.StartObject(2)
		b.PrependUOffsetTSlot(slotKeyValueKey, key, 0)
		kv := b.EndObject()
		b.StartVector(4, n, 4)
		for range n {
			b.PrependUOffsetT(kv)
		}
		vec := b.EndVector(n)
		b.StartObject(3)
		b.PrependUOffsetTSlot(slotSchemaMetadata, vec, 0)
		b.Finish(b.EndObject())
		buf := b.FinishedBytes()
		root, err := fbRoot(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf, root
	}
	buf, root := shared(100, 1000)
	wantErr(t, newFBWalk(buf).schema(root), "corrupt input|custom_metadata key: the metadata's strings add up to more than its")
	// One entry is fine.
	binary.LittleEndian.PutUint32(buf[fbVectorAt(t, root, slotSchemaMetadata):], 1)
	if err := newFBWalk(buf).schema(root); err != nil {
		t.Fatal(err)
	}
	buf, root = shared(1000, 1)
	wantErr(t, newFBWalk(buf).schema(root), "corrupt input|custom_metadata: 1000 key-value entries, more than the metadata of")
}

// TestIPCDictionaryBytes bounds the dictionaries a stream holds at once.
func TestIPCDictionaryBytes(t *testing.T) {
	lay := &ipcLayout{}
	if err := lay.addDictionary(1, false, 60, 100); err != nil {
		t.Fatal(err)
	}
	if err := lay.addDictionary(1, false, 70, 100); err != nil { // replaces
		t.Fatal(err)
	}
	if err := lay.addDictionary(2, false, 30, 100); err != nil {
		t.Fatal(err)
	}
	err := lay.addDictionary(1, true, 1, 100) // delta: 71 + 30
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want ErrLimit", err)
	}
	wantErr(t, err, "dictionaries held at once decode to 101 bytes, more than max_batch_bytes (100)|max_batch_bytes")
}

// TestIPCZstdWindow: a zstd frame declaring a window far larger than its
// content makes a streaming decoder allocate the window (513 MiB for a frame
// of 8 bytes measured with klauspost/compress); one within bounds passes.
func TestIPCZstdWindow(t *testing.T) {
	frame := func(wd byte) []byte {
		return []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, wd, 0x41, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8}
	}
	if got := zstdWindow(frame(0x98)); got != 512<<20 {
		t.Fatalf("window %d, want 512 MiB", got)
	}
	if got := zstdWindow(frame(0x5b)); got != 2<<20+3<<18 { // exponent 11, mantissa 3
		t.Fatalf("window %d", got)
	}
	err := plausible(codecZstd, frame(0x98), 17, 8)
	if !errors.Is(err, ErrLimit) {
		t.Fatalf("got %v, want ErrLimit", err)
	}
	wantErr(t, err, "zstd frame of 8 uncompressed bytes declares a window of 536870912 bytes")
	if err := plausible(codecZstd, frame(0x58), 17, 8); err != nil { // 8 MiB
		t.Fatal(err)
	}
}

// TestIPCChangedAfterValidation: a file changed between building the source
// (which checked its metadata) and reading it is not read.
func TestIPCChangedAfterValidation(t *testing.T) {
	mem := stagetest.Mem(t)
	rec := hostileIPCRecord(t, mem)
	defer rec.Release()
	dir := t.TempDir()
	path := filepath.Join(dir, "a.arrows")
	if err := os.WriteFile(path, ipcBytes(t, rec, false), 0o644); err != nil {
		t.Fatal(err)
	}
	src, err := build(t, mem, "ipc_source", `{paths: [a.arrows]}`, dir)
	wantErr(t, err, "")
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	_, err = drain(t, src, 0)
	wantErr(t, err, "a.arrows|changed since the job was validated")
}
