package image

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// exifJPEG is an SOI, an APP1 Exif segment whose IFD0 holds tag with the
// given type, count and value, and an SOS.
func exifJPEG(bo binary.AppendByteOrder, mark string, tag, typ uint16, count uint32, val uint16) []byte {
	t := []byte(mark)
	t = bo.AppendUint16(t, 42)
	t = bo.AppendUint32(t, 8)
	t = bo.AppendUint16(t, 1)
	t = bo.AppendUint16(t, tag)
	t = bo.AppendUint16(t, typ)
	t = bo.AppendUint32(t, count)
	t = bo.AppendUint16(t, val)
	t = append(t, 0, 0, 0, 0, 0, 0)
	seg := append([]byte("Exif\x00\x00"), t...)
	b := []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 'J', 'F'} // an APP0 to skip first
	b = append(b, 0xFF, 0xE1)
	b = binary.BigEndian.AppendUint16(b, uint16(len(seg)+2))
	b = append(b, seg...)
	return append(b, 0xFF, 0xDA, 0, 2)
}

// TestJPEGOrientation: the tag is read in both byte orders; anything
// malformed or absent is orientation 1.
func TestJPEGOrientation(t *testing.T) {
	le, be := binary.LittleEndian, binary.BigEndian
	ok := exifJPEG(be, "MM", 0x0112, 3, 1, 6)
	cases := []struct {
		name string
		b    []byte
		want int
	}{
		{"big endian", ok, 6},
		{"little endian", exifJPEG(le, "II", 0x0112, 3, 1, 8), 8},
		{"other tag", exifJPEG(le, "II", 0x0110, 3, 1, 8), 1},
		{"out of range", exifJPEG(le, "II", 0x0112, 3, 1, 9), 1},
		{"wrong type", exifJPEG(le, "II", 0x0112, 4, 1, 6), 1},
		{"bad byte order mark", exifJPEG(le, "XX", 0x0112, 3, 1, 6), 1},
		{"truncated segment", ok[:len(ok)-12], 1},
		{"not a jpeg", []byte("GIF89a"), 1},
		{"empty", nil, 1},
		{"exif after sos", append([]byte{0xFF, 0xD8, 0xFF, 0xDA, 0, 2}, ok[2:]...), 1},
		{"segment length 0", []byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 0, 0, 0}, 1},
	}
	for _, c := range cases {
		if got := jpegOrientation(c.b); got != c.want {
			t.Errorf("%s: orientation %d, want %d", c.name, got, c.want)
		}
	}
}

// TestOrient: every orientation maps a 3x2 image's corners as Pillow's
// exif_transpose does.
func TestOrient(t *testing.T) {
	// pixels numbered 1..6 row by row; each pixel's R is its number
	src := make([]byte, 0, 18)
	for v := range byte(6) {
		src = append(src, v+1, 0, 0)
	}
	want := map[int]struct {
		w, h int
		px   []byte
	}{
		1: {3, 2, []byte{1, 2, 3, 4, 5, 6}},
		2: {3, 2, []byte{3, 2, 1, 6, 5, 4}},
		3: {3, 2, []byte{6, 5, 4, 3, 2, 1}},
		4: {3, 2, []byte{4, 5, 6, 1, 2, 3}},
		5: {2, 3, []byte{1, 4, 2, 5, 3, 6}},
		6: {2, 3, []byte{4, 1, 5, 2, 6, 3}},
		7: {2, 3, []byte{6, 3, 5, 2, 4, 1}},
		8: {2, 3, []byte{3, 6, 2, 5, 1, 4}},
	}
	for o, w := range want {
		out, ow, oh := orient(src, 3, 2, o)
		var px []byte
		for i := 0; i < len(out); i += 3 {
			px = append(px, out[i])
		}
		if ow != w.w || oh != w.h || !bytes.Equal(px, w.px) {
			t.Errorf("orientation %d: %dx%d %v, want %dx%d %v", o, ow, oh, px, w.w, w.h, w.px)
		}
	}
}
