//go:build darwin && cgo

// health_darwin.m: thermal state, GPU working set and Neural Engine cores
// for package apple. ARC; every entry point drains its own autorelease pool
// and catches Objective-C exceptions, which must not unwind through cgo.
#if !__has_feature(objc_arc)
#error "compile with -fobjc-arc"
#endif
#import <Foundation/Foundation.h>
#import <CoreML/CoreML.h>
#import <Metal/Metal.h>
#include <string.h>
#include "health.h"

int32_t ab_thermal_state(void) {
  @autoreleasepool {
    @try {
      return (int32_t)[[NSProcessInfo processInfo] thermalState];
    } @catch (NSException *ex) {
      return -1;
    }
  }
}

/* ab_default_device returns the system default Metal device, or the first
   of MTLCopyAllDevices() when the default is nil (daemons, launchd jobs). */
static id<MTLDevice> ab_default_device(void) {
  id<MTLDevice> dev = MTLCreateSystemDefaultDevice();
  if (dev == nil) {
    NSArray<id<MTLDevice>> *all = MTLCopyAllDevices();
    if (all.count > 0) dev = all[0];
  }
  return dev;
}

int32_t ab_gpu_memory_read(ab_gpu_memory *out) {
  @autoreleasepool {
    @try {
      memset(out, 0, sizeof *out);
      id<MTLDevice> dev = ab_default_device();
      if (dev == nil) return -1;
      out->recommended_max_working_set = (uint64_t)dev.recommendedMaxWorkingSetSize;
      out->current_allocated = (uint64_t)dev.currentAllocatedSize;
      out->unified_memory = dev.hasUnifiedMemory ? 1 : 0;
      const char *n = dev.name.UTF8String;
      if (n) {
        strncpy(out->name, n, sizeof out->name - 1);
        out->name[sizeof out->name - 1] = 0;
      }
      return 0;
    } @catch (NSException *ex) {
      return -1;
    }
  }
}

int32_t ab_neural_engine_cores(void) {
  @autoreleasepool {
    @try {
      if (@available(macOS 14.0, *)) {
        for (id<MLComputeDeviceProtocol> d in MLAllComputeDevices()) {
          if ([(id)d isKindOfClass:[MLNeuralEngineComputeDevice class]]) {
            return (int32_t)((MLNeuralEngineComputeDevice *)d).totalCoreCount;
          }
        }
        return 0;
      }
      return -1;
    } @catch (NSException *ex) {
      return -1;
    }
  }
}
