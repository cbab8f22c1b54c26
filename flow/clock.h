/*
 * flow/clock.h -- the flow's clocks: the precise one that times stages
 * (profiler, journal stage records) and the coarse one that serves the
 * deadlines of transactions nobody times and the idempotency store's ages.
 *
 * The precise clock is CLOCK_MONOTONIC in nanoseconds.  clock_gettime costs
 * 16 to 40 ns on the VMs we run on, and a profiled transaction with five
 * participants reads it eleven times, so where the CPU has an invariant TSC
 * (constant_tsc and nonstop_tsc in /proc/cpuinfo, x86-64 only) the clock is
 * rdtsc scaled to nanoseconds instead.  Each thread keeps an anchor: a pair
 * (TSC, CLOCK_MONOTONIC) read together, taken again after a second of TSC
 * ticks, when the scale is refined from the second just measured.  So the
 * TSC clock stays within microseconds of CLOCK_MONOTONIC (NTP slewing
 * included) and never goes backwards on one thread, which is where a
 * transaction's times are all read.  Elsewhere: clock_gettime.
 */
#ifndef ISOFLOW_FLOW_CLOCK_H
#define ISOFLOW_FLOW_CLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define ISO__HAVE_TSC 1
#endif

/* CLOCK_MONOTONIC, in ns. */
static inline uint64_t iso__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The cheap clock (a few ns, ticks every 1-4 ms): used for the deadlines and
 * timeouts of transactions nobody profiles, and for the store's ages. */
static inline uint64_t iso__coarse_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* iso__clock_init -- decides, once per process, whether the TSC serves as
 * the precise clock (and measures its rate, ~2 ms).  Called by
 * iso_flow_new; before it, and on any thread, iso__now_ns is still correct
 * (it falls back to clock_gettime). */
void iso__clock_init(void);

/* iso__clock_uses_tsc -- whether the precise clock reads the TSC. */
bool iso__clock_uses_tsc(void);

#ifdef ISO__HAVE_TSC
/* One thread's anchor (see above); span == 0 until the first read. */
typedef struct iso__tsc_anchor {
  uint64_t tsc, ns;  /* read together */
  uint64_t mult;     /* ns per tick, times 2^32 */
  uint64_t span;     /* ticks after which to anchor again */
  uint64_t last;     /* the last value returned: never go back */
} iso__tsc_anchor;

extern bool iso__tsc_ok;
/* initial-exec: a plain %fs-relative load even in the shared library,
 * instead of a call to __tls_get_addr at every read. */
extern __thread iso__tsc_anchor iso__tsc_here
    __attribute__((tls_model("initial-exec")));
uint64_t iso__tsc_reanchor(uint64_t tsc);
#endif

/* iso__now_ns -- the precise clock, ns on CLOCK_MONOTONIC's scale. */
static inline uint64_t iso__now_ns(void) {
#ifdef ISO__HAVE_TSC
  if (iso__tsc_ok) {
    uint64_t t = __rdtsc();
    iso__tsc_anchor *a = &iso__tsc_here;
    uint64_t ticks = t - a->tsc;
    if (ticks < a->span) {
      uint64_t ns =
          a->ns + (uint64_t)(((unsigned __int128)ticks * a->mult) >> 32);
      if (ns < a->last) ns = a->last;
      a->last = ns;
      return ns;
    }
    return iso__tsc_reanchor(t);
  }
#endif
  return iso__mono_ns();
}

#endif /* ISOFLOW_FLOW_CLOCK_H */
