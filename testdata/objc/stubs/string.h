/* string.h stub: only what the shims use. */
#pragma once
#include <stddef.h>
void *memcpy(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
char *strncpy(char *dst, const char *src, size_t n);
size_t strlen(const char *s);
