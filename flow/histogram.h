/*
 * flow/histogram.h -- a fixed-size, log-linear latency histogram (in the
 * manner of HdrHistogram) for nanosecond values up to 60 s at two
 * significant digits.
 *
 * Values below 256 ns have a bucket each; above, every power-of-two range is
 * cut into 128 equal buckets, so a recorded value is off by less than 1/128
 * (0.8 %).  A histogram is written by one thread (its loop) and may be read
 * by others at any time: counters are relaxed atomics, so reading is a
 * moment-old snapshot, never a torn one.  Merging adds counters.
 */
#ifndef ISOFLOW_FLOW_HISTOGRAM_H
#define ISOFLOW_FLOW_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#include "isoflow/flow.h"

#define ISO__HIST_MAX_NS 60000000000ull /* larger values count as 60 s */
#define ISO__HIST_LINEAR 256            /* one bucket a ns below this */
#define ISO__HIST_SUB 128               /* buckets per power of two above */
#define ISO__HIST_BUCKETS (ISO__HIST_LINEAR + 28 * ISO__HIST_SUB)

typedef struct iso__hist {
  _Atomic uint64_t max; /* no count: a reader sums the buckets */
  _Atomic uint64_t buckets[ISO__HIST_BUCKETS];
} iso__hist;

/* A plain (non-atomic) copy, for merging and computing percentiles. */
typedef struct iso__hist_snap {
  uint64_t count;
  uint64_t max;
  uint64_t buckets[ISO__HIST_BUCKETS];
} iso__hist_snap;

/* iso__hist_index -- the bucket of a value, without a branch: values below
 * 256 are their own bucket (the formula gives shift 0 for them), larger
 * ones keep their top 8 bits. */
static inline unsigned iso__hist_index(uint64_t ns) {
  ns = ns < ISO__HIST_MAX_NS ? ns : ISO__HIST_MAX_NS;
  unsigned shift = 56u - (unsigned)__builtin_clzll(ns | 0x80u); /* msb - 7 */
  return shift * ISO__HIST_SUB + (unsigned)(ns >> shift);
}

/* iso__hist_record -- adds one value; called by the owning thread only, so
 * a load and a store (a plain add) is enough for its bucket.  It runs at
 * every stage of every transaction: one bucket and the maximum are all it
 * writes. */
static inline void iso__hist_record(iso__hist *h, uint64_t ns) {
  unsigned b = iso__hist_index(ns);
  atomic_store_explicit(
      &h->buckets[b],
      atomic_load_explicit(&h->buckets[b], memory_order_relaxed) + 1,
      memory_order_relaxed);
  uint64_t max = atomic_load_explicit(&h->max, memory_order_relaxed);
  atomic_store_explicit(&h->max, ns > max ? ns : max, memory_order_relaxed);
}

/* iso__hist_merge -- adds h's counters into snap (any thread). */
void iso__hist_merge(iso__hist_snap *snap, const iso__hist *h);

/* iso__hist_value_at -- the value at quantile q (0..1] of snap: the highest
 * value of the bucket holding it, capped at the recorded maximum. */
uint64_t iso__hist_value_at(const iso__hist_snap *snap, double q);

/* iso__hist_summary -- count, p50 ... p99.99 and max of snap. */
void iso__hist_summary(const iso__hist_snap *snap, iso_latency *out);

/* Bucket arithmetic, exposed for the tests. */
unsigned iso__hist_bucket(uint64_t ns);
uint64_t iso__hist_bucket_high(unsigned bucket);

#endif /* ISOFLOW_FLOW_HISTOGRAM_H */
