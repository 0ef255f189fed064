//go:build cgo

package vips

/*
#cgo CFLAGS: -O2
#cgo linux LDFLAGS: -ldl
#include <stdlib.h>
#include "shim.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/pipe-ml/pipe/internal/nativelib"
)

var (
	loadOnce sync.Once
	loadPath string
	loadErr  error
)

// Load loads and initialises libvips on first use and returns nil, or the
// reason it could not (which wraps [ErrUnavailable] and lists every path
// tried), afterwards.
func Load() error {
	loadOnce.Do(func() { loadPath, loadErr = findLibrary(candidates(), dlopenLibrary) })
	return loadErr
}

// LibraryPath loads libvips if needed and returns the path (or, for a
// library found on the system search path, the name) it was loaded from.
func LibraryPath() (string, error) {
	if err := Load(); err != nil {
		return "", err
	}
	return loadPath, nil
}

// LibraryVersion loads libvips if needed and returns its version, such as
// "8.18.7".
func LibraryVersion() (string, error) {
	if err := Load(); err != nil {
		return "", err
	}
	return C.GoString(C.pipe_vips_version()), nil
}

// LiveBuffers is a test hook: the decoded buffers that libvips allocated
// and that have not been copied out and freed yet.
func LiveBuffers() int64 { return int64(C.pipe_vips_live()) }

// DecodeJPEG decodes the JPEG b at 1/shrink of its size (1, 2, 4 or 8,
// each side divided by shrink and rounded down;
// libjpeg scales in the DCT domain, so a smaller scale does less work)
// and returns its samples in Go memory. Truncated or invalid data is a
// [*DecodeError]. b is read only during the call. The image is not
// rotated: EXIF orientation is the caller's.
func DecodeJPEG(b []byte, shrink int) (Image, error) {
	if err := checkShrink(shrink); err != nil {
		return Image{}, err
	}
	if err := Load(); err != nil {
		return Image{}, err
	}
	if len(b) == 0 {
		return Image{}, &DecodeError{Msg: "empty buffer"}
	}
	var px C.pipe_vips_pixels
	var why *C.char
	if C.pipe_vips_jpeg(unsafe.Pointer(unsafe.SliceData(b)), C.size_t(len(b)), C.int(shrink), &px, &why) != 0 {
		defer C.free(unsafe.Pointer(why))
		return Image{}, &DecodeError{Msg: C.GoString(why)}
	}
	img := Image{Width: int(px.width), Height: int(px.height), Bands: int(px.bands), CMYK: px.interpretation == 15}
	if img.Bands != 1 && img.Bands != 3 && img.Bands != 4 {
		C.pipe_vips_take(&px, nil)
		return Image{}, &DecodeError{Msg: fmt.Sprintf("decoded %d bands, want 1, 3 or 4", img.Bands)}
	}
	img.Pix = make([]byte, int(px.size))
	C.pipe_vips_take(&px, unsafe.Pointer(unsafe.SliceData(img.Pix)))
	return img, nil
}

// candidate is one place to look for the library.
type candidate = nativelib.Candidate

// candidates lists where to look, in order: $PIPE_VIPS_LIB, the user cache
// that scripts/install-vips.sh fills, then the system library search.
func candidates() []candidate {
	return nativelib.Candidates(EnvLib, "libvips", Version, []string{cacheName()}, systemNames())
}

// cacheName is the file the installer writes: sharp's build of libvips.
func cacheName() string {
	if runtime.GOOS == "darwin" {
		return "libvips-cpp." + Version + ".dylib"
	}
	return "libvips-cpp.so." + Version
}

// systemNames are the usual names of a distribution's libvips.
func systemNames() []string {
	if runtime.GOOS == "darwin" {
		return []string{"libvips.42.dylib"}
	}
	return []string{"libvips.so.42"}
}

// findLibrary tries each candidate with load and returns the first that
// loads. When none does, the error lists every candidate with its reason
// and says how to install the library.
func findLibrary(cands []candidate, load func(string) error) (string, error) {
	path, tried := nativelib.Find(cands, load)
	if path != "" {
		return path, nil
	}
	return "", fmt.Errorf("%w: library not found; tried:\n  %s\ninstall it with scripts/install-vips.sh, or set %s to the path of libvips %s",
		ErrUnavailable, strings.Join(tried, "\n  "), EnvLib, Version)
}

// dlopenLibrary loads the library at path through the shim.
func dlopenLibrary(path string) error {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	var why *C.char
	if C.pipe_vips_load(cpath, &why) != 0 {
		defer C.free(unsafe.Pointer(why))
		return errors.New(C.GoString(why))
	}
	return nil
}
