/*
 * examples/common/latency.c -- latency samples and exact percentiles (see
 * latency.h).
 */
#include "examples/common/latency.h"

#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

int iso__latencies_add(iso__latencies *l, uint64_t ns) {
  if (l->count == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 4096;
    uint64_t *p = realloc(l->ns, cap * sizeof *p);
    if (!p) return ISO_E_NOMEM;
    l->ns = p;
    l->cap = cap;
  }
  l->ns[l->count++] = ns;
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: ceil(p/1000 * n), 1-based. */
static uint64_t rank(const iso__latencies *l, unsigned permille) {
  size_t r = (l->count * permille + 999) / 1000;
  if (r == 0) r = 1;
  return l->ns[r - 1];
}

void iso__latencies_summarize(iso__latencies *l, iso__latency_summary *out) {
  memset(out, 0, sizeof *out);
  out->count = l->count;
  if (l->count == 0) return;
  qsort(l->ns, l->count, sizeof *l->ns, cmp_u64);
  out->p50 = rank(l, 500);
  out->p90 = rank(l, 900);
  out->p99 = rank(l, 990);
  out->max = l->ns[l->count - 1];
}

void iso__latencies_free(iso__latencies *l) {
  free(l->ns);
  memset(l, 0, sizeof *l);
}
