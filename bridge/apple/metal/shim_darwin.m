//go:build darwin && cgo

// shim_darwin.m: the Metal bridge of package metal. ARC; every entry point
// drains its own autorelease pool and catches Objective-C exceptions.
#if !__has_feature(objc_arc)
#error "compile with -fobjc-arc"
#endif
#import <Foundation/Foundation.h>
#import <Metal/Metal.h>
#include <string.h>
#include "shim.h"

typedef struct {
  uint32_t n, k, m, topk;
} ab_dims;

@interface ABMetal : NSObject
@property(nonatomic, strong) id<MTLDevice> device;
@property(nonatomic, strong) id<MTLCommandQueue> queue;
@property(nonatomic, strong) id<MTLComputePipelineState> pipeline;
@end
@implementation ABMetal
@end

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

static void ab_fill(ab_error *err, NSError *e, int32_t domain) {
  if (!e) {
    ab_set(err, domain, 0, NULL);
    return;
  }
  ab_set(err, domain, (int64_t)e.code, e.localizedDescription.UTF8String);
}

ab_metal *ab_metal_open(const char *source, const char *function, ab_error *err) {
  @autoreleasepool {
    @try {
      id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
      if (dev == nil) {
        NSArray<id<MTLDevice>> *all = MTLCopyAllDevices();
        if (all.count > 0) dev = all[0];
      }
      if (dev == nil) {
        ab_set(err, AB_DOM_UNAVAILABLE, 0, "no Metal device");
        return NULL;
      }
      NSError *e = nil;
      MTLCompileOptions *copts = [MTLCompileOptions new];
      /* Precise math: top-k relies on isnan, and results are compared with
         the CPU kernels. */
      copts.fastMathEnabled = NO;
      id<MTLLibrary> lib = [dev newLibraryWithSource:@(source) options:copts error:&e];
      if (lib == nil) {
        ab_fill(err, e, AB_DOM_OTHER);
        return NULL;
      }
      id<MTLFunction> fn = [lib newFunctionWithName:@(function)];
      if (fn == nil) {
        ab_set(err, AB_DOM_OTHER, 0, "kernel function not found in the library");
        return NULL;
      }
      id<MTLComputePipelineState> pso = [dev newComputePipelineStateWithFunction:fn error:&e];
      if (pso == nil) {
        ab_fill(err, e, AB_DOM_OTHER);
        return NULL;
      }
      if (pso.maxTotalThreadsPerThreadgroup == 0 || pso.threadExecutionWidth == 0) {
        ab_set(err, AB_DOM_UNAVAILABLE, 0, "pipeline has no threads");
        return NULL;
      }
      ABMetal *m = [ABMetal new];
      m.device = dev;
      m.queue = [dev newCommandQueue];
      m.pipeline = pso;
      if (m.queue == nil) {
        ab_set(err, AB_DOM_UNAVAILABLE, 0, "no command queue");
        return NULL;
      }
      return (ab_metal *)CFBridgingRetain(m);
    } @catch (NSException *ex) {
      ab_set(err, AB_DOM_EXCEPTION, 0, ex.reason.UTF8String);
      return NULL;
    }
  }
}

void ab_metal_release(ab_metal *h) {
  if (h) CFBridgingRelease(h);
}

int32_t ab_metal_run(ab_metal *h, int32_t kernel, const float *x, const float *w, uint32_t n,
                     uint32_t k, uint32_t mcols, uint32_t topk, float *y, int32_t *idx,
                     double timeout_s, ab_error *err) {
  @autoreleasepool {
    @try {
      ABMetal *m = (__bridge ABMetal *)h;
      if (n == 0) return 0;
      NSUInteger xBytes = (NSUInteger)n * k * sizeof(float);
      NSUInteger cols = kernel == 1 ? mcols : (kernel == 3 ? topk : k);
      NSUInteger yBytes = (NSUInteger)n * cols * sizeof(float);
      id<MTLBuffer> xb = [m.device newBufferWithBytes:x length:(xBytes ? xBytes : 4) options:MTLResourceStorageModeShared];
      id<MTLBuffer> yb = [m.device newBufferWithLength:(yBytes ? yBytes : 4) options:MTLResourceStorageModeShared];
      id<MTLBuffer> wb = nil, ib = nil;
      if (kernel == 1) {
        NSUInteger wBytes = (NSUInteger)k * mcols * sizeof(float);
        wb = [m.device newBufferWithBytes:w length:(wBytes ? wBytes : 4) options:MTLResourceStorageModeShared];
      }
      if (kernel == 3) ib = [m.device newBufferWithLength:(NSUInteger)n * topk * sizeof(int32_t) options:MTLResourceStorageModeShared];
      if (xb == nil || yb == nil || (kernel == 1 && wb == nil) || (kernel == 3 && ib == nil)) {
        ab_set(err, AB_DOM_MTLCMDBUF, 8, "could not allocate Metal buffers");
        return -1;
      }
      ab_dims d = {n, k, mcols, topk};
      id<MTLCommandBuffer> cb = [m.queue commandBuffer];
      id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
      [enc setComputePipelineState:m.pipeline];
      [enc setBuffer:xb offset:0 atIndex:0];
      [enc setBuffer:yb offset:0 atIndex:1];
      [enc setBytes:&d length:sizeof d atIndex:2];
      if (wb) [enc setBuffer:wb offset:0 atIndex:3];
      if (ib) [enc setBuffer:ib offset:0 atIndex:4];
      NSUInteger width = MIN(m.pipeline.maxTotalThreadsPerThreadgroup, (NSUInteger)256);
      if (kernel == 1) {
        NSUInteger tw = MIN(m.pipeline.threadExecutionWidth, (NSUInteger)mcols);
        if (tw == 0) tw = 1;
        NSUInteger th = MAX(width / tw, (NSUInteger)1);
        [enc dispatchThreads:MTLSizeMake(mcols, n, 1) threadsPerThreadgroup:MTLSizeMake(tw, th, 1)];
      } else {
        [enc dispatchThreads:MTLSizeMake(n, 1, 1) threadsPerThreadgroup:MTLSizeMake(width, 1, 1)];
      }
      [enc endEncoding];
      dispatch_semaphore_t sem = dispatch_semaphore_create(0);
      [cb addCompletedHandler:^(id<MTLCommandBuffer> b) {
        dispatch_semaphore_signal(sem);
      }];
      [cb commit];
      if (dispatch_semaphore_wait(sem, dispatch_time(DISPATCH_TIME_NOW, (int64_t)(timeout_s * (double)NSEC_PER_SEC))) != 0) {
        /* The buffers stay referenced by the command buffer until it ends. */
        ab_set(err, AB_DOM_TIMEOUT, 0, "Metal command buffer timed out");
        return -1;
      }
      if (cb.status != MTLCommandBufferStatusCompleted) {
        ab_fill(err, cb.error, AB_DOM_MTLCMDBUF);
        return -1;
      }
      memcpy(y, yb.contents, yBytes);
      if (ib) memcpy(idx, ib.contents, (size_t)n * topk * sizeof(int32_t));
      return 0;
    } @catch (NSException *ex) {
      ab_set(err, AB_DOM_EXCEPTION, 0, ex.reason.UTF8String);
      return -1;
    }
  }
}
