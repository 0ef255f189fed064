package source

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// This file walks the framing and flatbuffer metadata of an Arrow IPC file
// or stream without arrow-go, to count rows and to reject compressed buffers
// whose declared uncompressed length cannot be true before arrow-go
// allocates it (arrow/ipc trusts the 8-byte prefix of each compressed
// buffer; a prefix of 2^36 makes the Go runtime abort, which recover cannot
// catch).

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
// Arrow's Message.fbs.
const (
	msgSchema          = 1
	msgDictionaryBatch = 2
	msgRecordBatch     = 3
	codecLZ4Frame      = 0
	codecZstd          = 1
)

// ipcLayout is what a walk over an Arrow IPC file learns.
type ipcLayout struct {
	file        bool    // file format (else stream)
	batchRows   []int64 // rows of each record batch, in reading order
	rows        int64
	compression string // "lz4", "zstd" or ""
}

// errIPC is a malformed-framing error from the walk.
func errIPC(format string, args ...any) error {
	return fmt.Errorf("%w: arrow ipc: %s", ErrCorruptInput, fmt.Sprintf(format, args...))
}

// scanIPC walks the Arrow IPC file or stream in r (size bytes): every
// record batch and dictionary message that arrow-go would read, checking
// that each body lies inside the file and is at most maxBody bytes, and that
// each compressed buffer's declared uncompressed length is plausible and the
// lengths of one message sum to at most maxBody.
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
	htype, err := msg.u8(1)
	if err != nil {
		return 0, err
	}
	bodyLen, err := msg.i64(3)
	if err != nil {
		return 0, err
	}
	if htype == msgSchema {
		schema, err := msg.table(2)
		if err != nil {
			return 0, fmt.Errorf("schema message: %w", err)
		}
		if err := checkSchema(schema); err != nil {
			return 0, err
		}
	}
	if blockBody >= 0 {
		bodyLen = blockBody
	}
	if bodyLen < 0 || bodyLen > size-bodyStart {
		return 0, errIPC("message body of %d bytes at byte %d runs past the end of the file (%d bytes)", bodyLen, bodyStart, size)
	}
	if bodyLen > maxBody {
		return 0, fmt.Errorf("%w: message body of %d bytes is larger than max_batch_bytes (%d)", ErrLimit, bodyLen, maxBody)
	}
	var rb fbTable
	switch htype {
	case msgRecordBatch:
		if rb, err = msg.table(2); err != nil {
			return 0, err
		}
	case msgDictionaryBatch:
		db, err := msg.table(2)
		if err != nil {
			return 0, err
		}
		if rb, err = db.table(1); err != nil {
			return 0, err
		}
	default:
		return bodyLen, nil
	}
	rows, err := rb.i64(0)
	if err != nil {
		return 0, err
	}
	if rows < 0 {
		return 0, errIPC("record batch declares %d rows", rows)
	}
	if err := lay.checkBuffers(r, rb, bodyStart, bodyLen, maxBody); err != nil {
		return 0, err
	}
	if htype == msgRecordBatch {
		lay.batchRows = append(lay.batchRows, rows)
		lay.rows += rows
	}
	return bodyLen, nil
}

// checkBuffers checks the buffers of a RecordBatch table whose body is
// [bodyStart, bodyStart+bodyLen).
func (lay *ipcLayout) checkBuffers(r io.ReaderAt, rb fbTable, bodyStart, bodyLen, maxBody int64) error {
	start, count, err := rb.vector(2, 16)
	if err != nil {
		return err
	}
	codec := -1
	if rb.has(3) {
		comp, err := rb.table(3)
		if err != nil {
			return err
		}
		c, err := comp.u8(0)
		if err != nil {
			return err
		}
		switch c {
		case codecLZ4Frame:
			lay.compression = "lz4"
		case codecZstd:
			lay.compression = "zstd"
		default:
			return errIPC("unknown compression codec %d", c)
		}
		codec = int(c)
	}
	var total int64
	var frame [26]byte
	for i := range count {
		p := start + i*16
		boff := int64(binary.LittleEndian.Uint64(rb.buf[p:]))
		blen := int64(binary.LittleEndian.Uint64(rb.buf[p+8:]))
		if boff < 0 || blen < 0 || boff > bodyLen || blen > bodyLen-boff {
			return errIPC("buffer %d (offset %d, length %d) lies outside the message body of %d bytes", i, boff, blen, bodyLen)
		}
		if codec < 0 || blen == 0 {
			continue
		}
		if blen < 8 {
			return errIPC("compressed buffer %d has %d bytes, fewer than its 8-byte length prefix", i, blen)
		}
		n := min(blen, int64(len(frame)))
		if _, err := r.ReadAt(frame[:n], bodyStart+boff); err != nil {
			return errIPC("reading buffer %d: %v", i, err)
		}
		claimed := int64(binary.LittleEndian.Uint64(frame[:8]))
		if claimed == -1 { // stored uncompressed
			continue
		}
		if claimed < 0 {
			return errIPC("compressed buffer %d declares %d uncompressed bytes", i, claimed)
		}
		if err := plausible(codec, frame[8:n], blen-8, claimed); err != nil {
			return fmt.Errorf("buffer %d: %w", i, err)
		}
		total += claimed
		if total > maxBody {
			return fmt.Errorf("%w: compressed buffers of one message declare more than max_batch_bytes (%d) uncompressed", ErrLimit, maxBody)
		}
	}
	return nil
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

// scanIPCFile walks the blocks listed in an Arrow IPC file's footer.
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
	if ft.has(1) {
		schema, err := ft.table(1)
		if err != nil {
			return nil, fmt.Errorf("footer schema: %w", err)
		}
		if err := checkSchema(schema); err != nil {
			return nil, fmt.Errorf("footer: %w", err)
		}
	}
	for _, slot := range []int{2, 3} { // dictionaries, then record batches
		start, count, err := ft.vector(slot, 24)
		if err != nil {
			return nil, fmt.Errorf("footer: %w", err)
		}
		for i := range count {
			p := start + i*24
			off := int64(binary.LittleEndian.Uint64(footer[p:]))
			metaLen := int64(int32(binary.LittleEndian.Uint32(footer[p+8:])))
			body := int64(binary.LittleEndian.Uint64(footer[p+16:]))
			if off < 0 || metaLen <= 0 || metaLen > ipcMaxMetadata || off > size || metaLen > size-off || body < 0 {
				return nil, errIPC("block %d (offset %d, metadata %d) lies outside the file", i, off, metaLen)
			}
			meta := make([]byte, metaLen)
			if _, err := r.ReadAt(meta, off); err != nil {
				return nil, errIPC("reading block %d: %v", i, err)
			}
			// As arrow-go does: skip the continuation marker and length.
			switch {
			case len(meta) >= 8 && binary.LittleEndian.Uint32(meta) == 0xFFFFFFFF:
				meta = meta[8:]
			case len(meta) >= 4:
				meta = meta[4:]
			default:
				return nil, errIPC("block %d metadata too short", i)
			}
			if _, err := lay.checkMessage(r, meta, off+metaLen, body, size, maxBody); err != nil {
				kind := "record batch"
				if slot == 2 {
					kind = "dictionary"
				}
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

func (t fbTable) table(slot int) (fbTable, error) {
	p := t.field(slot)
	if p == 0 {
		return fbTable{}, errors.Join(errFlatbuffer, fmt.Errorf("missing table field %d", slot))
	}
	if p+4 > len(t.buf) {
		return fbTable{}, errFlatbuffer
	}
	return fbAt(t.buf, int64(p)+int64(binary.LittleEndian.Uint32(t.buf[p:])))
}

// vector returns the start and length of a vector of elem-byte structs; an
// absent vector is empty.
func (t fbTable) vector(slot, elem int) (int, int, error) {
	p := t.field(slot)
	if p == 0 {
		return 0, 0, nil
	}
	if p+4 > len(t.buf) {
		return 0, 0, errFlatbuffer
	}
	v := int64(p) + int64(binary.LittleEndian.Uint32(t.buf[p:]))
	if v+4 > int64(len(t.buf)) {
		return 0, 0, errFlatbuffer
	}
	n := int64(binary.LittleEndian.Uint32(t.buf[v:]))
	start := v + 4
	if n > (int64(len(t.buf))-start)/int64(elem) {
		return 0, 0, errFlatbuffer
	}
	return int(start), int(n), nil
}

// Limits of a schema's field tree: arrow-go allocates a slice per declared
// child count before reading the children, so a corrupt count (a fuzzed
// footer claimed 2^32 children) must be caught here; well-formed counts are
// bounded by the metadata's own size.
const (
	ipcMaxFieldDepth = 64
	ipcMaxFields     = 1 << 16
)

// checkSchema walks a Schema table's fields (slot 1) and their children,
// checking that every vector of fields fits in the metadata, and bounding
// the depth and the number of fields.
func checkSchema(schema fbTable) error {
	total := 0
	var walk func(t fbTable, slot, depth int) error
	walk = func(t fbTable, slot, depth int) error {
		if depth > ipcMaxFieldDepth {
			return errIPC("schema nests fields more than %d deep", ipcMaxFieldDepth)
		}
		start, n, err := t.vector(slot, 4)
		if err != nil {
			return errIPC("schema: a field list claims more entries than the metadata holds")
		}
		total += n
		if total > ipcMaxFields {
			return errIPC("schema has more than %d fields", ipcMaxFields)
		}
		for i := range n {
			p := start + 4*i
			child, err := fbAt(t.buf, int64(p)+int64(binary.LittleEndian.Uint32(t.buf[p:])))
			if err != nil {
				return errIPC("schema: malformed field")
			}
			if err := walk(child, 5, depth+1); err != nil { // Field.children
				return err
			}
		}
		return nil
	}
	return walk(schema, 1, 0) // Schema.fields
}
