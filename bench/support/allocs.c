/*
 * bench/support/allocs.c -- a counting allocator for every bench program.
 *
 * The program defines malloc, calloc, realloc and free itself (glibc lets
 * an executable interpose them), counts every allocating call and forwards
 * to glibc's __libc_* entry points.  The library is linked statically, so
 * every allocation it makes goes through the counter (bench_allocs).
 */
#include <stddef.h>

#include "support/bench.h"

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);

static unsigned long alloc_calls;

unsigned long bench_allocs(void) { return alloc_calls; }

void *malloc(size_t n) {
  alloc_calls++;
  return __libc_malloc(n);
}

void *calloc(size_t a, size_t b) {
  alloc_calls++;
  return __libc_calloc(a, b);
}

void *realloc(void *p, size_t n) {
  alloc_calls++;
  return __libc_realloc(p, n);
}

void free(void *p) { __libc_free(p); }
