package vips

import "errors"

// Errors of the package. A failed load wraps [ErrUnavailable]; a failed
// decode is a [*DecodeError], which wraps [ErrDecode].
var (
	ErrUnavailable = errors.New("libvips unavailable")
	ErrDecode      = errors.New("libvips cannot decode the image")
	// ErrShrink is an argument error: shrink must be 1, 2, 4 or 8.
	ErrShrink = errors.New("shrink must be 1, 2, 4 or 8")
)

// DecodeError is libvips' reason for refusing an image.
type DecodeError struct {
	Msg string // libvips' message, such as "jpegload: ... Premature end of JPEG file"
}

func (e *DecodeError) Error() string { return "libvips: " + e.Msg }

// Unwrap returns [ErrDecode].
func (e *DecodeError) Unwrap() error { return ErrDecode }

// Image is a decoded image: Width x Height pixels of Bands 8-bit samples
// each, rows packed without padding.
type Image struct {
	Pix           []byte
	Width, Height int
	// Bands is 1 (grey), 3 (RGB) or 4 (CMYK, 0 = no ink, as Go's
	// image.CMYK; an Adobe JPEG's inverted samples are turned back by
	// libvips).
	Bands int
	// CMYK is true when the four bands are ink, not RGB with alpha.
	CMYK bool
}

func checkShrink(shrink int) error {
	switch shrink {
	case 1, 2, 4, 8:
		return nil
	}
	return ErrShrink
}
