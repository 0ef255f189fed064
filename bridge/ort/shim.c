//go:build cgo

// shim.c: see shim.h.

#include "shim.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static void* lib_handle;
static const OrtApiBase* api_base;
static const OrtApi* api;
static int64_t live_sessions;
static int64_t live_values;

static char* dup_str(const char* s) {
  if (s == NULL) s = "";
  size_t n = strlen(s);
  char* d = malloc(n + 1);
  if (d != NULL) memcpy(d, s, n + 1);
  return d;
}

static pipe_ort_err ok(void) {
  pipe_ort_err e = {0, NULL};
  return e;
}

static pipe_ort_err fail(const char* msg) {
  pipe_ort_err e = {ORT_FAIL, dup_str(msg)};
  return e;
}

// conv turns an OrtStatus into a pipe_ort_err and releases the status.
static pipe_ort_err conv(OrtStatus* st) {
  if (st == NULL) return ok();
  pipe_ort_err e;
  e.code = (int)api->GetErrorCode(st);
  e.msg = dup_str(api->GetErrorMessage(st));
  if (e.code == ORT_OK) e.code = ORT_FAIL;
  api->ReleaseStatus(st);
  return e;
}

#define NEED_API() \
  if (api == NULL) return fail("onnxruntime library not loaded")

int pipe_ort_load(const char* path, char** err) {
  char buf[512];
  if (api != NULL) return 0;
  dlerror();
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == NULL) {
    const char* why = dlerror();
    *err = dup_str(why != NULL ? why : "dlopen failed");
    return -1;
  }
  OrtGetApiBaseFn get_base = (OrtGetApiBaseFn)dlsym(h, "OrtGetApiBase");
  if (get_base == NULL) {
    const char* why = dlerror();
    snprintf(buf, sizeof buf, "no OrtGetApiBase symbol (%s): not an ONNX Runtime library",
             why != NULL ? why : "dlsym failed");
    *err = dup_str(buf);
    dlclose(h);
    return -1;
  }
  const OrtApiBase* base = get_base();
  const OrtApi* a = base != NULL ? base->GetApi(ORT_API_VERSION) : NULL;
  if (a == NULL) {
    snprintf(buf, sizeof buf, "ONNX Runtime %s does not serve C API version %d (too old)",
             base != NULL ? base->GetVersionString() : "(unknown)", ORT_API_VERSION);
    *err = dup_str(buf);
    dlclose(h);
    return -1;
  }
  lib_handle = h;
  api_base = base;
  api = a;
  return 0;
}

const char* pipe_ort_version(void) { return api_base != NULL ? api_base->GetVersionString() : ""; }

int pipe_ort_api_version(void) { return ORT_API_VERSION; }

pipe_ort_err pipe_ort_env_create(int log_level, OrtEnv** out) {
  NEED_API();
  return conv(api->CreateEnv((OrtLoggingLevel)log_level, "pipe", out));
}

pipe_ort_err pipe_ort_cpu_meminfo(OrtMemoryInfo** out) {
  NEED_API();
  return conv(api->CreateCpuMemoryInfo(OrtDeviceAllocator, OrtMemTypeDefault, out));
}

pipe_ort_err pipe_ort_so_create(OrtSessionOptions** out) {
  NEED_API();
  return conv(api->CreateSessionOptions(out));
}

void pipe_ort_so_release(OrtSessionOptions* so) {
  if (api != NULL && so != NULL) api->ReleaseSessionOptions(so);
}

pipe_ort_err pipe_ort_so_threads(OrtSessionOptions* so, int intra, int inter) {
  NEED_API();
  pipe_ort_err e = conv(api->SetIntraOpNumThreads(so, intra));
  if (e.msg != NULL) return e;
  return conv(api->SetInterOpNumThreads(so, inter));
}

pipe_ort_err pipe_ort_so_graph_opt(OrtSessionOptions* so, int level) {
  NEED_API();
  return conv(api->SetSessionGraphOptimizationLevel(so, (GraphOptimizationLevel)level));
}

pipe_ort_err pipe_ort_so_config(OrtSessionOptions* so, const char* key, const char* value) {
  NEED_API();
  return conv(api->AddSessionConfigEntry(so, key, value));
}

pipe_ort_err pipe_ort_so_dim(OrtSessionOptions* so, const char* name, int64_t value) {
  NEED_API();
  return conv(api->AddFreeDimensionOverrideByName(so, name, value));
}

pipe_ort_err pipe_ort_so_append_ep(OrtSessionOptions* so, const char* name, const char* const* keys,
                                   const char* const* values, size_t n) {
  NEED_API();
  return conv(api->SessionOptionsAppendExecutionProvider(so, name, keys, values, n));
}

pipe_ort_err pipe_ort_session_create(OrtEnv* env, const char* path, OrtSessionOptions* so, OrtSession** out) {
  NEED_API();
  *out = NULL;
  pipe_ort_err e = conv(api->CreateSession(env, path, so, out));
  if (e.msg == NULL && *out != NULL) __atomic_fetch_add(&live_sessions, 1, __ATOMIC_SEQ_CST);
  return e;
}

pipe_ort_err pipe_ort_session_create_from_array(OrtEnv* env, const void* data, size_t len, OrtSessionOptions* so,
                                                OrtSession** out) {
  NEED_API();
  *out = NULL;
  pipe_ort_err e = conv(api->CreateSessionFromArray(env, data, len, so, out));
  if (e.msg == NULL && *out != NULL) __atomic_fetch_add(&live_sessions, 1, __ATOMIC_SEQ_CST);
  return e;
}

void pipe_ort_session_release(OrtSession* s) {
  if (api == NULL || s == NULL) return;
  api->ReleaseSession(s);
  __atomic_fetch_sub(&live_sessions, 1, __ATOMIC_SEQ_CST);
}

pipe_ort_err pipe_ort_session_counts(OrtSession* s, size_t* inputs, size_t* outputs) {
  NEED_API();
  pipe_ort_err e = conv(api->SessionGetInputCount(s, inputs));
  if (e.msg != NULL) return e;
  return conv(api->SessionGetOutputCount(s, outputs));
}

// take_ort_string copies a string allocated by ORT's default allocator into
// malloc'd memory and frees the original.
static pipe_ort_err take_ort_string(OrtAllocator* alloc, char* s, char** out) {
  *out = dup_str(s);
  if (s != NULL) return conv(api->AllocatorFree(alloc, s));
  return ok();
}

void pipe_ort_io_free(pipe_ort_io* io) {
  if (io->dim_names != NULL) {
    for (size_t i = 0; i < io->ndims; i++) free(io->dim_names[i]);
  }
  free(io->dim_names);
  free(io->dims);
  free(io->name);
  memset(io, 0, sizeof *io);
}

pipe_ort_err pipe_ort_session_io(OrtSession* s, int output, size_t index, pipe_ort_io* out) {
  NEED_API();
  memset(out, 0, sizeof *out);
  OrtAllocator* alloc = NULL;
  pipe_ort_err e = conv(api->GetAllocatorWithDefaultOptions(&alloc));
  if (e.msg != NULL) return e;

  char* name = NULL;
  e = conv(output ? api->SessionGetOutputName(s, index, alloc, &name) : api->SessionGetInputName(s, index, alloc, &name));
  if (e.msg != NULL) return e;
  e = take_ort_string(alloc, name, &out->name);
  if (e.msg != NULL) return e;

  OrtTypeInfo* ti = NULL;
  e = conv(output ? api->SessionGetOutputTypeInfo(s, index, &ti) : api->SessionGetInputTypeInfo(s, index, &ti));
  if (e.msg != NULL) return e;
  enum ONNXType kind = ONNX_TYPE_UNKNOWN;
  e = conv(api->GetOnnxTypeFromTypeInfo(ti, &kind));
  out->onnx_type = (int)kind;
  if (e.msg != NULL || kind != ONNX_TYPE_TENSOR) goto done;

  const OrtTensorTypeAndShapeInfo* tsi = NULL;  // owned by ti
  e = conv(api->CastTypeInfoToTensorInfo(ti, &tsi));
  if (e.msg != NULL || tsi == NULL) goto done;
  enum ONNXTensorElementDataType et = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  e = conv(api->GetTensorElementType(tsi, &et));
  if (e.msg != NULL) goto done;
  out->elem_type = (int)et;
  size_t nd = 0;
  e = conv(api->GetDimensionsCount(tsi, &nd));
  if (e.msg != NULL || nd == 0) goto done;
  out->dims = calloc(nd, sizeof(int64_t));
  out->dim_names = calloc(nd, sizeof(char*));
  const char** syms = calloc(nd, sizeof(char*));
  if (out->dims == NULL || out->dim_names == NULL || syms == NULL) {
    free(syms);
    e = fail("out of memory");
    goto done;
  }
  out->ndims = nd;
  e = conv(api->GetDimensions(tsi, out->dims, nd));
  if (e.msg == NULL) e = conv(api->GetSymbolicDimensions(tsi, syms, nd));
  for (size_t i = 0; i < nd; i++) out->dim_names[i] = dup_str(e.msg == NULL ? syms[i] : "");
  free(syms);

done:
  api->ReleaseTypeInfo(ti);
  return e;
}

void pipe_ort_meta_free(pipe_ort_meta* m) {
  for (int64_t i = 0; i < m->n_custom; i++) {
    if (m->keys != NULL) free(m->keys[i]);
    if (m->values != NULL) free(m->values[i]);
  }
  free(m->keys);
  free(m->values);
  free(m->producer);
  free(m->domain);
  free(m->description);
  free(m->graph_description);
  memset(m, 0, sizeof *m);
}

pipe_ort_err pipe_ort_session_meta(OrtSession* s, pipe_ort_meta* out) {
  NEED_API();
  memset(out, 0, sizeof *out);
  OrtAllocator* alloc = NULL;
  pipe_ort_err e = conv(api->GetAllocatorWithDefaultOptions(&alloc));
  if (e.msg != NULL) return e;
  OrtModelMetadata* md = NULL;
  e = conv(api->SessionGetModelMetadata(s, &md));
  if (e.msg != NULL) return e;

  char* v = NULL;
  e = conv(api->ModelMetadataGetProducerName(md, alloc, &v));
  if (e.msg == NULL) e = take_ort_string(alloc, v, &out->producer);
  v = NULL;
  if (e.msg == NULL) e = conv(api->ModelMetadataGetDomain(md, alloc, &v));
  if (e.msg == NULL) e = take_ort_string(alloc, v, &out->domain);
  v = NULL;
  if (e.msg == NULL) e = conv(api->ModelMetadataGetDescription(md, alloc, &v));
  if (e.msg == NULL) e = take_ort_string(alloc, v, &out->description);
  v = NULL;
  if (e.msg == NULL) e = conv(api->ModelMetadataGetGraphDescription(md, alloc, &v));
  if (e.msg == NULL) e = take_ort_string(alloc, v, &out->graph_description);
  if (e.msg == NULL) e = conv(api->ModelMetadataGetVersion(md, &out->version));
  if (e.msg != NULL) goto done;

  char** keys = NULL;
  int64_t n = 0;
  e = conv(api->ModelMetadataGetCustomMetadataMapKeys(md, alloc, &keys, &n));
  if (e.msg != NULL || keys == NULL || n <= 0) goto done;
  out->keys = calloc((size_t)n, sizeof(char*));
  out->values = calloc((size_t)n, sizeof(char*));
  if (out->keys != NULL && out->values != NULL) out->n_custom = n;
  for (int64_t i = 0; i < n; i++) {
    if (e.msg == NULL && out->n_custom == n) {
      v = NULL;
      e = conv(api->ModelMetadataLookupCustomMetadataMap(md, alloc, keys[i], &v));
      out->keys[i] = dup_str(keys[i]);
      pipe_ort_err e2 = take_ort_string(alloc, v, &out->values[i]);
      if (e.msg == NULL) e = e2; else free(e2.msg);
    }
    pipe_ort_err e3 = conv(api->AllocatorFree(alloc, keys[i]));
    free(e3.msg);
  }
  pipe_ort_err e4 = conv(api->AllocatorFree(alloc, keys));
  free(e4.msg);
  if (e.msg == NULL && out->n_custom != n) e = fail("out of memory");

done:
  api->ReleaseModelMetadata(md);
  return e;
}

pipe_ort_err pipe_ort_tensor_with_data(OrtMemoryInfo* info, void* data, size_t len, const int64_t* shape,
                                       size_t ndims, int elem_type, OrtValue** out) {
  NEED_API();
  *out = NULL;
  pipe_ort_err e = conv(api->CreateTensorWithDataAsOrtValue(info, data, len, shape, ndims,
                                                            (ONNXTensorElementDataType)elem_type, out));
  if (e.msg == NULL && *out != NULL) __atomic_fetch_add(&live_values, 1, __ATOMIC_SEQ_CST);
  return e;
}

pipe_ort_err pipe_ort_tensor_alloc(const int64_t* shape, size_t ndims, int elem_type, OrtValue** out) {
  NEED_API();
  *out = NULL;
  OrtAllocator* alloc = NULL;
  pipe_ort_err e = conv(api->GetAllocatorWithDefaultOptions(&alloc));
  if (e.msg != NULL) return e;
  e = conv(api->CreateTensorAsOrtValue(alloc, shape, ndims, (ONNXTensorElementDataType)elem_type, out));
  if (e.msg == NULL && *out != NULL) __atomic_fetch_add(&live_values, 1, __ATOMIC_SEQ_CST);
  return e;
}

pipe_ort_err pipe_ort_tensor_fill_strings(OrtValue* v, const char* const* s, size_t n) {
  NEED_API();
  return conv(api->FillStringTensor(v, s, n));
}

void pipe_ort_value_release(OrtValue* v) {
  if (api == NULL || v == NULL) return;
  api->ReleaseValue(v);
  __atomic_fetch_sub(&live_values, 1, __ATOMIC_SEQ_CST);
}

pipe_ort_err pipe_ort_tensor_info(OrtValue* v, int* onnx_type, int* elem_type, int64_t* dims, size_t max_dims,
                                  size_t* ndims, void** data) {
  NEED_API();
  *ndims = 0;
  *data = NULL;
  *elem_type = 0;
  enum ONNXType kind = ONNX_TYPE_UNKNOWN;
  pipe_ort_err e = conv(api->GetValueType(v, &kind));
  *onnx_type = (int)kind;
  if (e.msg != NULL || kind != ONNX_TYPE_TENSOR) return e;
  OrtTensorTypeAndShapeInfo* tsi = NULL;
  e = conv(api->GetTensorTypeAndShape(v, &tsi));
  if (e.msg != NULL) return e;
  enum ONNXTensorElementDataType et = ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED;
  e = conv(api->GetTensorElementType(tsi, &et));
  *elem_type = (int)et;
  if (e.msg == NULL) e = conv(api->GetDimensionsCount(tsi, ndims));
  if (e.msg == NULL && *ndims <= max_dims && *ndims > 0) e = conv(api->GetDimensions(tsi, dims, *ndims));
  api->ReleaseTensorTypeAndShapeInfo(tsi);
  if (e.msg == NULL && et != ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING) e = conv(api->GetTensorMutableData(v, data));
  return e;
}

pipe_ort_err pipe_ort_strings_len(OrtValue* v, size_t* total) {
  NEED_API();
  return conv(api->GetStringTensorDataLength(v, total));
}

pipe_ort_err pipe_ort_strings_read(OrtValue* v, void* buf, size_t len, size_t* offsets, size_t n) {
  NEED_API();
  return conv(api->GetStringTensorContent(v, buf, len, offsets, n));
}

pipe_ort_err pipe_ort_runopts_create(OrtRunOptions** out) {
  NEED_API();
  return conv(api->CreateRunOptions(out));
}

void pipe_ort_runopts_release(OrtRunOptions* ro) {
  if (api != NULL && ro != NULL) api->ReleaseRunOptions(ro);
}

pipe_ort_err pipe_ort_runopts_terminate(OrtRunOptions* ro) {
  NEED_API();
  return conv(api->RunOptionsSetTerminate(ro));
}

pipe_ort_err pipe_ort_run(OrtSession* s, OrtRunOptions* ro, const char* const* in_names,
                          OrtValue* const* inputs, size_t n_in, const char* const* out_names, size_t n_out,
                          OrtValue** outputs) {
  NEED_API();
  for (size_t i = 0; i < n_out; i++) outputs[i] = NULL;
  pipe_ort_err e = conv(api->Run(s, ro, in_names, (const OrtValue* const*)inputs, n_in, out_names, n_out, outputs));
  for (size_t i = 0; i < n_out; i++) {
    if (outputs[i] == NULL) continue;
    if (e.msg != NULL) {
      api->ReleaseValue(outputs[i]);  // a failed run hands back nothing
      outputs[i] = NULL;
    } else {
      __atomic_fetch_add(&live_values, 1, __ATOMIC_SEQ_CST);
    }
  }
  return e;
}

void pipe_ort_live(int64_t* sessions, int64_t* values) {
  *sessions = __atomic_load_n(&live_sessions, __ATOMIC_SEQ_CST);
  *values = __atomic_load_n(&live_values, __ATOMIC_SEQ_CST);
}
