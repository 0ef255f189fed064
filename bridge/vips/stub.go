//go:build !cgo

package vips

import (
	"errors"
	"fmt"
)

// errNoCgo is why libvips cannot be loaded in this build.
var errNoCgo = errors.New("pipe was built without cgo (CGO_ENABLED=0), so it cannot load libvips; rebuild with CGO_ENABLED=1 and a C compiler")

// Load fails in a build without cgo.
func Load() error { return fmt.Errorf("%w: %w", ErrUnavailable, errNoCgo) }

// LibraryPath fails in a build without cgo.
func LibraryPath() (string, error) { return "", Load() }

// LibraryVersion fails in a build without cgo.
func LibraryVersion() (string, error) { return "", Load() }

// DecodeJPEG fails in a build without cgo.
func DecodeJPEG([]byte, int) (Image, error) { return Image{}, Load() }

// LiveBuffers is a test hook: decoded buffers not yet copied out. Without
// cgo there are none.
func LiveBuffers() int64 { return 0 }
