/*
 * tests/support/failing_alloc.h -- allocations that fail on purpose, for
 * the suites that check what the library does when memory runs out.
 *
 * A suite that uses this links with malloc, calloc and realloc wrapped
 * (ISOFLOW_LINK_OPTIONS_<suite> "-Wl,--wrap=malloc -Wl,--wrap=calloc
 * -Wl,--wrap=realloc" in its tests/<module>.cmake): every call the
 * statically linked library makes goes through failing_alloc.c, which
 * counts it and fails the one a test armed.  The allocations of shared
 * libraries (SQLite, OpenSSL, libuv, libc itself) are not affected.  Any
 * thread may allocate.
 */
#ifndef ISOFLOW_TESTS_FAILING_ALLOC_H
#define ISOFLOW_TESTS_FAILING_ALLOC_H

/* The call after n more succeed fails (once); n < 0 disarms. */
void fa_arm(long n);
/* Whether the armed failure has not happened yet. */
int fa_armed(void);
/* Allocation calls counted since the last fa_count_reset. */
long fa_count(void);
void fa_count_reset(void);

#endif
