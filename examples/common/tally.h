/*
 * examples/common/tally.h -- counters kept per thread and summed on
 * reading, for what the example issuer counts once per transaction on
 * every worker loop (answers by MTI and response code, holds, captures,
 * authorization codes).  One shared atomic counter bumped by two loops on
 * two cores moves its cache line between the cores at every increment: in
 * a profile of the issuer at full speed, one such `lock add` per answer was
 * 0.8% of all its samples.  Here each thread writes only its own block (a
 * plain load and store, no lock prefix) and a reader (the admin endpoint,
 * a test) sums the blocks with relaxed loads: a sum read while the loops
 * run is a moment's value, exact once they are idle.
 */
#ifndef ISOFLOW_EXAMPLES_TALLY_H
#define ISOFLOW_EXAMPLES_TALLY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct iso__tally_block iso__tally_block;

/** A set of `n` counters, a block of them per thread that counts. */
typedef struct iso__tally {
  uint64_t id;               /* never reused: how threads find their block */
  size_t n;
  pthread_mutex_t lock;      /* guards the list of blocks */
  iso__tally_block *blocks;  /* owned */
} iso__tally;

/** iso__tally_init -- n counters, all 0.  0 or ISO_E_NOMEM. */
int iso__tally_init(iso__tally *t, size_t n);

/** iso__tally_free -- frees every block; no thread may count any more. */
void iso__tally_free(iso__tally *t);

/** iso__tally_mine -- the calling thread's block of t's counters (made on
 *  its first call; later calls find it in a small per-thread cache), for
 *  that thread alone to change with iso__tally_bump or its own loads and
 *  stores; NULL when out of memory. */
_Atomic uint64_t *iso__tally_mine(iso__tally *t);

/** iso__tally_add -- adds v to counter i (< n) in the calling thread's
 *  block; a counter whose block cannot be made is not counted. */
void iso__tally_add(iso__tally *t, size_t i, uint64_t v);

/** iso__tally_sum -- counter i summed over every thread's block (any
 *  thread). */
uint64_t iso__tally_sum(iso__tally *t, size_t i);

/** iso__tally_threads -- how many threads have a block (any thread). */
size_t iso__tally_threads(iso__tally *t);

#endif
