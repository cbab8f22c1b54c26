/*
 * bench/support/bench.h -- what every benchmark shares: clocks, the median
 * of a set of runs, and a count of the allocations made (bench/support/
 * allocs.c interposes malloc for every bench program).
 */
#ifndef ISOFLOW_BENCH_SUPPORT_BENCH_H
#define ISOFLOW_BENCH_SUPPORT_BENCH_H

#include <stddef.h>

/* Monotonic wall clock, in nanoseconds and in seconds. */
double bench_now_ns(void);
double bench_now_s(void);

/* This thread's CPU time in seconds: what a run costs whatever else the
 * machine runs (time spent waiting for the CPU is left out). */
double bench_cpu_s(void);

/* Sorts v[0..n) in place and returns its median (v[n / 2]); n > 0. */
double bench_median(double *v, size_t n);

/* malloc, calloc and realloc calls made so far by the whole program (the
 * library is linked statically, so its allocations are counted too).  A
 * plain counter: exact for a single-threaded measurement. */
unsigned long bench_allocs(void);

#endif
