package source

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/pipe-ml/pipe/stages"
)

// This file walks the framing and the flatbuffer metadata of an Arrow IPC
// file or stream without arrow-go, before arrow-go reads it. arrow-go trusts
// the metadata: it allocates a slice for every vector length it reads
// (fields, children, key-value metadata) before reading the entries, and a
// buffer for every compressed buffer's 8-byte uncompressed length. Four
// changed bytes then make it ask for gigabytes, and an allocation the
// machine cannot satisfy aborts the Go runtime, which recover cannot catch.
// So every length and count that arrow-go uses is checked here against the
// bytes that hold it, what arrow-go would copy out of the metadata
// (strings, key-value entries, fields) is bounded by the metadata's size,
// and what a message's body decodes to is bounded by max_batch_bytes.

const (
	ipcMagic = "ARROW1"
	// ipcMaxMetadata bounds one message's flatbuffer, as arrow-go does.
	ipcMaxMetadata = 64 << 20
	// Largest ratio of uncompressed to compressed bytes each codec can
	// reach, plus a fixed slack for frame headers: a prefix above it cannot
	// be true. zstd: a 128 KiB RLE block costs 4 bytes; LZ4: one byte of
	// match length covers at most 255 bytes.
	zstdMaxRatio = 1 << 15
	lz4MaxRatio  = 256
	ratioSlack   = 1 << 10
)

// Header types of the Message union and codecs of BodyCompression, from
// Arrow's Message.fbs; the Type union members whose tables hold vectors or
// strings, from Schema.fbs.
const (
	msgSchema          = 1
	msgDictionaryBatch = 2
	msgRecordBatch     = 3
	codecLZ4Frame      = 0
	codecZstd          = 1
	typeTimestamp      = 10
	typeUnion          = 14
	typeBinaryView     = 23
	typeUtf8View       = 24
)

// Slots (field indexes) of the flatbuffer tables read here, from Arrow's
// Schema.fbs, Message.fbs and File.fbs.
const (
	slotMessageHeaderType = 1
	slotMessageHeader     = 2
	slotMessageBodyLength = 3
	slotMessageMetadata   = 4

	slotSchemaFields   = 1
	slotSchemaMetadata = 2
	slotSchemaFeatures = 3

	slotFieldName       = 0
	slotFieldTypeType   = 2
	slotFieldType       = 3
	slotFieldDictionary = 4
	slotFieldChildren   = 5
	slotFieldMetadata   = 6

	slotKeyValueKey   = 0
	slotKeyValueValue = 1

	slotBatchLength   = 0
	slotBatchNodes    = 1
	slotBatchBuffers  = 2
	slotBatchCompress = 3
	slotBatchVariadic = 4

	slotDictID      = 0
	slotDictData    = 1
	slotDictIsDelta = 2

	slotFooterSchema   = 1
	slotFooterDicts    = 2
	slotFooterBatches  = 3
	slotFooterMetadata = 4
)

// ipcLayout is what a walk over an Arrow IPC file learns.
type ipcLayout struct {
	file        bool    // file format (else stream)
	batchRows   []int64 // rows of each record batch, in reading order
	rows        int64
	compression string // "lz4", "zstd" or ""

	dicts     map[int64]int64 // decoded bytes of each dictionary id
	dictBytes int64           // their sum

	// views counts the schema's view-typed fields that are not
	// dictionary-encoded: arrow-go reads one variadic buffer count per
	// such array of a record batch, past the end of a shorter vector.
	views int
}

// errIPC is a malformed-metadata error from the walk.
func errIPC(format string, args ...any) error {
	return fmt.Errorf("%w: arrow ipc: %s", ErrCorruptInput, fmt.Sprintf(format, args...))
}

// errBatchLimit is the error for a message that decodes to more than
// max_batch_bytes.
func errBatchLimit(what string, n, maxBody int64) error {
	return fmt.Errorf("%w: %s %s, more than max_batch_bytes (%s); raise ipc_source's max_batch_bytes to read it",
		ErrLimit, what, sizeText(n), stages.ByteSize(maxBody))
}

// scanIPC walks the Arrow IPC file or stream in r (size bytes): every
// message that arrow-go would read, checking its flatbuffer (see
// fbWalk), that each body lies inside the file and is at most maxBody
// bytes, that each compressed buffer's declared uncompressed length is
// plausible, that the buffers of one message decode to at most maxBody
// bytes, and that the dictionaries held at once do too.
func scanIPC(r io.ReaderAt, size, maxBody int64) (*ipcLayout, error) {
	head := make([]byte, 8)
	n, _ := r.ReadAt(head, 0)
	if n >= 6 && string(head[:6]) == ipcMagic {
		return scanIPCFile(r, size, maxBody)
	}
	lay := &ipcLayout{}
	off := int64(0)
	for i := 0; off < size; i++ {
		meta, bodyStart, err := readMessageMeta(r, off, size)
		if err != nil {
			return nil, err
		}
		if meta == nil { // end-of-stream marker
			break
		}
		bodyLen, err := lay.checkMessage(r, meta, bodyStart, -1, size, maxBody)
		if err != nil {
			return nil, fmt.Errorf("message %d: %w", i, err)
		}
		off = bodyStart + bodyLen
	}
	return lay, nil
}

// checkIPCSchemaMessage checks the first message of the Arrow IPC stream
// in b, which must be a schema, as arrow-go's ipc.NewReader reads it (the
// Arrow schema that Parquet files carry in their ARROW:schema metadata is
// such a stream).
func checkIPCSchemaMessage(b []byte) error {
	r := bytes.NewReader(b)
	size := int64(len(b))
	meta, bodyStart, err := readMessageMeta(r, 0, size)
	if err != nil {
		return err
	}
	if meta == nil {
		return errIPC("no schema message")
	}
	msg, err := fbRoot(meta)
	if err != nil {
		return err
	}
	if htype, err := msg.u8(slotMessageHeaderType); err != nil || htype != msgSchema {
		return errIPC("the first message is not a schema")
	}
	lay := &ipcLayout{}
	_, err = lay.checkMessage(r, meta, bodyStart, -1, size, size)
	return err
}

// readMessageMeta reads the encapsulated message at off: its flatbuffer
// (nil at an end-of-stream marker or the end of the data) and where its body
// starts.
func readMessageMeta(r io.ReaderAt, off, size int64) ([]byte, int64, error) {
	if size-off < 4 {
		return nil, 0, errIPC("truncated message prefix at byte %d", off)
	}
	var p [8]byte
	if _, err := r.ReadAt(p[:4], off); err != nil {
		return nil, 0, errIPC("reading byte %d: %v", off, err)
	}
	start := off + 4
	length := int64(int32(binary.LittleEndian.Uint32(p[:4])))
	if length == -1 { // continuation marker, then the length
		if size-off < 8 {
			if size-off == 4 {
				return nil, 0, nil // bare continuation at the end: treat as end
			}
			return nil, 0, errIPC("truncated message length at byte %d", off)
		}
		if _, err := r.ReadAt(p[:4], off+4); err != nil {
			return nil, 0, errIPC("reading byte %d: %v", off+4, err)
		}
		start = off + 8
		length = int64(int32(binary.LittleEndian.Uint32(p[:4])))
	}
	if length == 0 {
		return nil, 0, nil
	}
	if length < 0 || length > ipcMaxMetadata || length > size-start {
		return nil, 0, errIPC("message at byte %d declares %d bytes of metadata; the file has %d after it", off, length, size-start)
	}
	meta := make([]byte, length)
	if _, err := r.ReadAt(meta, start); err != nil {
		return nil, 0, errIPC("reading message metadata at byte %d: %v", start, err)
	}
	return meta, start + length, nil
}

// checkMessage checks one message and returns its body length (from the
// message, or blockBody when the file footer gives one, >= 0).
func (lay *ipcLayout) checkMessage(r io.ReaderAt, meta []byte, bodyStart, blockBody, size, maxBody int64) (int64, error) {
	msg, err := fbRoot(meta)
	if err != nil {
		return 0, err
	}
	htype, err := msg.u8(slotMessageHeaderType)
	if err != nil {
		return 0, err
	}
	bodyLen, err := msg.i64(slotMessageBodyLength)
	if err != nil {
		return 0, err
	}
	w := newFBWalk(meta)
	if err := w.keyValues(msg, slotMessageMetadata); err != nil {
		return 0, fmt.Errorf("message metadata: %w", err)
	}
	if htype == msgSchema {
		schema, err := msg.table(slotMessageHeader)
		if err != nil {
			return 0, fmt.Errorf("schema message: %w", err)
		}
		if err := w.schema(schema); err != nil {
			return 0, err
		}
		lay.views = w.views
	}
	if blockBody >= 0 {
		bodyLen = blockBody
	}
	if bodyLen < 0 || bodyLen > size-bodyStart {
		return 0, errIPC("message body of %d bytes at byte %d runs past the end of the file (%d bytes)", bodyLen, bodyStart, size)
	}
	if bodyLen > maxBody {
		return 0, errBatchLimit("message body of", bodyLen, maxBody)
	}
	return bodyLen, lay.checkBatch(r, msg, htype, bodyStart, bodyLen, maxBody)
}

// checkBatch checks the record batch or dictionary batch header of msg, of
// type htype, whose body is [bodyStart, bodyStart+bodyLen), and records its
// rows or its dictionary; other messages pass.
func (lay *ipcLayout) checkBatch(r io.ReaderAt, msg fbTable, htype uint8, bodyStart, bodyLen, maxBody int64) error {
	var rb, db fbTable
	var err error
	switch htype {
	case msgRecordBatch:
		if rb, err = msg.table(slotMessageHeader); err != nil {
			return err
		}
	case msgDictionaryBatch:
		if db, err = msg.table(slotMessageHeader); err != nil {
			return err
		}
		if rb, err = db.table(slotDictData); err != nil {
			return err
		}
	default:
		return nil
	}
	rows, err := rb.i64(slotBatchLength)
	if err != nil {
		return err
	}
	if rows < 0 {
		return errIPC("record batch declares %d rows", rows)
	}
	decoded, err := lay.checkBuffers(r, rb, bodyStart, bodyLen, maxBody)
	if err != nil {
		return err
	}
	if htype == msgRecordBatch {
		if _, n, err := rb.vector(slotBatchVariadic, 8, "record batch variadic buffer counts"); err != nil || n < lay.views {
			return errIPC("record batch lists %d variadic buffer counts for the schema's %d view columns", n, lay.views)
		}
		lay.batchRows = append(lay.batchRows, rows)
		lay.rows += rows
		return nil
	}
	id, err := db.i64(slotDictID)
	if err != nil {
		return err
	}
	delta, err := db.u8(slotDictIsDelta)
	if err != nil {
		return err
	}
	return lay.addDictionary(id, delta != 0, decoded, maxBody)
}

// addDictionary records a dictionary batch of n decoded bytes: a delta adds
// to dictionary id, another batch replaces it. The dictionaries stay in
// memory while the file is read, so together they are bounded like a batch.
func (lay *ipcLayout) addDictionary(id int64, delta bool, n, maxBody int64) error {
	if lay.dicts == nil {
		lay.dicts = map[int64]int64{}
	}
	old := lay.dicts[id]
	next := n
	if delta {
		next = old + n
	}
	lay.dictBytes += next - old
	lay.dicts[id] = next
	if lay.dictBytes > maxBody {
		return errBatchLimit("dictionaries held at once decode to", lay.dictBytes, maxBody)
	}
	return nil
}

// checkBuffers checks the field nodes, buffers and variadic buffer counts
// of a RecordBatch table whose body is [bodyStart, bodyStart+bodyLen), and
// returns the bytes the buffers decode to.
func (lay *ipcLayout) checkBuffers(r io.ReaderAt, rb fbTable, bodyStart, bodyLen, maxBody int64) (int64, error) {
	if _, _, err := rb.vector(slotBatchNodes, 16, "record batch nodes"); err != nil {
		return 0, err
	}
	start, count, err := rb.vector(slotBatchBuffers, 16, "record batch buffers")
	if err != nil {
		return 0, err
	}
	vstart, vcount, err := rb.vector(slotBatchVariadic, 8, "record batch variadic buffer counts")
	if err != nil {
		return 0, err
	}
	if err := checkVariadic(rb, vstart, vcount, count); err != nil {
		return 0, err
	}
	codec, err := lay.codec(rb)
	if err != nil {
		return 0, err
	}
	var total int64
	var frame [26]byte
	for i := range count {
		p := start + i*16
		boff := int64(binary.LittleEndian.Uint64(rb.buf[p:]))
		blen := int64(binary.LittleEndian.Uint64(rb.buf[p+8:]))
		if boff < 0 || blen < 0 || boff > bodyLen || blen > bodyLen-boff {
			return 0, errIPC("buffer %d (offset %d, length %d) lies outside the message body of %d bytes", i, boff, blen, bodyLen)
		}
		if codec < 0 || blen == 0 {
			continue
		}
		if blen < 8 {
			return 0, errIPC("compressed buffer %d has %d bytes, fewer than its 8-byte length prefix", i, blen)
		}
		n := min(blen, int64(len(frame)))
		if _, err := r.ReadAt(frame[:n], bodyStart+boff); err != nil {
			return 0, errIPC("reading buffer %d: %v", i, err)
		}
		claimed := int64(binary.LittleEndian.Uint64(frame[:8]))
		switch {
		case claimed == -1: // stored uncompressed
			claimed = blen - 8
		case claimed < 0:
			return 0, errIPC("compressed buffer %d declares %d uncompressed bytes", i, claimed)
		default:
			if err := plausible(codec, frame[8:n], blen-8, claimed); err != nil {
				return 0, fmt.Errorf("buffer %d: %w", i, err)
			}
		}
		total += claimed
		if total > maxBody {
			return 0, errBatchLimit("compressed buffers of one message decode to at least", total, maxBody)
		}
	}
	if codec < 0 {
		return bodyLen, nil
	}
	return total, nil
}

// checkVariadic checks the vcount variadic buffer counts at vstart in rb
// against the count buffers the record batch lists: arrow-go sizes a
// slice by each count before reading the buffers, so a count above them
// cannot be true.
func checkVariadic(rb fbTable, vstart, vcount, count int) error {
	var variadic int64
	for i := range vcount {
		v := int64(binary.LittleEndian.Uint64(rb.buf[vstart+8*i:]))
		if v < 0 || v > int64(count)-variadic {
			return errIPC("variadic buffer count %d of %d is more than the %d buffers the record batch lists", i, v, count)
		}
		variadic += v
	}
	return nil
}

// codec returns the compression codec of the record batch rb, -1 for none,
// and records its name in lay.
func (lay *ipcLayout) codec(rb fbTable) (int, error) {
	if !rb.has(slotBatchCompress) {
		return -1, nil
	}
	comp, err := rb.table(slotBatchCompress)
	if err != nil {
		return 0, err
	}
	c, err := comp.u8(0)
	if err != nil {
		return 0, err
	}
	switch c {
	case codecLZ4Frame:
		lay.compression = "lz4"
	case codecZstd:
		lay.compression = "zstd"
	default:
		return 0, errIPC("unknown compression codec %d", c)
	}
	return int(c), nil
}

// plausible checks a compressed buffer's declared uncompressed length
// against the content size its frame header records, or else against the
// codec's largest possible ratio.
func plausible(codec int, frame []byte, compressed, claimed int64) error {
	ratio := int64(zstdMaxRatio)
	var fcs int64 = -1
	switch codec {
	case codecZstd:
		fcs = zstdContentSize(frame)
	case codecLZ4Frame:
		ratio = lz4MaxRatio
		fcs = lz4ContentSize(frame)
	}
	if codec == codecZstd {
		// A streaming zstd decoder (arrow-go's) allocates the window a
		// frame declares, whatever it holds: a window larger than the
		// content serves no purpose, and writers size it to the content.
		if w := zstdWindow(frame); w > max(zstdMinWindow, 2*claimed) {
			return fmt.Errorf("%w: zstd frame of %d uncompressed bytes declares a window of %d bytes", ErrLimit, claimed, w)
		}
	}
	if fcs >= 0 && claimed == fcs {
		return nil
	}
	if claimed > compressed*ratio+ratioSlack {
		return fmt.Errorf("%w: %d compressed bytes declare %d uncompressed bytes, more than the codec can produce", ErrLimit, compressed, claimed)
	}
	return nil
}

// zstdContentSize returns the Frame_Content_Size of a zstd frame header, or
// -1 when absent or not a zstd frame.
func zstdContentSize(b []byte) int64 {
	if len(b) < 5 || binary.LittleEndian.Uint32(b) != 0xFD2FB528 {
		return -1
	}
	fhd := b[4]
	single := fhd>>5&1 == 1
	p := 5
	if !single {
		p++ // window descriptor
	}
	p += [4]int{0, 1, 2, 4}[fhd&3]
	size := [4]int{0, 2, 4, 8}[fhd>>6]
	if size == 0 && single {
		size = 1
	}
	if size == 0 || p+size > len(b) {
		return -1
	}
	switch size {
	case 1:
		return int64(b[p])
	case 2:
		return int64(binary.LittleEndian.Uint16(b[p:])) + 256
	case 4:
		return int64(binary.LittleEndian.Uint32(b[p:]))
	}
	v := binary.LittleEndian.Uint64(b[p:])
	if v > 1<<62 {
		return -1
	}
	return int64(v)
}

// zstdMinWindow is the window every zstd decoder is expected to support
// (RFC 8878): a frame may always declare up to this much.
const zstdMinWindow = 8 << 20

// zstdWindow returns the window size a zstd frame header declares (for a
// single-segment frame, its content size), or -1 when b does not start
// with a zstd frame.
func zstdWindow(b []byte) int64 {
	if len(b) < 6 || binary.LittleEndian.Uint32(b) != 0xFD2FB528 {
		return -1
	}
	if b[4]>>5&1 == 1 { // single segment: the window is the content
		return zstdContentSize(b)
	}
	exp, mantissa := int64(b[5]>>3), int64(b[5]&7)
	base := int64(1) << (10 + exp)
	return base + base/8*mantissa
}

// lz4ContentSize returns the content size of an LZ4 frame header, or -1.
func lz4ContentSize(b []byte) int64 {
	if len(b) < 14 || binary.LittleEndian.Uint32(b) != 0x184D2204 || b[4]&0x08 == 0 {
		return -1
	}
	v := binary.LittleEndian.Uint64(b[6:])
	if v > 1<<62 {
		return -1
	}
	return int64(v)
}

// scanIPCFile walks the footer of an Arrow IPC file and the blocks it
// lists.
func scanIPCFile(r io.ReaderAt, size, maxBody int64) (*ipcLayout, error) {
	lay := &ipcLayout{file: true}
	if size < 8+10 {
		return nil, errIPC("file of %d bytes is too small", size)
	}
	var tail [10]byte
	if _, err := r.ReadAt(tail[:], size-10); err != nil {
		return nil, errIPC("reading footer: %v", err)
	}
	if string(tail[4:]) != ipcMagic {
		return nil, errIPC("file does not end with the %s magic", ipcMagic)
	}
	flen := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
	if flen <= 0 || flen > ipcMaxMetadata || flen > size-10-8 {
		return nil, errIPC("footer length %d does not fit the file of %d bytes", flen, size)
	}
	footer := make([]byte, flen)
	if _, err := r.ReadAt(footer, size-10-flen); err != nil {
		return nil, errIPC("reading footer: %v", err)
	}
	ft, err := fbRoot(footer)
	if err != nil {
		return nil, fmt.Errorf("footer: %w", err)
	}
	w := newFBWalk(footer)
	if ft.has(slotFooterSchema) {
		schema, err := ft.table(slotFooterSchema)
		if err != nil {
			return nil, fmt.Errorf("footer schema: %w", err)
		}
		if err := w.schema(schema); err != nil {
			return nil, fmt.Errorf("footer: %w", err)
		}
		lay.views = w.views
	}
	if err := w.keyValues(ft, slotFooterMetadata); err != nil {
		return nil, fmt.Errorf("footer metadata: %w", err)
	}
	for _, slot := range []int{slotFooterDicts, slotFooterBatches} {
		kind := "record batch"
		if slot == slotFooterDicts {
			kind = "dictionary"
		}
		start, count, err := ft.vector(slot, 24, "footer "+kind+" blocks")
		if err != nil {
			return nil, fmt.Errorf("footer: %w", err)
		}
		for i := range count {
			p := start + i*24
			off := int64(binary.LittleEndian.Uint64(footer[p:]))
			metaLen := int64(int32(binary.LittleEndian.Uint32(footer[p+8:])))
			body := int64(binary.LittleEndian.Uint64(footer[p+16:]))
			if off < 0 || metaLen <= 0 || metaLen > ipcMaxMetadata || off > size || metaLen > size-off || body < 0 {
				return nil, errIPC("%s block %d (offset %d, metadata %d) lies outside the file", kind, i, off, metaLen)
			}
			meta := make([]byte, metaLen)
			if _, err := r.ReadAt(meta, off); err != nil {
				return nil, errIPC("reading %s block %d: %v", kind, i, err)
			}
			// As arrow-go does: skip the continuation marker and length.
			switch {
			case len(meta) >= 8 && binary.LittleEndian.Uint32(meta) == 0xFFFFFFFF:
				meta = meta[8:]
			case len(meta) >= 4:
				meta = meta[4:]
			default:
				return nil, errIPC("%s block %d metadata too short", kind, i)
			}
			if _, err := lay.checkMessage(r, meta, off+metaLen, body, size, maxBody); err != nil {
				return nil, fmt.Errorf("%s block %d: %w", kind, i, err)
			}
		}
	}
	return lay, nil
}

// fbTable is a flatbuffer table inside buf, read with bounds checks.
type fbTable struct {
	buf        []byte
	pos        int
	vt, vtSize int
}

var errFlatbuffer = errIPC("malformed flatbuffer metadata")

func fbRoot(buf []byte) (fbTable, error) {
	if len(buf) < 4 {
		return fbTable{}, errFlatbuffer
	}
	return fbAt(buf, int64(binary.LittleEndian.Uint32(buf)))
}

func fbAt(buf []byte, pos int64) (fbTable, error) {
	if pos < 0 || pos+4 > int64(len(buf)) {
		return fbTable{}, errFlatbuffer
	}
	vt := pos - int64(int32(binary.LittleEndian.Uint32(buf[pos:])))
	if vt < 0 || vt+4 > int64(len(buf)) {
		return fbTable{}, errFlatbuffer
	}
	vtSize := int64(binary.LittleEndian.Uint16(buf[vt:]))
	if vtSize < 4 || vt+vtSize > int64(len(buf)) {
		return fbTable{}, errFlatbuffer
	}
	return fbTable{buf: buf, pos: int(pos), vt: int(vt), vtSize: int(vtSize)}, nil
}

// field returns the position of slot's value, or 0 when absent.
func (t fbTable) field(slot int) int {
	o := 4 + 2*slot
	if o+2 > t.vtSize {
		return 0
	}
	f := int(binary.LittleEndian.Uint16(t.buf[t.vt+o:]))
	if f == 0 {
		return 0
	}
	return t.pos + f
}

func (t fbTable) has(slot int) bool { return t.field(slot) != 0 }

func (t fbTable) u8(slot int) (uint8, error) {
	p := t.field(slot)
	if p == 0 {
		return 0, nil
	}
	if p+1 > len(t.buf) {
		return 0, errFlatbuffer
	}
	return t.buf[p], nil
}

func (t fbTable) i64(slot int) (int64, error) {
	p := t.field(slot)
	if p == 0 {
		return 0, nil
	}
	if p+8 > len(t.buf) {
		return 0, errFlatbuffer
	}
	return int64(binary.LittleEndian.Uint64(t.buf[p:])), nil
}

// indirect returns the position that the offset stored at p points to.
func (t fbTable) indirect(p int) (int64, error) {
	if p+4 > len(t.buf) {
		return 0, errFlatbuffer
	}
	return int64(p) + int64(binary.LittleEndian.Uint32(t.buf[p:])), nil
}

func (t fbTable) table(slot int) (fbTable, error) {
	p := t.field(slot)
	if p == 0 {
		return fbTable{}, errors.Join(errFlatbuffer, fmt.Errorf("missing table field %d", slot))
	}
	v, err := t.indirect(p)
	if err != nil {
		return fbTable{}, err
	}
	return fbAt(t.buf, v)
}

// vector returns the start and length of slot's vector of elem-byte
// elements (structs, scalars or offsets); an absent vector is empty. A
// length whose elements do not fit in the bytes after it is an error naming
// what, the vector.
func (t fbTable) vector(slot, elem int, what string) (int, int, error) {
	p := t.field(slot)
	if p == 0 {
		return 0, 0, nil
	}
	v, err := t.indirect(p)
	if err != nil {
		return 0, 0, err
	}
	if v+4 > int64(len(t.buf)) {
		return 0, 0, errFlatbuffer
	}
	n := int64(binary.LittleEndian.Uint32(t.buf[v:]))
	start := v + 4
	if n > (int64(len(t.buf))-start)/int64(elem) {
		return 0, 0, errIPC("%s: the vector claims %d entries of %d bytes; the metadata holds %d bytes after it", what, n, elem, int64(len(t.buf))-start)
	}
	return int(start), int(n), nil
}

// elem returns the table that entry i of the vector of offsets at start
// points to.
func (t fbTable) elem(start, i int) (fbTable, error) {
	v, err := t.indirect(start + 4*i)
	if err != nil {
		return fbTable{}, err
	}
	return fbAt(t.buf, v)
}

// Limits of what arrow-go builds from one flatbuffer. It allocates a slice
// per declared vector length before reading the entries, and copies every
// string it reads; a flatbuffer may point many entries at one table or
// string, so a count that fits the bytes can still stand for far more
// decoded data than the metadata holds. Every field, entry and string is
// counted each time it is reached: a metadata buffer written by an Arrow
// library reaches each once, so in well-formed metadata the strings add up
// to less than its size, and each field or key-value entry takes at least 8
// bytes of it (its offset in a vector and its table's own offset).
const (
	ipcMaxFieldDepth = 64
	ipcMaxFields     = 1 << 16
	ipcMaxKeyValues  = 1 << 16
	ipcMaxUnionTypes = 128
)

// fbWalk checks the tables of one flatbuffer that arrow-go decodes,
// counting what it would build.
type fbWalk struct {
	buf      []byte
	views    int // view-typed fields not dictionary-encoded
	fields   int
	kvs      int
	strBytes int64
}

func newFBWalk(buf []byte) *fbWalk { return &fbWalk{buf: buf} }

// str checks slot's string of t, if any, and counts its bytes.
func (w *fbWalk) str(t fbTable, slot int, what string) error {
	_, n, err := t.vector(slot, 1, what)
	if err != nil {
		return err
	}
	w.strBytes += int64(n)
	if w.strBytes > int64(len(w.buf)) {
		return errIPC("%s: the metadata's strings add up to more than its %d bytes", what, len(w.buf))
	}
	return nil
}

// keyValues checks slot's vector of KeyValue tables of t, if any.
func (w *fbWalk) keyValues(t fbTable, slot int) error {
	start, n, err := t.vector(slot, 4, "custom_metadata")
	if err != nil {
		return err
	}
	w.kvs += n
	if w.kvs > ipcMaxKeyValues || 8*w.kvs > len(w.buf) {
		return errIPC("custom_metadata: %d key-value entries, more than the metadata of %d bytes holds (each takes at least 8 bytes), or than %d", w.kvs, len(w.buf), ipcMaxKeyValues)
	}
	for i := range n {
		kv, err := t.elem(start, i)
		if err != nil {
			return err
		}
		if err := w.str(kv, slotKeyValueKey, "custom_metadata key"); err != nil {
			return err
		}
		if err := w.str(kv, slotKeyValueValue, "custom_metadata value"); err != nil {
			return err
		}
	}
	return nil
}

// schema checks a Schema table: its fields (recursively), its key-value
// metadata and its features.
func (w *fbWalk) schema(s fbTable) error {
	if err := w.fieldList(s, slotSchemaFields, 0); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if err := w.keyValues(s, slotSchemaMetadata); err != nil {
		return fmt.Errorf("schema: %w", err)
	}
	if _, _, err := s.vector(slotSchemaFeatures, 8, "schema features"); err != nil {
		return err
	}
	return nil
}

// fieldList checks slot's vector of Field tables of t.
func (w *fbWalk) fieldList(t fbTable, slot, depth int) error {
	if depth > ipcMaxFieldDepth {
		return errIPC("fields nest more than %d deep", ipcMaxFieldDepth)
	}
	start, n, err := t.vector(slot, 4, "field list")
	if err != nil {
		return err
	}
	w.fields += n
	if w.fields > ipcMaxFields || 8*w.fields > len(w.buf) {
		return errIPC("%d fields, more than the metadata of %d bytes holds (each takes at least 8 bytes), or than %d", w.fields, len(w.buf), ipcMaxFields)
	}
	for i := range n {
		f, err := t.elem(start, i)
		if err != nil {
			return errIPC("field %d: malformed table", i)
		}
		if err := w.field(f, depth); err != nil {
			return fmt.Errorf("field %d: %w", i, err)
		}
	}
	return nil
}

// field checks a Field table: name, type, dictionary encoding, children and
// key-value metadata.
func (w *fbWalk) field(f fbTable, depth int) error {
	if err := w.str(f, slotFieldName, "name"); err != nil {
		return err
	}
	tt, err := f.u8(slotFieldTypeType)
	if err != nil {
		return err
	}
	if (tt == typeBinaryView || tt == typeUtf8View) && !f.has(slotFieldDictionary) {
		w.views++
	}
	if f.has(slotFieldType) {
		typ, err := f.table(slotFieldType)
		if err != nil {
			return err
		}
		switch tt {
		case typeTimestamp:
			if err := w.str(typ, 1, "timestamp time zone"); err != nil {
				return err
			}
		case typeUnion:
			_, n, err := typ.vector(1, 4, "union type ids")
			if err != nil {
				return err
			}
			if n > ipcMaxUnionTypes {
				return errIPC("union declares %d type ids, more than %d", n, ipcMaxUnionTypes)
			}
		}
	}
	if f.has(slotFieldDictionary) {
		dict, err := f.table(slotFieldDictionary)
		if err != nil {
			return err
		}
		if dict.has(1) { // indexType
			if _, err := dict.table(1); err != nil {
				return err
			}
		}
	}
	if err := w.fieldList(f, slotFieldChildren, depth+1); err != nil {
		return err
	}
	return w.keyValues(f, slotFieldMetadata)
}
