// Package vips decodes JPEG images with libvips (and the libjpeg-turbo
// family decoder inside it), loaded at run time: the image stage uses it
// for its speed, and for libjpeg's DCT-domain scaling, which decodes a
// large photo at 1/2, 1/4 or 1/8 of its size for a fraction of the work.
//
// # Loading
//
// Nothing links against libvips: the library is opened with dlopen on the
// first [Load], [DecodeJPEG], [LibraryPath] or [LibraryVersion]. The
// search order is $PIPE_VIPS_LIB, then
// ${XDG_CACHE_HOME:-$HOME/.cache}/pipe/libvips/8.18.7/ (where
// scripts/install-vips.sh puts libvips-cpp.so.8.18.7, or
// libvips-cpp.8.18.7.dylib on macOS, from sharp's @img/sharp-libvips-*
// npm package: one self-contained file with the C API exported), then the
// system library path (libvips.so.42; libvips.42.dylib). When nothing
// loads, the error wraps [ErrUnavailable] and lists every place tried with
// the loader's reason. pipe pins [Version]; any libvips 8.13 or later that
// exports the functions the shim resolves works.
//
// Loading initialises libvips once per process for pipe's use: each
// decode runs on the calling thread's share of libvips' pool with
// concurrency 1 (pipe decodes several images at once itself), the
// operation cache is off (nothing outlives a call), and libvips' warnings
// are not printed (a failed decode is an error returned to the caller).
//
// # Ownership
//
// DecodeJPEG reads its input only during the call and returns the pixels
// in Go memory; libvips' own buffer is freed before it returns
// ([LiveBuffers] counts those not yet freed, for leak tests).
//
// # Concurrency
//
// All functions are safe for concurrent use. libvips keeps one error
// buffer per process, so the message of a decode that fails while another
// fails may carry both reasons.
//
// # Build
//
// The cgo files carry `//go:build cgo` and link only -ldl. The C shim
// (shim.c, shim.h) is the only code that calls libvips; it restates the
// few enum values it passes instead of including libvips' headers.
// Without cgo, stub.go's functions fail with an error that wraps
// [ErrUnavailable] and says that pipe was built without cgo.
package vips

// Version is the libvips version that scripts/install-vips.sh installs
// (from @img/sharp-libvips-* 1.3.4, the build sharp 0.35.5 uses).
const Version = "8.18.7"

// EnvLib is the environment variable that names the libvips library to
// load before any other place is searched.
const EnvLib = "PIPE_VIPS_LIB"
