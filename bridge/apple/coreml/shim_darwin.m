//go:build darwin && cgo

// shim_darwin.m: the Core ML bridge of package coreml. ARC throughout; every
// entry point drains its own autorelease pool (cgo threads have none) and
// catches Objective-C exceptions, which must never unwind through cgo.
#if !__has_feature(objc_arc)
#error "compile with -fobjc-arc"
#endif
#import <Foundation/Foundation.h>
#import <CoreML/CoreML.h>
#include <stdlib.h>
#include <string.h>
#include "shim.h"

static void ab_set(ab_error *err, int32_t domain, int64_t code, const char *msg) {
  if (!err) return;
  err->domain = domain;
  err->code = code;
  err->message[0] = 0;
  if (msg) {
    strncpy(err->message, msg, sizeof err->message - 1);
    err->message[sizeof err->message - 1] = 0;
  }
}

/* ab_fill resolves an NSError's domain to an AB_DOM_* value. */
static void ab_fill(ab_error *err, NSError *e, int32_t fallback) {
  if (!e) {
    ab_set(err, fallback, 0, NULL);
    return;
  }
  int32_t d = AB_DOM_OTHER;
  if ([e.domain isEqualToString:MLModelErrorDomain]) d = AB_DOM_COREML;
  else if ([e.domain isEqualToString:NSCocoaErrorDomain]) d = AB_DOM_COCOA;
  else if ([e.domain isEqualToString:NSPOSIXErrorDomain]) d = AB_DOM_POSIX;
  ab_set(err, d, (int64_t)e.code, e.localizedDescription.UTF8String);
}

static void ab_exception(ab_error *err, NSException *ex) {
  ab_set(err, AB_DOM_EXCEPTION, 0, ex.reason.UTF8String);
}

static dispatch_time_t ab_deadline(double secs) {
  return dispatch_time(DISPATCH_TIME_NOW, (int64_t)(secs * (double)NSEC_PER_SEC));
}

int32_t ab_coreml_compile(const char *src, const char *dst, double timeout_s, ab_error *err) {
  @autoreleasepool {
    @try {
      NSURL *srcURL = [NSURL fileURLWithPath:@(src)];
      NSURL *dstURL = [NSURL fileURLWithPath:@(dst)];
      __block NSURL *compiled = nil;
      __block NSError *cerr = nil;
      dispatch_semaphore_t sem = dispatch_semaphore_create(0);
      [MLModel compileModelAtURL:srcURL
               completionHandler:^(NSURL *url, NSError *e) {
                 compiled = url;
                 cerr = e;
                 dispatch_semaphore_signal(sem);
               }];
      if (dispatch_semaphore_wait(sem, ab_deadline(timeout_s)) != 0) {
        ab_set(err, AB_DOM_TIMEOUT, 0, "Core ML compilation timed out");
        return -1;
      }
      if (!compiled) {
        ab_fill(err, cerr, AB_DOM_OTHER);
        return -1;
      }
      NSError *e = nil;
      if (![[NSFileManager defaultManager] moveItemAtURL:compiled toURL:dstURL error:&e]) {
        ab_fill(err, e, AB_DOM_OTHER);
        return -1;
      }
      return 0;
    } @catch (NSException *ex) {
      ab_exception(err, ex);
      return -1;
    }
  }
}

ab_model *ab_coreml_load(const char *path, int32_t units, int32_t flags, ab_error *err) {
  @autoreleasepool {
    @try {
      MLModelConfiguration *cfg = [MLModelConfiguration new];
      if (units == 3) { /* CPUAndNeuralEngine */
        if (@available(macOS 13.0, *)) {
          cfg.computeUnits = MLComputeUnitsCPUAndNeuralEngine;
        } else {
          ab_set(err, AB_DOM_UNAVAILABLE, 0, "CPUAndNeuralEngine needs macOS 13");
          return NULL;
        }
      } else {
        cfg.computeUnits = (MLComputeUnits)units; /* 0, 1, 2 exist since 10.14 */
      }
      if (@available(macOS 14.4, *)) {
        if (flags & 1) cfg.optimizationHints.reshapeFrequency = MLReshapeFrequencyHintInfrequent;
      }
      NSError *e = nil;
      MLModel *m = [MLModel modelWithContentsOfURL:[NSURL fileURLWithPath:@(path)] configuration:cfg error:&e];
      if (!m) {
        ab_fill(err, e, AB_DOM_OTHER);
        return NULL;
      }
      return (ab_model *)CFBridgingRetain(m);
    } @catch (NSException *ex) {
      ab_exception(err, ex);
      return NULL;
    }
  }
}

void ab_coreml_release(ab_model *h) {
  if (h) CFBridgingRelease(h);
}

void ab_free(void *p) { free(p); }

static char *ab_json(id obj, ab_error *err) {
  NSError *e = nil;
  NSData *data = [NSJSONSerialization dataWithJSONObject:obj options:0 error:&e];
  if (!data) {
    ab_fill(err, e, AB_DOM_OTHER);
    return NULL;
  }
  char *out = malloc(data.length + 1);
  if (!out) {
    ab_set(err, AB_DOM_POSIX, 12, "out of memory");
    return NULL;
  }
  memcpy(out, data.bytes, data.length);
  out[data.length] = 0;
  return out;
}

static NSDictionary *ab_feature(MLFeatureDescription *f) {
  NSMutableDictionary *d = [NSMutableDictionary dictionary];
  d[@"name"] = f.name;
  d[@"type"] = @((NSInteger)f.type);
  MLMultiArrayConstraint *c = f.multiArrayConstraint;
  if (f.type == MLFeatureTypeMultiArray && c) {
    d[@"dtype"] = @((NSInteger)c.dataType);
    d[@"shape"] = c.shape;
    MLMultiArrayShapeConstraint *sc = c.shapeConstraint;
    if (sc) {
      NSMutableDictionary *cd = [NSMutableDictionary dictionary];
      cd[@"kind"] = @((NSInteger)sc.type);
      if (sc.type == MLMultiArrayShapeConstraintTypeEnumerated) cd[@"enumerated"] = sc.enumeratedShapes;
      NSMutableArray *ranges = [NSMutableArray array];
      for (NSValue *v in sc.sizeRangeForDimension) {
        NSRange r = v.rangeValue;
        /* location is the minimum, location+length the maximum [verify];
           an unbounded dimension has a huge length. */
        long long max = (r.length >= (NSUInteger)INT32_MAX) ? -1 : (long long)(r.location + r.length);
        [ranges addObject:@[ @((long long)r.location), @(max) ]];
      }
      cd[@"ranges"] = ranges;
      d[@"constraint"] = cd;
    }
  }
  return d;
}

char *ab_coreml_describe(ab_model *h, ab_error *err) {
  @autoreleasepool {
    @try {
      MLModel *model = (__bridge MLModel *)h;
      MLModelDescription *md = model.modelDescription;
      NSMutableArray *ins = [NSMutableArray array], *outs = [NSMutableArray array];
      for (NSString *k in [md.inputDescriptionsByName.allKeys sortedArrayUsingSelector:@selector(compare:)])
        [ins addObject:ab_feature(md.inputDescriptionsByName[k])];
      for (NSString *k in [md.outputDescriptionsByName.allKeys sortedArrayUsingSelector:@selector(compare:)])
        [outs addObject:ab_feature(md.outputDescriptionsByName[k])];
      NSMutableDictionary *meta = [NSMutableDictionary dictionary];
      NSDictionary *mm = md.metadata;
      NSString *desc = mm[MLModelDescriptionKey], *author = mm[MLModelAuthorKey], *ver = mm[MLModelVersionStringKey];
      if (desc) meta[@"description"] = desc;
      if (author) meta[@"author"] = author;
      if (ver) meta[@"version"] = ver;
      return ab_json(@{ @"inputs" : ins, @"outputs" : outs, @"metadata" : meta }, err);
    } @catch (NSException *ex) {
      ab_exception(err, ex);
      return NULL;
    }
  }
}

/* ab_elem_size returns the bytes per element of an MLMultiArrayDataType, 0
   for a type the shim does not take. */
static size_t ab_elem_size(int32_t dtype) {
  switch (dtype) { /* an int, not the enum: newer SDKs add types (no -Wswitch) */
    case MLMultiArrayDataTypeFloat64: return 8;
    case MLMultiArrayDataTypeFloat32: return 4;
    case MLMultiArrayDataTypeFloat16: return 2;
    case MLMultiArrayDataTypeInt32: return 4;
  }
  return 0;
}

/* ab_array_bytes returns the bytes the strides of t address (0 for an empty
   shape), or -1 when the tensor is malformed or the size overflows. */
static int64_t ab_array_bytes(const ab_tensor *t) {
  size_t esize = ab_elem_size(t->dtype);
  if (esize == 0 || t->rank < 1 || t->rank > AB_MAX_RANK) return -1;
  int64_t extent = 1; /* 1 + sum((shape[i]-1) * strides[i]) elements */
  for (int i = 0; i < t->rank; i++) {
    if (t->shape[i] < 0 || t->strides[i] < 0) return -1;
    if (t->shape[i] == 0) return 0;
    int64_t step;
    if (__builtin_mul_overflow(t->shape[i] - 1, t->strides[i], &step) ||
        __builtin_add_overflow(extent, step, &extent))
      return -1;
  }
  int64_t bytes;
  if (__builtin_mul_overflow(extent, (int64_t)esize, &bytes)) return -1;
  return bytes;
}

/* ab_array copies an input into malloc'd memory owned by the new
   MLMultiArray (its deallocator frees it): Core ML may keep the array, and
   read it, after the prediction returns, so it must never point at the
   caller's memory. Bytes past t->nbytes (padding rows) are zero. */
static MLMultiArray *ab_array(const ab_tensor *t, ab_error *err) {
  int64_t total = ab_array_bytes(t);
  if (total < 0 || t->nbytes < 0 || t->nbytes > total || (t->nbytes > 0 && !t->data)) {
    ab_set(err, AB_DOM_OTHER, 0, "malformed input tensor (type, rank, shape, strides or byte count)");
    return nil;
  }
  void *buf = malloc(total > 0 ? (size_t)total : 1);
  if (!buf) {
    ab_set(err, AB_DOM_POSIX, 12, "out of memory copying an input");
    return nil;
  }
  if (t->nbytes > 0) memcpy(buf, t->data, (size_t)t->nbytes);
  if (total > t->nbytes) memset((char *)buf + t->nbytes, 0, (size_t)(total - t->nbytes));
  NSMutableArray<NSNumber *> *shape = [NSMutableArray array], *strides = [NSMutableArray array];
  for (int i = 0; i < t->rank; i++) {
    [shape addObject:@(t->shape[i])];
    [strides addObject:@(t->strides[i])];
  }
  /* freed tells whether a failed init already ran the deallocator (it runs
     synchronously then, if at all); a live array frees buf when released. */
  __block BOOL freed = NO;
  NSError *e = nil;
  MLMultiArray *x = [[MLMultiArray alloc] initWithDataPointer:buf
                                                        shape:shape
                                                     dataType:(MLMultiArrayDataType)t->dtype
                                                      strides:strides
                                                  deallocator:^(void *bytes) {
                                                    free(bytes);
                                                    freed = YES;
                                                  }
                                                        error:&e];
  if (!x) {
    if (!freed) free(buf);
    ab_fill(err, e, AB_DOM_OTHER);
  }
  return x;
}

/* ab_copy_out copies one output's storage, with its layout, into out. */
static int32_t ab_copy_out(MLMultiArray *o, ab_output *out, ab_error *err) {
  memset(out, 0, sizeof *out);
  NSUInteger rank = o.shape.count;
  if (rank > AB_MAX_RANK) {
    ab_set(err, AB_DOM_OTHER, 0, "output rank above 8");
    return -1;
  }
  out->dtype = (int32_t)o.dataType;
  out->rank = (int32_t)rank;
  for (NSUInteger i = 0; i < rank; i++) {
    out->shape[i] = o.shape[i].longLongValue;
    out->strides[i] = o.strides[i].longLongValue;
  }
  __block int32_t rc = 0;
  [o getBytesWithHandler:^(const void *bytes, NSInteger size) {
    out->data = malloc(size > 0 ? (size_t)size : 1);
    if (!out->data) {
      rc = -1;
      return;
    }
    memcpy(out->data, bytes, (size_t)size);
    out->nbytes = size;
  }];
  if (rc != 0) ab_set(err, AB_DOM_POSIX, 12, "out of memory copying an output");
  return rc;
}

static void ab_free_outputs(ab_output *outs, int32_t n) {
  for (int32_t i = 0; i < n; i++) {
    free(outs[i].data);
    outs[i].data = NULL;
  }
}

int32_t ab_coreml_predict(ab_model *h, const ab_tensor *in, int32_t n_rows, int32_t n_in,
                          const char *const *out_names, int32_t n_out, ab_output *outs,
                          ab_error *err) {
  @autoreleasepool {
    @try {
      MLModel *model = (__bridge MLModel *)h;
      NSMutableArray<id<MLFeatureProvider>> *rows = [NSMutableArray arrayWithCapacity:(NSUInteger)n_rows];
      for (int32_t r = 0; r < n_rows; r++) {
        NSMutableDictionary<NSString *, id> *feats = [NSMutableDictionary dictionary];
        for (int32_t i = 0; i < n_in; i++) {
          const ab_tensor *t = &in[r * n_in + i];
          MLMultiArray *x = ab_array(t, err);
          if (!x) return -1;
          feats[@(t->name)] = [MLFeatureValue featureValueWithMultiArray:x];
        }
        NSError *e = nil;
        MLDictionaryFeatureProvider *fp = [[MLDictionaryFeatureProvider alloc] initWithDictionary:feats error:&e];
        if (!fp) {
          ab_fill(err, e, AB_DOM_OTHER);
          return -1;
        }
        [rows addObject:fp];
      }
      NSError *e = nil;
      NSMutableArray<id<MLFeatureProvider>> *results = [NSMutableArray array];
      if (n_rows == 1) {
        id<MLFeatureProvider> y = [model predictionFromFeatures:rows[0] options:[MLPredictionOptions new] error:&e];
        if (!y) {
          ab_fill(err, e, AB_DOM_OTHER);
          return -1;
        }
        [results addObject:y];
      } else {
        MLArrayBatchProvider *batch = [[MLArrayBatchProvider alloc] initWithFeatureProviderArray:rows];
        id<MLBatchProvider> ys = [model predictionsFromBatch:batch options:[MLPredictionOptions new] error:&e];
        if (!ys) {
          ab_fill(err, e, AB_DOM_OTHER);
          return -1;
        }
        if (ys.count != n_rows) {
          ab_set(err, AB_DOM_OTHER, 0, "batch prediction returned a different number of rows");
          return -1;
        }
        for (NSInteger r = 0; r < ys.count; r++) [results addObject:[ys featuresAtIndex:r]];
      }
      for (int32_t r = 0; r < n_rows; r++) {
        for (int32_t j = 0; j < n_out; j++) {
          MLMultiArray *o = [results[(NSUInteger)r] featureValueForName:@(out_names[j])].multiArrayValue;
          if (!o) {
            ab_free_outputs(outs, r * n_out + j);
            ab_set(err, AB_DOM_OTHER, 0, "output is missing or not a multi-array");
            return -1;
          }
          if (ab_copy_out(o, &outs[r * n_out + j], err) != 0) {
            ab_free_outputs(outs, r * n_out + j + 1);
            return -1;
          }
        }
      }
      return 0;
    } @catch (NSException *ex) {
      ab_exception(err, ex);
      return -1;
    }
  }
}

API_AVAILABLE(macos(14.4))
static NSString *ab_device_name(id<MLComputeDeviceProtocol> d) {
  if (!d) return @"";
  if ([(id)d isKindOfClass:[MLNeuralEngineComputeDevice class]]) return @"ane";
  if ([(id)d isKindOfClass:[MLGPUComputeDevice class]]) return @"gpu";
  return @"cpu";
}

API_AVAILABLE(macos(14.4))
static void ab_plan_block(MLComputePlan *plan, MLModelStructureProgramBlock *block, NSMutableArray *ops) {
  for (MLModelStructureProgramOperation *op in block.operations) {
    MLComputePlanDeviceUsage *u = [plan computeDeviceUsageForMLProgramOperation:op];
    MLComputePlanCost *cost = [plan estimatedCostOfMLProgramOperation:op];
    NSMutableArray *supported = [NSMutableArray array];
    for (id<MLComputeDeviceProtocol> d in u.supportedComputeDevices) [supported addObject:ab_device_name(d)];
    [ops addObject:@{
      @"name" : op.operatorName,
      @"preferred" : u ? ab_device_name(u.preferredComputeDevice) : @"",
      @"supported" : supported,
      @"cost" : cost ? @(cost.weight) : @(-1)
    }];
    for (MLModelStructureProgramBlock *b in op.blocks) ab_plan_block(plan, b, ops);
  }
}

char *ab_coreml_plan(const char *path, int32_t units, double timeout_s, ab_error *err) {
  @autoreleasepool {
    @try {
      if (@available(macOS 14.4, *)) {
        MLModelConfiguration *cfg = [MLModelConfiguration new];
        cfg.computeUnits = (MLComputeUnits)units;
        __block MLComputePlan *plan = nil;
        __block NSError *perr = nil;
        dispatch_semaphore_t sem = dispatch_semaphore_create(0);
        [MLComputePlan loadContentsOfURL:[NSURL fileURLWithPath:@(path)]
                           configuration:cfg
                       completionHandler:^(MLComputePlan *p, NSError *e) {
                         plan = p;
                         perr = e;
                         dispatch_semaphore_signal(sem);
                       }];
        if (dispatch_semaphore_wait(sem, ab_deadline(timeout_s)) != 0) {
          ab_set(err, AB_DOM_TIMEOUT, 0, "MLComputePlan load timed out");
          return NULL;
        }
        if (!plan) {
          ab_fill(err, perr, AB_DOM_OTHER);
          return NULL;
        }
        NSMutableArray *ops = [NSMutableArray array];
        MLModelStructureProgram *program = plan.modelStructure.program;
        MLModelStructureNeuralNetwork *nn = plan.modelStructure.neuralNetwork;
        if (program) {
          MLModelStructureProgramFunction *main = program.functions[@"main"];
          if (main) ab_plan_block(plan, main.block, ops);
        } else if (nn) {
          for (MLModelStructureNeuralNetworkLayer *l in nn.layers) {
            MLComputePlanDeviceUsage *u = [plan computeDeviceUsageForNeuralNetworkLayer:l];
            NSMutableArray *supported = [NSMutableArray array];
            for (id<MLComputeDeviceProtocol> d in u.supportedComputeDevices) [supported addObject:ab_device_name(d)];
            [ops addObject:@{
              @"name" : l.name,
              @"preferred" : u ? ab_device_name(u.preferredComputeDevice) : @"",
              @"supported" : supported,
              @"cost" : @(-1)
            }];
          }
        }
        return ab_json(@{ @"ops" : ops }, err);
      }
      ab_set(err, AB_DOM_UNAVAILABLE, 0, "MLComputePlan needs macOS 14.4");
      return NULL;
    } @catch (NSException *ex) {
      ab_exception(err, ex);
      return NULL;
    }
  }
}
