/* stdlib.h stub: only what the shims use. */
#pragma once
#include <stddef.h>
void *malloc(size_t size);
void *calloc(size_t n, size_t size);
void free(void *p);
