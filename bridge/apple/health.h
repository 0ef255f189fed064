/* health.h: plain C interface of the health shim (health_darwin.m).
   No Objective-C types: cgo parses this header with a C compiler. */
#ifndef PIPE_APPLE_HEALTH_H
#define PIPE_APPLE_HEALTH_H
#include <stdint.h>

typedef struct {
  uint64_t recommended_max_working_set; /* recommendedMaxWorkingSetSize */
  uint64_t current_allocated;           /* currentAllocatedSize */
  int32_t unified_memory;               /* hasUnifiedMemory */
  char name[128];                       /* MTLDevice.name, NUL-terminated */
} ab_gpu_memory;

/* ab_thermal_state returns NSProcessInfo.thermalState (0..3), -1 on failure. */
int32_t ab_thermal_state(void);

/* ab_gpu_memory_read fills out from the default Metal device; returns 0, or
   -1 when there is no Metal device. */
int32_t ab_gpu_memory_read(ab_gpu_memory *out);

/* ab_neural_engine_cores returns the Neural Engine's core count from
   MLAllComputeDevices (macOS 14+), 0 when there is none, -1 when the OS is
   too old to tell. */
int32_t ab_neural_engine_cores(void);

#endif
