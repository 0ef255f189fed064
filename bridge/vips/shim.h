// shim.h declares the only C code package vips calls: it opens the libvips
// library with dlopen, resolves the few functions pipe uses with dlsym, and
// wraps them. No libvips header is needed: the handful of types and enum
// values the shim passes are restated in shim.c. Errors are malloc'd
// strings that the caller frees with free; the shim keeps no pointer it was
// given after a call returns.
#ifndef PIPE_VIPS_SHIM_H
#define PIPE_VIPS_SHIM_H

#include <stddef.h>

// pipe_vips_load opens path (a file path, or a bare name for the system
// search), resolves the functions, and initialises libvips for pipe's use:
// one thread per image (pipe runs images in parallel itself), no operation
// cache, warnings not printed. It returns 0 on success; otherwise *err is a
// malloc'd reason. Once a library is loaded, later calls return 0.
int pipe_vips_load(const char* path, char** err);

// pipe_vips_version is the loaded library's version, "8.18.7".
const char* pipe_vips_version(void);

// pipe_vips_pixels is a decoded image: 8-bit samples, bands per pixel,
// rows packed, in memory that pipe_vips_take copies out and frees.
typedef struct {
  void* pix;
  size_t size;
  int width, height, bands;
  int interpretation;  // VipsInterpretation: 22 sRGB, 1 B_W, 15 CMYK
} pipe_vips_pixels;

// pipe_vips_jpeg decodes the JPEG in buf at 1/shrink scale (1, 2, 4 or 8:
// libjpeg's DCT scaling), failing on truncated or invalid data. It reads
// buf only during the call. On success it returns 0 and fills *out;
// otherwise *err is a malloc'd reason.
int pipe_vips_jpeg(const void* buf, size_t len, int shrink, pipe_vips_pixels* out, char** err);

// pipe_vips_take copies out's samples to dst (out->size bytes) and frees
// them; dst NULL only frees.
void pipe_vips_take(pipe_vips_pixels* out, void* dst);

// pipe_vips_live is the number of decoded buffers not yet taken (a test
// hook for leaks).
long pipe_vips_live(void);

#endif
