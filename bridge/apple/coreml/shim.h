/* shim.h: plain C interface of the Core ML shim (shim_darwin.m).
   No Objective-C types here: cgo parses this header with a C compiler, and
   an id-typed field breaks its struct layout. */
#ifndef PIPE_COREML_SHIM_H
#define PIPE_COREML_SHIM_H
#include <stdint.h>

typedef struct ab_model ab_model; /* opaque: owns a retained MLModel */

/* Error domains; the Go side maps them with apple.Classify. */
enum {
  AB_DOM_NONE = 0, AB_DOM_COREML = 1, AB_DOM_MTLCMDBUF = 2, AB_DOM_COCOA = 3, AB_DOM_POSIX = 4,
  AB_DOM_EXCEPTION = 5, AB_DOM_TIMEOUT = 6, AB_DOM_UNAVAILABLE = 7, AB_DOM_OTHER = 8
};
typedef struct {
  int32_t domain;
  int64_t code;
  char message[512];
} ab_error;

#define AB_MAX_RANK 8

/* An input: the caller's data in row-major order, read only while
   ab_coreml_predict runs. The shim copies the first nbytes bytes of data
   into memory it allocates and hands to the MLMultiArray (whose deallocator
   frees it) and zero-fills the rest of the array (padding rows), so Core ML
   never refers to the caller's memory after the call returns. dtype is an
   MLMultiArrayDataType value; shape and strides count elements. */
typedef struct {
  const char *name;
  const void *data;
  int64_t nbytes;
  int32_t dtype;
  int32_t rank;
  int64_t shape[AB_MAX_RANK];
  int64_t strides[AB_MAX_RANK];
} ab_tensor;

/* An output: data is a malloc'd copy of the multi-array's storage (nbytes
   bytes, laid out by strides), freed by the caller with ab_free. */
typedef struct {
  void *data;
  int64_t nbytes;
  int32_t dtype;
  int32_t rank;
  int64_t shape[AB_MAX_RANK];
  int64_t strides[AB_MAX_RANK];
} ab_output;

/* ab_coreml_compile compiles src (.mlpackage or .mlmodel) with the
   asynchronous API, waiting at most timeout_s seconds, and moves the result
   to dst (a path that must not exist). Returns 0 or -1 with err set. */
int32_t ab_coreml_compile(const char *src, const char *dst, double timeout_s, ab_error *err);

/* ab_coreml_load loads a compiled .mlmodelc with compute units (an
   MLComputeUnits value). flags bit 0: the batch shape is stable (reshape
   frequency hint Infrequent, macOS 14.4+). NULL with err set on failure. */
ab_model *ab_coreml_load(const char *mlmodelc, int32_t units, int32_t flags, ab_error *err);

/* ab_coreml_describe returns the model description as malloc'd JSON (free
   with ab_free), NULL with err set on failure. */
char *ab_coreml_describe(ab_model *m, ab_error *err);

/* ab_coreml_predict runs n_rows predictions of n_in inputs each: input i of
   row r is in[r*n_in+i]. One row uses predictionFromFeatures, several an
   MLArrayBatchProvider. outs receives n_rows*n_out outputs (row-major) named
   by out_names. Returns 0, or -1 with err set and no output to free. */
int32_t ab_coreml_predict(ab_model *m, const ab_tensor *in, int32_t n_rows, int32_t n_in,
                          const char *const *out_names, int32_t n_out, ab_output *outs,
                          ab_error *err);

/* ab_coreml_plan loads MLComputePlan (macOS 14.4+) for a .mlmodelc under
   compute units and returns the per-operation placement as malloc'd JSON,
   NULL with err set (domain UNAVAILABLE before 14.4). */
char *ab_coreml_plan(const char *mlmodelc, int32_t units, double timeout_s, ab_error *err);

/* ab_coreml_release releases the model. */
void ab_coreml_release(ab_model *m);

/* ab_free frees memory the shim returned. */
void ab_free(void *p);

#endif
