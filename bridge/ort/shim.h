// shim.h declares the only C code package ort calls: it opens the ONNX
// Runtime library with dlopen, keeps the OrtApi table, and wraps the OrtApi
// calls pipe needs. Every wrapper that can fail returns a pipe_ort_err whose
// msg (malloc'd, freed by the caller with free) is NULL on success. The shim
// never keeps a pointer it was given after the call returns, except the input
// buffers that an OrtValue wraps until it is released.
#ifndef PIPE_ORT_SHIM_H
#define PIPE_ORT_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include "onnxruntime_c_api.h"

typedef struct {
  int code;   // OrtErrorCode; ORT_FAIL for errors of the shim itself
  char* msg;  // NULL on success
} pipe_ort_err;

// Loading. pipe_ort_load opens path (a file path, or a bare name for the
// system search) and asks it for the OrtApi of ORT_API_VERSION. It returns 0
// on success; otherwise *err is a malloc'd reason. Once a library is loaded,
// later calls do nothing and return 0.
int pipe_ort_load(const char* path, char** err);
const char* pipe_ort_version(void);
int pipe_ort_api_version(void);

// Environment and memory info, created once per process by the Go side.
pipe_ort_err pipe_ort_env_create(int log_level, OrtEnv** out);
pipe_ort_err pipe_ort_cpu_meminfo(OrtMemoryInfo** out);

// Session options.
pipe_ort_err pipe_ort_so_create(OrtSessionOptions** out);
void pipe_ort_so_release(OrtSessionOptions* so);
pipe_ort_err pipe_ort_so_threads(OrtSessionOptions* so, int intra, int inter);
pipe_ort_err pipe_ort_so_graph_opt(OrtSessionOptions* so, int level);
pipe_ort_err pipe_ort_so_config(OrtSessionOptions* so, const char* key, const char* value);
// pipe_ort_so_dim pins the symbolic dimension called name to value.
pipe_ort_err pipe_ort_so_dim(OrtSessionOptions* so, const char* name, int64_t value);
pipe_ort_err pipe_ort_so_append_ep(OrtSessionOptions* so, const char* name, const char* const* keys,
                                   const char* const* values, size_t n);

// Sessions.
pipe_ort_err pipe_ort_session_create(OrtEnv* env, const char* path, OrtSessionOptions* so, OrtSession** out);
// pipe_ort_session_create_from_array loads a model from its bytes; ONNX
// Runtime copies what it needs and keeps no pointer to data.
pipe_ort_err pipe_ort_session_create_from_array(OrtEnv* env, const void* data, size_t len, OrtSessionOptions* so,
                                                OrtSession** out);
void pipe_ort_session_release(OrtSession* s);
pipe_ort_err pipe_ort_session_counts(OrtSession* s, size_t* inputs, size_t* outputs);

// pipe_ort_io describes one model input or output. Strings and arrays are
// malloc'd; pipe_ort_io_free frees them.
typedef struct {
  char* name;
  int onnx_type;   // ONNXType
  int elem_type;   // ONNXTensorElementDataType; 0 for non-tensors
  size_t ndims;
  int64_t* dims;   // -1 for symbolic dimensions
  char** dim_names;  // ndims entries, "" when unnamed
} pipe_ort_io;

pipe_ort_err pipe_ort_session_io(OrtSession* s, int output, size_t index, pipe_ort_io* out);
void pipe_ort_io_free(pipe_ort_io* io);

// pipe_ort_meta is the model metadata; strings are malloc'd and freed by
// pipe_ort_meta_free.
typedef struct {
  char* producer;
  char* domain;
  char* description;
  char* graph_description;
  int64_t version;
  int64_t n_custom;
  char** keys;
  char** values;
} pipe_ort_meta;

pipe_ort_err pipe_ort_session_meta(OrtSession* s, pipe_ort_meta* out);
void pipe_ort_meta_free(pipe_ort_meta* m);

// Values. A tensor made with pipe_ort_tensor_with_data wraps data without
// copying; data must stay valid until pipe_ort_value_release.
pipe_ort_err pipe_ort_tensor_with_data(OrtMemoryInfo* info, void* data, size_t len, const int64_t* shape,
                                       size_t ndims, int elem_type, OrtValue** out);
pipe_ort_err pipe_ort_tensor_alloc(const int64_t* shape, size_t ndims, int elem_type, OrtValue** out);
pipe_ort_err pipe_ort_tensor_fill_strings(OrtValue* v, const char* const* s, size_t n);
void pipe_ort_value_release(OrtValue* v);

// pipe_ort_tensor_info reads a value's kind, element type, shape and data
// pointer. dims has room for max_dims entries; *ndims is always set, and dims
// is filled only when it fits. data is NULL for string tensors.
pipe_ort_err pipe_ort_tensor_info(OrtValue* v, int* onnx_type, int* elem_type, int64_t* dims, size_t max_dims,
                                  size_t* ndims, void** data);
pipe_ort_err pipe_ort_strings_len(OrtValue* v, size_t* total);
pipe_ort_err pipe_ort_strings_read(OrtValue* v, void* buf, size_t len, size_t* offsets, size_t n);

// Runs.
pipe_ort_err pipe_ort_runopts_create(OrtRunOptions** out);
void pipe_ort_runopts_release(OrtRunOptions* ro);
pipe_ort_err pipe_ort_runopts_terminate(OrtRunOptions* ro);
pipe_ort_err pipe_ort_run(OrtSession* s, OrtRunOptions* ro, const char* const* in_names,
                          OrtValue* const* inputs, size_t n_in, const char* const* out_names, size_t n_out,
                          OrtValue** outputs);

// Live object counters (sessions and values created and not yet released).
void pipe_ort_live(int64_t* sessions, int64_t* values);

#endif
