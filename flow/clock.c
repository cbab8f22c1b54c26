/*
 * flow/clock.c -- the TSC behind the precise clock (see clock.h): the
 * one-time check that the TSC is invariant, its rate measured against
 * CLOCK_MONOTONIC, and each thread's anchor, taken again every second.
 */
#include "flow/clock.h"

#include <stdio.h>
#include <string.h>

#include <uv.h>

#ifdef ISO__HAVE_TSC

bool iso__tsc_ok;
__thread iso__tsc_anchor iso__tsc_here
    __attribute__((tls_model("initial-exec")));
static uint64_t tsc_mult; /* ns per tick, times 2^32, measured at start */
static uint64_t tsc_span; /* ticks in one second */

/* A TSC reading and the CLOCK_MONOTONIC time it was taken at: the best of
 * a few tries, the one whose two clock reads lie closest together (a
 * preemption in between would spoil the pair). */
static uint64_t read_pair(uint64_t *tsc, uint64_t *ns) {
  uint64_t best = UINT64_MAX;
  *tsc = *ns = 0;
  for (int i = 0; i < 5; i++) {
    uint64_t before = iso__mono_ns();
    uint64_t t = __rdtsc();
    uint64_t after = iso__mono_ns();
    if (after - before < best) {
      best = after - before;
      *tsc = t;
      *ns = before + (after - before) / 2;
    }
  }
  return best; /* how far off *ns may be, twice over */
}

/* ns per tick times 2^32 over an interval; 0 when it makes no sense. */
static uint64_t rate(uint64_t ticks, uint64_t ns) {
  if (ticks == 0) return 0;
  unsigned __int128 m = ((unsigned __int128)ns << 32) / ticks;
  return m > UINT64_MAX ? 0 : (uint64_t)m;
}

/* Both flags say the TSC ticks at one rate whatever the CPU's frequency
 * and sleep state: the kernel's own condition for trusting it. */
static bool tsc_invariant(void) {
  FILE *in = fopen("/proc/cpuinfo", "r");
  if (!in) return false;
  char line[4096];
  bool ok = false;
  while (fgets(line, sizeof line, in)) {
    if (strncmp(line, "flags", 5) != 0) continue;
    ok = strstr(line, " constant_tsc") && strstr(line, " nonstop_tsc");
    break;
  }
  fclose(in);
  return ok;
}

/* The rate over 2 ms, from two pairs each good to 10 us (0.5 %; each
 * thread then refines it over whole seconds); 0 if no try manages. */
static uint64_t measure_rate(void) {
  for (int i = 0; i < 5; i++) {
    uint64_t t0, n0, t1, n1;
    uint64_t w0 = read_pair(&t0, &n0);
    while (iso__mono_ns() - n0 < 2000000u) {
    }
    uint64_t w1 = read_pair(&t1, &n1);
    if (w0 < 20000u && w1 < 20000u && t1 > t0) return rate(t1 - t0, n1 - n0);
  }
  return 0;
}

static void init_once(void) {
  if (!tsc_invariant()) return;
  uint64_t m = measure_rate();
  /* Between 100 MHz and 20 GHz, or something is off: keep clock_gettime. */
  if (m < (1ull << 32) / 20 || m > (10ull << 32)) return;
  tsc_mult = m;
  tsc_span = (uint64_t)(((unsigned __int128)1000000000u << 32) / m);
  iso__tsc_ok = true;
}

uint64_t iso__tsc_reanchor(uint64_t tsc) {
  (void)tsc; /* a fresh pair is read instead: it is as recent */
  iso__tsc_anchor *a = &iso__tsc_here;
  uint64_t t, ns;
  read_pair(&t, &ns);
  uint64_t m = tsc_mult;
  if (a->span && t > a->tsc) {
    /* The second just measured gives this thread's rate; trust it within
     * 1% of the start-up figure. */
    uint64_t seen = rate(t - a->tsc, ns - a->ns);
    if (seen > m - m / 100 && seen < m + m / 100) m = seen;
  }
  a->tsc = t;
  a->ns = ns;
  a->mult = m;
  a->span = tsc_span;
  if (ns < a->last) ns = a->last;
  a->last = ns;
  return ns;
}

bool iso__clock_uses_tsc(void) { return iso__tsc_ok; }

#else

static void init_once(void) {}

bool iso__clock_uses_tsc(void) { return false; }

#endif

void iso__clock_init(void) {
  static uv_once_t once = UV_ONCE_INIT;
  uv_once(&once, init_once);
}
