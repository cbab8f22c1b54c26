/*
 * examples/common/latency.h -- latency samples and their summary, for the
 * acquirer's report and the end-to-end benchmark.  Every sample is kept (8
 * bytes each: a run of a million authorizations costs 8 MB) and the summary
 * sorts them once, so percentiles are exact rather than bucketed.
 */
#ifndef ISOFLOW_EXAMPLES_LATENCY_H
#define ISOFLOW_EXAMPLES_LATENCY_H

#include <stddef.h>
#include <stdint.h>

typedef struct iso__latencies {
  uint64_t *ns;
  size_t count;
  size_t cap;
} iso__latencies;

typedef struct iso__latency_summary {
  size_t count;
  uint64_t p50, p90, p99, max; /* nanoseconds; 0 when count is 0 */
} iso__latency_summary;

/** iso__latencies_add -- records one sample.  0 or ISO_E_NOMEM. */
int iso__latencies_add(iso__latencies *l, uint64_t ns);

/** iso__latencies_summarize -- sorts the samples and fills *out (the
 *  nearest-rank percentile: the smallest sample with at least p% of the
 *  samples at or below it). */
void iso__latencies_summarize(iso__latencies *l, iso__latency_summary *out);

/** iso__latencies_free -- releases the samples. */
void iso__latencies_free(iso__latencies *l);

#endif
