//go:build cgo

// shim.c: see shim.h.

#include "shim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The libvips and GLib values the shim passes (vips/enumtypes.h, glib).
enum {
  VIPS_FORMAT_UCHAR = 0,
  VIPS_ACCESS_SEQUENTIAL = 1,
  VIPS_FAIL_ON_ERROR = 2,  // fail on invalid data and on truncation
  G_LOG_LEVEL_WARNING = 1 << 4,
  G_LOG_LEVEL_MESSAGE = 1 << 5,
  G_LOG_LEVEL_INFO = 1 << 6,
  G_LOG_LEVEL_DEBUG = 1 << 7,
};

typedef void (*log_func)(const char* domain, int level, const char* msg, void* data);

static struct {
  int (*init)(const char* argv0);
  const char* (*version_string)(void);
  void (*concurrency_set)(int);
  void (*cache_set_max)(int);
  int (*jpegload_buffer)(void* buf, size_t len, void** out, ...);
  void* (*write_to_memory)(void* image, size_t* size);
  int (*get_width)(const void* image);
  int (*get_height)(const void* image);
  int (*get_bands)(const void* image);
  int (*get_format)(const void* image);
  int (*get_interpretation)(const void* image);
  void (*unref)(void* object);
  void (*gfree)(void* mem);
  char* (*error_copy)(void);
  unsigned (*log_set_handler)(const char* domain, int levels, log_func f, void* data);
} fn;

static int loaded;
static long live;

static char* dup_str(const char* s) {
  if (s == NULL) s = "";
  size_t n = strlen(s);
  char* d = malloc(n + 1);
  if (d != NULL) memcpy(d, s, n + 1);
  return d;
}

static void quiet(const char* domain, int level, const char* msg, void* data) {
  (void)domain, (void)level, (void)msg, (void)data;
}

#define SYM(field, name)                                                    \
  do {                                                                      \
    *(void**)(&fn.field) = dlsym(h, name);                                  \
    if (fn.field == NULL) {                                                 \
      snprintf(buf, sizeof buf, "no %s symbol: not a libvips 8.13+ library", \
               name);                                                       \
      goto missing;                                                         \
    }                                                                       \
  } while (0)

int pipe_vips_load(const char* path, char** err) {
  char buf[256];
  if (loaded) return 0;
  dlerror();
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char* why = dlerror();
    *err = dup_str(why != NULL ? why : "dlopen failed");
    return -1;
  }
  SYM(init, "vips_init");
  SYM(version_string, "vips_version_string");
  SYM(concurrency_set, "vips_concurrency_set");
  SYM(cache_set_max, "vips_cache_set_max");
  SYM(jpegload_buffer, "vips_jpegload_buffer");
  SYM(write_to_memory, "vips_image_write_to_memory");
  SYM(get_width, "vips_image_get_width");
  SYM(get_height, "vips_image_get_height");
  SYM(get_bands, "vips_image_get_bands");
  SYM(get_format, "vips_image_get_format");
  SYM(get_interpretation, "vips_image_get_interpretation");
  SYM(unref, "g_object_unref");
  SYM(gfree, "g_free");
  SYM(error_copy, "vips_error_buffer_copy");
  *(void**)(&fn.log_set_handler) = dlsym(h, "g_log_set_handler");  // optional
  if (fn.init("pipe") != 0) {
    char* why = fn.error_copy();
    snprintf(buf, sizeof buf, "vips_init failed: %s", why != NULL ? why : "");
    if (why != NULL) fn.gfree(why);
    goto missing;
  }
  // Bad rows are errors returned to the caller: libvips' own warnings about
  // them would only repeat each on stderr.
  if (fn.log_set_handler != NULL) {
    fn.log_set_handler("VIPS", G_LOG_LEVEL_WARNING | G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG,
                       quiet, NULL);
  }
  fn.concurrency_set(1);
  fn.cache_set_max(0);
  loaded = 1;
  return 0;
missing:
  *err = dup_str(buf);
  memset(&fn, 0, sizeof fn);
  dlclose(h);
  return -1;
}

const char* pipe_vips_version(void) { return loaded ? fn.version_string() : ""; }

// fail sets *err from libvips' error buffer (shared by all threads: a
// message may name another image that failed at the same moment).
static int fail(const char* what, char** err) {
  char* why = fn.error_copy();
  char buf[1024];
  const char* msg = why != NULL && why[0] != 0 ? why : "libvips gave no reason";
  snprintf(buf, sizeof buf, "%s: %s", what, msg);
  size_t n = strlen(buf);
  while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' ')) buf[--n] = 0;
  if (why != NULL) fn.gfree(why);
  *err = dup_str(buf);
  return -1;
}

int pipe_vips_jpeg(const void* buf, size_t len, int shrink, pipe_vips_pixels* out, char** err) {
  memset(out, 0, sizeof *out);
  if (!loaded) {
    *err = dup_str("libvips is not loaded");
    return -1;
  }
  void* img = NULL;
  if (fn.jpegload_buffer((void*)buf, len, &img, "shrink", shrink, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                         VIPS_FAIL_ON_ERROR, NULL) != 0) {
    return fail("jpegload", err);
  }
  if (fn.get_format(img) != VIPS_FORMAT_UCHAR) {
    fn.unref(img);
    *err = dup_str("jpegload: not 8-bit samples");
    return -1;
  }
  out->width = fn.get_width(img);
  out->height = fn.get_height(img);
  out->bands = fn.get_bands(img);
  out->interpretation = fn.get_interpretation(img);
  size_t size = 0;
  void* pix = fn.write_to_memory(img, &size);
  fn.unref(img);
  if (pix == NULL) {
    memset(out, 0, sizeof *out);
    return fail("decode", err);
  }
  if (size != (size_t)out->width * out->height * out->bands) {
    char msg[128];
    snprintf(msg, sizeof msg, "decode: %zu bytes for %dx%d with %d bands", size, out->width, out->height,
             out->bands);
    fn.gfree(pix);
    *err = dup_str(msg);
    memset(out, 0, sizeof *out);
    return -1;
  }
  out->pix = pix;
  out->size = size;
  __atomic_fetch_add(&live, 1, __ATOMIC_SEQ_CST);
  return 0;
}

void pipe_vips_take(pipe_vips_pixels* out, void* dst) {
  if (out->pix == NULL) return;
  if (dst != NULL) memcpy(dst, out->pix, out->size);
  fn.gfree(out->pix);
  out->pix = NULL;
  __atomic_fetch_sub(&live, 1, __ATOMIC_SEQ_CST);
}

long pipe_vips_live(void) { return __atomic_load_n(&live, __ATOMIC_SEQ_CST); }
