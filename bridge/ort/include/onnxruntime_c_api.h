// Copyright (c) Microsoft Corporation. All rights reserved.
// Licensed under the MIT License.
//
// This is a reduced copy of ONNX Runtime's C API header,
// include/onnxruntime/core/session/onnxruntime_c_api.h, taken from the
// microsoft/onnxruntime repository (the API 13 table, ONNX Runtime 1.13).
// See LICENSE in this folder.
//
// What was kept, unchanged: the type names, the enum values and the order of
// the OrtApi function table up to and including
// SessionOptionsAppendExecutionProvider (entry 216). ONNX Runtime only ever
// appends to that table, so this prefix is the exact ABI of every later
// library, including 1.30.0, which serves GetApi(ORT_API_VERSION) below.
//
// What was left out: the documentation comments, the SAL annotations, the
// provider option structs, the custom-op structs, and the tail of the table
// after entry 216. Entries pipe does not call are declared as untyped
// pointers (`void *`) under their ONNX Runtime names, so that every entry keeps
// its offset; the static assertions at the end check the offsets of the
// entries pipe calls.
//
// Only bridge/ort/shim.c includes this file.

#pragma once
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define ORT_API_VERSION 13

#ifdef __cplusplus
extern "C" {
#endif

#define ORT_API_CALL

typedef enum ONNXTensorElementDataType {
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT,   // maps to c type float
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8,   // maps to c type uint8_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8,    // maps to c type int8_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16,  // maps to c type uint16_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16,   // maps to c type int16_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32,   // maps to c type int32_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64,   // maps to c type int64_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING,  // maps to c++ type std::string
  ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16,
  ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE,      // maps to c type double
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32,      // maps to c type uint32_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64,      // maps to c type uint64_t
  ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX64,   // complex with float32 real and imaginary components
  ONNX_TENSOR_ELEMENT_DATA_TYPE_COMPLEX128,  // complex with float64 real and imaginary components
  ONNX_TENSOR_ELEMENT_DATA_TYPE_BFLOAT16     // Non-IEEE floating-point format based on IEEE754 single-precision
} ONNXTensorElementDataType;

// Synced with onnx TypeProto oneof
typedef enum ONNXType {
  ONNX_TYPE_UNKNOWN,
  ONNX_TYPE_TENSOR,
  ONNX_TYPE_SEQUENCE,
  ONNX_TYPE_MAP,
  ONNX_TYPE_OPAQUE,
  ONNX_TYPE_SPARSETENSOR,
  ONNX_TYPE_OPTIONAL
} ONNXType;

typedef enum OrtLoggingLevel {
  ORT_LOGGING_LEVEL_VERBOSE,
  ORT_LOGGING_LEVEL_INFO,
  ORT_LOGGING_LEVEL_WARNING,
  ORT_LOGGING_LEVEL_ERROR,
  ORT_LOGGING_LEVEL_FATAL,
} OrtLoggingLevel;

typedef enum OrtErrorCode {
  ORT_OK,
  ORT_FAIL,
  ORT_INVALID_ARGUMENT,
  ORT_NO_SUCHFILE,
  ORT_NO_MODEL,
  ORT_ENGINE_ERROR,
  ORT_RUNTIME_EXCEPTION,
  ORT_INVALID_PROTOBUF,
  ORT_MODEL_LOADED,
  ORT_NOT_IMPLEMENTED,
  ORT_INVALID_GRAPH,
  ORT_EP_FAIL,
} OrtErrorCode;

#define ORT_RUNTIME_CLASS(X) \
  struct Ort##X;             \
  typedef struct Ort##X Ort##X;

ORT_RUNTIME_CLASS(Env);
ORT_RUNTIME_CLASS(Status);  // nullptr for Status* indicates success
ORT_RUNTIME_CLASS(MemoryInfo);
ORT_RUNTIME_CLASS(Session);
ORT_RUNTIME_CLASS(Value);
ORT_RUNTIME_CLASS(RunOptions);
ORT_RUNTIME_CLASS(TypeInfo);
ORT_RUNTIME_CLASS(TensorTypeAndShapeInfo);
ORT_RUNTIME_CLASS(SessionOptions);
ORT_RUNTIME_CLASS(ModelMetadata);

typedef OrtStatus* OrtStatusPtr;

typedef struct OrtAllocator {
  uint32_t version;
  void*(ORT_API_CALL* Alloc)(struct OrtAllocator* this_, size_t size);
  void(ORT_API_CALL* Free)(struct OrtAllocator* this_, void* p);
  const struct OrtMemoryInfo*(ORT_API_CALL* Info)(const struct OrtAllocator* this_);
} OrtAllocator;

typedef enum GraphOptimizationLevel {
  ORT_DISABLE_ALL = 0,
  ORT_ENABLE_BASIC = 1,
  ORT_ENABLE_EXTENDED = 2,
  ORT_ENABLE_ALL = 99
} GraphOptimizationLevel;

typedef enum OrtAllocatorType {
  OrtInvalidAllocator = -1,
  OrtDeviceAllocator = 0,
  OrtArenaAllocator = 1
} OrtAllocatorType;

typedef enum OrtMemType {
  OrtMemTypeCPUInput = -2,
  OrtMemTypeCPUOutput = -1,
  OrtMemTypeCPU = OrtMemTypeCPUOutput,
  OrtMemTypeDefault = 0,
} OrtMemType;

struct OrtApi;
typedef struct OrtApi OrtApi;

struct OrtApiBase {
  const OrtApi*(ORT_API_CALL* GetApi)(uint32_t version);
  const char*(ORT_API_CALL* GetVersionString)(void);
};
typedef struct OrtApiBase OrtApiBase;

// OrtGetApiBase is the library's one exported entry point; pipe looks it up
// with dlsym.
typedef const OrtApiBase*(ORT_API_CALL* OrtGetApiBaseFn)(void);

#define ORT_API2_STATUS(NAME, ...) OrtStatusPtr(ORT_API_CALL* NAME)(__VA_ARGS__)
#define ORT_CLASS_RELEASE(X) void(ORT_API_CALL * Release##X)(Ort##X * input)
#define ORT_UNUSED(NAME) void* NAME

struct OrtApi {
  OrtStatus*(ORT_API_CALL* CreateStatus)(OrtErrorCode code, const char* msg);                  // 0
  OrtErrorCode(ORT_API_CALL* GetErrorCode)(const OrtStatus* status);                           // 1
  const char*(ORT_API_CALL* GetErrorMessage)(const OrtStatus* status);                         // 2
  ORT_API2_STATUS(CreateEnv, OrtLoggingLevel log_severity_level, const char* logid, OrtEnv** out);  // 3
  ORT_UNUSED(CreateEnvWithCustomLogger);                                                       // 4
  ORT_UNUSED(EnableTelemetryEvents);                                                           // 5
  ORT_UNUSED(DisableTelemetryEvents);                                                          // 6
  ORT_API2_STATUS(CreateSession, const OrtEnv* env, const char* model_path,
                  const OrtSessionOptions* options, OrtSession** out);                         // 7
  ORT_API2_STATUS(CreateSessionFromArray, const OrtEnv* env, const void* model_data, size_t model_data_length,
                  const OrtSessionOptions* options, OrtSession** out);                         // 8
  ORT_API2_STATUS(Run, OrtSession* session, const OrtRunOptions* run_options,
                  const char* const* input_names, const OrtValue* const* inputs, size_t input_len,
                  const char* const* output_names, size_t output_names_len, OrtValue** outputs);  // 9
  ORT_API2_STATUS(CreateSessionOptions, OrtSessionOptions** options);                          // 10
  ORT_UNUSED(SetOptimizedModelFilePath);                                                       // 11
  ORT_UNUSED(CloneSessionOptions);                                                             // 12
  ORT_UNUSED(SetSessionExecutionMode);                                                         // 13
  ORT_UNUSED(EnableProfiling);                                                                 // 14
  ORT_UNUSED(DisableProfiling);                                                                // 15
  ORT_UNUSED(EnableMemPattern);                                                                // 16
  ORT_UNUSED(DisableMemPattern);                                                               // 17
  ORT_UNUSED(EnableCpuMemArena);                                                               // 18
  ORT_UNUSED(DisableCpuMemArena);                                                              // 19
  ORT_UNUSED(SetSessionLogId);                                                                 // 20
  ORT_UNUSED(SetSessionLogVerbosityLevel);                                                     // 21
  ORT_UNUSED(SetSessionLogSeverityLevel);                                                      // 22
  ORT_API2_STATUS(SetSessionGraphOptimizationLevel, OrtSessionOptions* options,
                  GraphOptimizationLevel graph_optimization_level);                            // 23
  ORT_API2_STATUS(SetIntraOpNumThreads, OrtSessionOptions* options, int intra_op_num_threads);  // 24
  ORT_API2_STATUS(SetInterOpNumThreads, OrtSessionOptions* options, int inter_op_num_threads);  // 25
  ORT_UNUSED(CreateCustomOpDomain);                                                            // 26
  ORT_UNUSED(CustomOpDomain_Add);                                                              // 27
  ORT_UNUSED(AddCustomOpDomain);                                                               // 28
  ORT_UNUSED(RegisterCustomOpsLibrary);                                                        // 29
  ORT_API2_STATUS(SessionGetInputCount, const OrtSession* session, size_t* out);               // 30
  ORT_API2_STATUS(SessionGetOutputCount, const OrtSession* session, size_t* out);              // 31
  ORT_UNUSED(SessionGetOverridableInitializerCount);                                           // 32
  ORT_API2_STATUS(SessionGetInputTypeInfo, const OrtSession* session, size_t index, OrtTypeInfo** type_info);   // 33
  ORT_API2_STATUS(SessionGetOutputTypeInfo, const OrtSession* session, size_t index, OrtTypeInfo** type_info);  // 34
  ORT_UNUSED(SessionGetOverridableInitializerTypeInfo);                                        // 35
  ORT_API2_STATUS(SessionGetInputName, const OrtSession* session, size_t index, OrtAllocator* allocator, char** value);   // 36
  ORT_API2_STATUS(SessionGetOutputName, const OrtSession* session, size_t index, OrtAllocator* allocator, char** value);  // 37
  ORT_UNUSED(SessionGetOverridableInitializerName);                                            // 38
  ORT_API2_STATUS(CreateRunOptions, OrtRunOptions** out);                                      // 39
  ORT_UNUSED(RunOptionsSetRunLogVerbosityLevel);                                               // 40
  ORT_UNUSED(RunOptionsSetRunLogSeverityLevel);                                                // 41
  ORT_UNUSED(RunOptionsSetRunTag);                                                             // 42
  ORT_UNUSED(RunOptionsGetRunLogVerbosityLevel);                                               // 43
  ORT_UNUSED(RunOptionsGetRunLogSeverityLevel);                                                // 44
  ORT_UNUSED(RunOptionsGetRunTag);                                                             // 45
  ORT_API2_STATUS(RunOptionsSetTerminate, OrtRunOptions* options);                             // 46
  ORT_UNUSED(RunOptionsUnsetTerminate);                                                        // 47
  ORT_API2_STATUS(CreateTensorAsOrtValue, OrtAllocator* allocator, const int64_t* shape, size_t shape_len,
                  ONNXTensorElementDataType type, OrtValue** out);                             // 48
  ORT_API2_STATUS(CreateTensorWithDataAsOrtValue, const OrtMemoryInfo* info, void* p_data, size_t p_data_len,
                  const int64_t* shape, size_t shape_len, ONNXTensorElementDataType type,
                  OrtValue** out);                                                             // 49
  ORT_UNUSED(IsTensor);                                                                        // 50
  ORT_API2_STATUS(GetTensorMutableData, OrtValue* value, void** out);                          // 51
  ORT_API2_STATUS(FillStringTensor, OrtValue* value, const char* const* s, size_t s_len);      // 52
  ORT_API2_STATUS(GetStringTensorDataLength, const OrtValue* value, size_t* len);              // 53
  ORT_API2_STATUS(GetStringTensorContent, const OrtValue* value, void* s, size_t s_len, size_t* offsets,
                  size_t offsets_len);                                                         // 54
  ORT_API2_STATUS(CastTypeInfoToTensorInfo, const OrtTypeInfo* type_info,
                  const OrtTensorTypeAndShapeInfo** out);                                      // 55
  ORT_API2_STATUS(GetOnnxTypeFromTypeInfo, const OrtTypeInfo* type_info, enum ONNXType* out);  // 56
  ORT_UNUSED(CreateTensorTypeAndShapeInfo);                                                    // 57
  ORT_UNUSED(SetTensorElementType);                                                            // 58
  ORT_UNUSED(SetDimensions);                                                                   // 59
  ORT_API2_STATUS(GetTensorElementType, const OrtTensorTypeAndShapeInfo* info,
                  enum ONNXTensorElementDataType* out);                                        // 60
  ORT_API2_STATUS(GetDimensionsCount, const OrtTensorTypeAndShapeInfo* info, size_t* out);     // 61
  ORT_API2_STATUS(GetDimensions, const OrtTensorTypeAndShapeInfo* info, int64_t* dim_values,
                  size_t dim_values_length);                                                   // 62
  ORT_API2_STATUS(GetSymbolicDimensions, const OrtTensorTypeAndShapeInfo* info, const char* dim_params[],
                  size_t dim_params_length);                                                   // 63
  ORT_UNUSED(GetTensorShapeElementCount);                                                      // 64
  ORT_API2_STATUS(GetTensorTypeAndShape, const OrtValue* value, OrtTensorTypeAndShapeInfo** out);  // 65
  ORT_UNUSED(GetTypeInfo);                                                                     // 66
  ORT_API2_STATUS(GetValueType, const OrtValue* value, enum ONNXType* out);                    // 67
  ORT_UNUSED(CreateMemoryInfo);                                                                // 68
  ORT_API2_STATUS(CreateCpuMemoryInfo, enum OrtAllocatorType type, enum OrtMemType mem_type,
                  OrtMemoryInfo** out);                                                        // 69
  ORT_UNUSED(CompareMemoryInfo);                                                               // 70
  ORT_UNUSED(MemoryInfoGetName);                                                               // 71
  ORT_UNUSED(MemoryInfoGetId);                                                                 // 72
  ORT_UNUSED(MemoryInfoGetMemType);                                                            // 73
  ORT_UNUSED(MemoryInfoGetType);                                                               // 74
  ORT_UNUSED(AllocatorAlloc);                                                                  // 75
  ORT_API2_STATUS(AllocatorFree, OrtAllocator* ort_allocator, void* p);                        // 76
  ORT_UNUSED(AllocatorGetInfo);                                                                // 77
  ORT_API2_STATUS(GetAllocatorWithDefaultOptions, OrtAllocator** out);                         // 78
  ORT_UNUSED(AddFreeDimensionOverride);                                                        // 79
  ORT_UNUSED(GetValue);                                                                        // 80
  ORT_UNUSED(GetValueCount);                                                                   // 81
  ORT_UNUSED(CreateValue);                                                                     // 82
  ORT_UNUSED(CreateOpaqueValue);                                                               // 83
  ORT_UNUSED(GetOpaqueValue);                                                                  // 84
  ORT_UNUSED(KernelInfoGetAttribute_float);                                                    // 85
  ORT_UNUSED(KernelInfoGetAttribute_int64);                                                    // 86
  ORT_UNUSED(KernelInfoGetAttribute_string);                                                   // 87
  ORT_UNUSED(KernelContext_GetInputCount);                                                     // 88
  ORT_UNUSED(KernelContext_GetOutputCount);                                                    // 89
  ORT_UNUSED(KernelContext_GetInput);                                                          // 90
  ORT_UNUSED(KernelContext_GetOutput);                                                         // 91
  ORT_CLASS_RELEASE(Env);                                                                      // 92
  ORT_CLASS_RELEASE(Status);                                                                   // 93
  ORT_CLASS_RELEASE(MemoryInfo);                                                               // 94
  ORT_CLASS_RELEASE(Session);                                                                  // 95
  ORT_CLASS_RELEASE(Value);                                                                    // 96
  ORT_CLASS_RELEASE(RunOptions);                                                               // 97
  ORT_CLASS_RELEASE(TypeInfo);                                                                 // 98
  ORT_CLASS_RELEASE(TensorTypeAndShapeInfo);                                                   // 99
  ORT_CLASS_RELEASE(SessionOptions);                                                           // 100
  ORT_UNUSED(ReleaseCustomOpDomain);                                                           // 101
  ORT_UNUSED(GetDenotationFromTypeInfo);                                                       // 102
  ORT_UNUSED(CastTypeInfoToMapTypeInfo);                                                       // 103
  ORT_UNUSED(CastTypeInfoToSequenceTypeInfo);                                                  // 104
  ORT_UNUSED(GetMapKeyType);                                                                   // 105
  ORT_UNUSED(GetMapValueType);                                                                 // 106
  ORT_UNUSED(GetSequenceElementType);                                                          // 107
  ORT_UNUSED(ReleaseMapTypeInfo);                                                              // 108
  ORT_UNUSED(ReleaseSequenceTypeInfo);                                                         // 109
  ORT_UNUSED(SessionEndProfiling);                                                             // 110
  ORT_API2_STATUS(SessionGetModelMetadata, const OrtSession* session, OrtModelMetadata** out);  // 111
  ORT_API2_STATUS(ModelMetadataGetProducerName, const OrtModelMetadata* model_metadata,
                  OrtAllocator* allocator, char** value);                                      // 112
  ORT_API2_STATUS(ModelMetadataGetGraphName, const OrtModelMetadata* model_metadata,
                  OrtAllocator* allocator, char** value);                                      // 113
  ORT_API2_STATUS(ModelMetadataGetDomain, const OrtModelMetadata* model_metadata,
                  OrtAllocator* allocator, char** value);                                      // 114
  ORT_API2_STATUS(ModelMetadataGetDescription, const OrtModelMetadata* model_metadata,
                  OrtAllocator* allocator, char** value);                                      // 115
  ORT_API2_STATUS(ModelMetadataLookupCustomMetadataMap, const OrtModelMetadata* model_metadata,
                  OrtAllocator* allocator, const char* key, char** value);                     // 116
  ORT_API2_STATUS(ModelMetadataGetVersion, const OrtModelMetadata* model_metadata, int64_t* value);  // 117
  ORT_CLASS_RELEASE(ModelMetadata);                                                            // 118
  ORT_UNUSED(CreateEnvWithGlobalThreadPools);                                                  // 119
  ORT_UNUSED(DisablePerSessionThreads);                                                        // 120
  ORT_UNUSED(CreateThreadingOptions);                                                          // 121
  ORT_UNUSED(ReleaseThreadingOptions);                                                         // 122
  ORT_API2_STATUS(ModelMetadataGetCustomMetadataMapKeys, const OrtModelMetadata* model_metadata,
                  OrtAllocator* allocator, char*** keys, int64_t* num_keys);                   // 123
  ORT_API2_STATUS(AddFreeDimensionOverrideByName, OrtSessionOptions* options, const char* dim_name,
                  int64_t dim_value);                                                          // 124
  ORT_UNUSED(GetAvailableProviders);                                                           // 125
  ORT_UNUSED(ReleaseAvailableProviders);                                                       // 126
  ORT_UNUSED(GetStringTensorElementLength);                                                    // 127
  ORT_UNUSED(GetStringTensorElement);                                                          // 128
  ORT_UNUSED(FillStringTensorElement);                                                         // 129
  ORT_API2_STATUS(AddSessionConfigEntry, OrtSessionOptions* options, const char* config_key,
                  const char* config_value);                                                   // 130
  ORT_UNUSED(CreateAllocator);                                                                 // 131
  ORT_UNUSED(ReleaseAllocator);                                                                // 132
  ORT_UNUSED(RunWithBinding);                                                                  // 133
  ORT_UNUSED(CreateIoBinding);                                                                 // 134
  ORT_UNUSED(ReleaseIoBinding);                                                                // 135
  ORT_UNUSED(BindInput);                                                                       // 136
  ORT_UNUSED(BindOutput);                                                                      // 137
  ORT_UNUSED(BindOutputToDevice);                                                              // 138
  ORT_UNUSED(GetBoundOutputNames);                                                             // 139
  ORT_UNUSED(GetBoundOutputValues);                                                            // 140
  ORT_UNUSED(ClearBoundInputs);                                                                // 141
  ORT_UNUSED(ClearBoundOutputs);                                                               // 142
  ORT_UNUSED(TensorAt);                                                                        // 143
  ORT_UNUSED(CreateAndRegisterAllocator);                                                      // 144
  ORT_UNUSED(SetLanguageProjection);                                                           // 145
  ORT_UNUSED(SessionGetProfilingStartTimeNs);                                                  // 146
  ORT_UNUSED(SetGlobalIntraOpNumThreads);                                                      // 147
  ORT_UNUSED(SetGlobalInterOpNumThreads);                                                      // 148
  ORT_UNUSED(SetGlobalSpinControl);                                                            // 149
  ORT_UNUSED(AddInitializer);                                                                  // 150
  ORT_UNUSED(CreateEnvWithCustomLoggerAndGlobalThreadPools);                                   // 151
  ORT_UNUSED(SessionOptionsAppendExecutionProvider_CUDA);                                      // 152
  ORT_UNUSED(SessionOptionsAppendExecutionProvider_ROCM);                                      // 153
  ORT_UNUSED(SessionOptionsAppendExecutionProvider_OpenVINO);                                  // 154
  ORT_UNUSED(SetGlobalDenormalAsZero);                                                         // 155
  ORT_UNUSED(CreateArenaCfg);                                                                  // 156
  ORT_UNUSED(ReleaseArenaCfg);                                                                 // 157
  ORT_API2_STATUS(ModelMetadataGetGraphDescription, const OrtModelMetadata* model_metadata,
                  OrtAllocator* allocator, char** value);                                      // 158
  ORT_UNUSED(SessionOptionsAppendExecutionProvider_TensorRT);                                  // 159
  ORT_UNUSED(SetCurrentGpuDeviceId);                                                           // 160
  ORT_UNUSED(GetCurrentGpuDeviceId);                                                           // 161
  ORT_UNUSED(KernelInfoGetAttributeArray_float);                                               // 162
  ORT_UNUSED(KernelInfoGetAttributeArray_int64);                                               // 163
  ORT_UNUSED(CreateArenaCfgV2);                                                                // 164
  ORT_UNUSED(AddRunConfigEntry);                                                               // 165
  ORT_UNUSED(CreatePrepackedWeightsContainer);                                                 // 166
  ORT_UNUSED(ReleasePrepackedWeightsContainer);                                                // 167
  ORT_UNUSED(CreateSessionWithPrepackedWeightsContainer);                                      // 168
  ORT_UNUSED(CreateSessionFromArrayWithPrepackedWeightsContainer);                             // 169
  ORT_UNUSED(SessionOptionsAppendExecutionProvider_TensorRT_V2);                               // 170
  ORT_UNUSED(CreateTensorRTProviderOptions);                                                   // 171
  ORT_UNUSED(UpdateTensorRTProviderOptions);                                                   // 172
  ORT_UNUSED(GetTensorRTProviderOptionsAsString);                                              // 173
  ORT_UNUSED(ReleaseTensorRTProviderOptions);                                                  // 174
  ORT_UNUSED(EnableOrtCustomOps);                                                              // 175
  ORT_UNUSED(RegisterAllocator);                                                               // 176
  ORT_UNUSED(UnregisterAllocator);                                                             // 177
  ORT_UNUSED(IsSparseTensor);                                                                  // 178
  ORT_UNUSED(CreateSparseTensorAsOrtValue);                                                    // 179
  ORT_UNUSED(FillSparseTensorCoo);                                                             // 180
  ORT_UNUSED(FillSparseTensorCsr);                                                             // 181
  ORT_UNUSED(FillSparseTensorBlockSparse);                                                     // 182
  ORT_UNUSED(CreateSparseTensorWithValuesAsOrtValue);                                          // 183
  ORT_UNUSED(UseCooIndices);                                                                   // 184
  ORT_UNUSED(UseCsrIndices);                                                                   // 185
  ORT_UNUSED(UseBlockSparseIndices);                                                           // 186
  ORT_UNUSED(GetSparseTensorFormat);                                                           // 187
  ORT_UNUSED(GetSparseTensorValuesTypeAndShape);                                               // 188
  ORT_UNUSED(GetSparseTensorValues);                                                           // 189
  ORT_UNUSED(GetSparseTensorIndicesTypeShape);                                                 // 190
  ORT_UNUSED(GetSparseTensorIndices);                                                          // 191
  ORT_UNUSED(HasValue);                                                                        // 192
  ORT_UNUSED(KernelContext_GetGPUComputeStream);                                               // 193
  ORT_UNUSED(GetTensorMemoryInfo);                                                             // 194
  ORT_UNUSED(GetExecutionProviderApi);                                                         // 195
  ORT_UNUSED(SessionOptionsSetCustomCreateThreadFn);                                           // 196
  ORT_UNUSED(SessionOptionsSetCustomThreadCreationOptions);                                    // 197
  ORT_UNUSED(SessionOptionsSetCustomJoinThreadFn);                                             // 198
  ORT_UNUSED(SetGlobalCustomCreateThreadFn);                                                   // 199
  ORT_UNUSED(SetGlobalCustomThreadCreationOptions);                                            // 200
  ORT_UNUSED(SetGlobalCustomJoinThreadFn);                                                     // 201
  ORT_UNUSED(SynchronizeBoundInputs);                                                          // 202
  ORT_UNUSED(SynchronizeBoundOutputs);                                                         // 203
  ORT_UNUSED(SessionOptionsAppendExecutionProvider_CUDA_V2);                                   // 204
  ORT_UNUSED(CreateCUDAProviderOptions);                                                       // 205
  ORT_UNUSED(UpdateCUDAProviderOptions);                                                       // 206
  ORT_UNUSED(GetCUDAProviderOptionsAsString);                                                  // 207
  ORT_UNUSED(ReleaseCUDAProviderOptions);                                                      // 208
  ORT_UNUSED(SessionOptionsAppendExecutionProvider_MIGraphX);                                  // 209
  ORT_UNUSED(AddExternalInitializers);                                                         // 210
  ORT_UNUSED(CreateOpAttr);                                                                    // 211
  ORT_UNUSED(ReleaseOpAttr);                                                                   // 212
  ORT_UNUSED(CreateOp);                                                                        // 213
  ORT_UNUSED(InvokeOp);                                                                        // 214
  ORT_UNUSED(ReleaseOp);                                                                       // 215
  ORT_API2_STATUS(SessionOptionsAppendExecutionProvider, OrtSessionOptions* options,
                  const char* provider_name, const char* const* provider_options_keys,
                  const char* const* provider_options_values, size_t num_keys);                // 216
  // Entries from 217 on (CopyKernelInfo, ReleaseKernelInfo, GetTrainingApi, ...)
  // are left out; pipe only reaches this table through a pointer.
};

#define ORT_API_ENTRY_CHECK(NAME, INDEX) \
  _Static_assert(offsetof(OrtApi, NAME) == (INDEX) * sizeof(void*), "OrtApi entry " #NAME " is not entry " #INDEX)
ORT_API_ENTRY_CHECK(GetErrorCode, 1);
ORT_API_ENTRY_CHECK(CreateEnv, 3);
ORT_API_ENTRY_CHECK(CreateSession, 7);
ORT_API_ENTRY_CHECK(CreateSessionFromArray, 8);
ORT_API_ENTRY_CHECK(Run, 9);
ORT_API_ENTRY_CHECK(SetSessionGraphOptimizationLevel, 23);
ORT_API_ENTRY_CHECK(SessionGetInputCount, 30);
ORT_API_ENTRY_CHECK(CreateRunOptions, 39);
ORT_API_ENTRY_CHECK(RunOptionsSetTerminate, 46);
ORT_API_ENTRY_CHECK(CreateTensorWithDataAsOrtValue, 49);
ORT_API_ENTRY_CHECK(GetSymbolicDimensions, 63);
ORT_API_ENTRY_CHECK(CreateCpuMemoryInfo, 69);
ORT_API_ENTRY_CHECK(GetAllocatorWithDefaultOptions, 78);
ORT_API_ENTRY_CHECK(ReleaseEnv, 92);
ORT_API_ENTRY_CHECK(ReleaseSessionOptions, 100);
ORT_API_ENTRY_CHECK(SessionGetModelMetadata, 111);
ORT_API_ENTRY_CHECK(ReleaseModelMetadata, 118);
ORT_API_ENTRY_CHECK(ModelMetadataGetCustomMetadataMapKeys, 123);
ORT_API_ENTRY_CHECK(AddFreeDimensionOverrideByName, 124);
ORT_API_ENTRY_CHECK(AddSessionConfigEntry, 130);
ORT_API_ENTRY_CHECK(ModelMetadataGetGraphDescription, 158);
ORT_API_ENTRY_CHECK(SessionOptionsAppendExecutionProvider, 216);

#ifdef __cplusplus
}
#endif
