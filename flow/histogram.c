/*
 * flow/histogram.c -- the log-linear latency histogram behind the profiler
 * (see histogram.h for the bucket layout and the threading rule).
 */
#include "flow/histogram.h"

#include <string.h>

#define RELAXED memory_order_relaxed

unsigned iso__hist_bucket(uint64_t ns) { return iso__hist_index(ns); }

uint64_t iso__hist_bucket_high(unsigned bucket) {
  if (bucket < ISO__HIST_LINEAR) return bucket;
  unsigned rel = bucket - ISO__HIST_LINEAR;
  unsigned msb = rel / ISO__HIST_SUB + 8u;
  unsigned sub = rel % ISO__HIST_SUB;
  unsigned shift = msb - 7u;
  uint64_t low = (uint64_t)(ISO__HIST_SUB + sub) << shift;
  return low + (1ull << shift) - 1u;
}

void iso__hist_merge(iso__hist_snap *snap, const iso__hist *h) {
  /* The count is the sum of the buckets (recording keeps no separate
   * count), so a snapshot taken while the owner writes stays
   * self-consistent. */
  uint64_t total = 0;
  for (unsigned i = 0; i < ISO__HIST_BUCKETS; i++) {
    uint64_t c = atomic_load_explicit(&h->buckets[i], RELAXED);
    snap->buckets[i] += c;
    total += c;
  }
  snap->count += total;
  uint64_t m = atomic_load_explicit(&h->max, RELAXED);
  if (m > snap->max) snap->max = m;
}

uint64_t iso__hist_value_at(const iso__hist_snap *snap, double q) {
  if (snap->count == 0) return 0;
  if (q <= 0) q = 0;
  if (q > 1) q = 1;
  /* The rank of the value at q, 1-based, rounded up. */
  double want = q * (double)snap->count;
  uint64_t rank = (uint64_t)want;
  if ((double)rank < want) rank++;
  if (rank == 0) rank = 1;
  uint64_t seen = 0;
  for (unsigned i = 0; i < ISO__HIST_BUCKETS; i++) {
    seen += snap->buckets[i];
    if (seen >= rank) {
      uint64_t v = iso__hist_bucket_high(i);
      return v < snap->max ? v : snap->max;
    }
  }
  return snap->max;
}

void iso__hist_summary(const iso__hist_snap *snap, iso_latency *out) {
  memset(out, 0, sizeof *out);
  out->count = snap->count;
  out->max = snap->max;
  out->p50 = iso__hist_value_at(snap, 0.50);
  out->p90 = iso__hist_value_at(snap, 0.90);
  out->p99 = iso__hist_value_at(snap, 0.99);
  out->p999 = iso__hist_value_at(snap, 0.999);
  out->p9999 = iso__hist_value_at(snap, 0.9999);
}
