/* shim.h: plain C interface of the Metal shim (shim_darwin.m). No
   Objective-C types: cgo parses this header with a C compiler. */
#ifndef PIPE_METAL_SHIM_H
#define PIPE_METAL_SHIM_H
#include <stdint.h>

typedef struct ab_metal ab_metal; /* opaque: device, queue, pipelines */

enum {
  AB_DOM_NONE = 0, AB_DOM_COREML = 1, AB_DOM_MTLCMDBUF = 2, AB_DOM_COCOA = 3, AB_DOM_POSIX = 4,
  AB_DOM_EXCEPTION = 5, AB_DOM_TIMEOUT = 6, AB_DOM_UNAVAILABLE = 7, AB_DOM_OTHER = 8
};
typedef struct {
  int32_t domain;
  int64_t code;
  char message[512];
} ab_error;

/* ab_metal_open picks the default Metal device (or the first of
   MTLCopyAllDevices), compiles source and builds the pipeline of the named
   kernel function. NULL with err set on failure. */
ab_metal *ab_metal_open(const char *source, const char *function, ab_error *err);

/* ab_metal_run runs the kernel (0 normalize, 1 matmul, 2 softmax, 3 topk)
   on x [n, k] (and w [k, m] for matmul), writing y ([n, k], [n, m] or topk
   values [n, topk]) and, for topk, idx [n, topk]. Inputs are copied into
   shared buffers and outputs copied back, so all pointers are borrowed for
   the call only. Waits at most timeout_s. Returns 0 or -1 with err set. */
int32_t ab_metal_run(ab_metal *m, int32_t kernel, const float *x, const float *w, uint32_t n,
                     uint32_t k, uint32_t mcols, uint32_t topk, float *y, int32_t *idx,
                     double timeout_s, ab_error *err);

void ab_metal_release(ab_metal *m);

#endif
