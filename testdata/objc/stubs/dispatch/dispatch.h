/* dispatch.h stub: semaphores and time, as used by the shims. */
#pragma once
#include <stdint.h>
typedef uint64_t dispatch_time_t;
typedef struct dispatch_semaphore_s *dispatch_semaphore_t;
#define DISPATCH_TIME_NOW (0ull)
#define NSEC_PER_SEC 1000000000ull
dispatch_time_t dispatch_time(dispatch_time_t when, int64_t delta);
dispatch_semaphore_t dispatch_semaphore_create(long value);
long dispatch_semaphore_wait(dispatch_semaphore_t dsema, dispatch_time_t timeout);
long dispatch_semaphore_signal(dispatch_semaphore_t dsema);
