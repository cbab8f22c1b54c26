/*
 * tests/support/failing_alloc.c -- the wrapped malloc, calloc and realloc
 * behind failing_alloc.h.  Linked into a suite only when its link options
 * wrap those functions (nothing else refers to these symbols).
 */
#include "support/failing_alloc.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

void *__real_malloc(size_t size);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_malloc(size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);

static _Atomic long countdown = -1;
static _Atomic long calls;

void fa_arm(long n) { atomic_store(&countdown, n < 0 ? -1 : n); }
int fa_armed(void) { return atomic_load(&countdown) >= 0; }
long fa_count(void) { return atomic_load(&calls); }
void fa_count_reset(void) { atomic_store(&calls, 0); }

static bool fail_now(void) {
  atomic_fetch_add(&calls, 1);
  long c = atomic_load(&countdown);
  while (c >= 0)
    if (atomic_compare_exchange_weak(&countdown, &c, c - 1)) return c == 0;
  return false;
}

void *__wrap_malloc(size_t size) { return fail_now() ? NULL : __real_malloc(size); }

void *__wrap_calloc(size_t n, size_t size) {
  return fail_now() ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size) {
  return fail_now() ? NULL : __real_realloc(p, size);
}
