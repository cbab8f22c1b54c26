/*
 * examples/common/tally.c -- per-thread counters (see tally.h).  A thread
 * finds its block of a tally through a small cache of its own (tally id ->
 * block); on a miss it searches the tally's list for the block it made
 * before, under the tally's lock, or makes one.  Blocks are 64-byte
 * aligned so that two threads' blocks never share a cache line.
 */
#include "examples/common/tally.h"

#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

struct iso__tally_block {
  iso__tally_block *next;
  pthread_t owner;
  _Alignas(64) _Atomic uint64_t v[];
};

enum { CACHE = 8 };

static _Atomic uint64_t next_id = 1;

/* This thread's recent blocks, by tally id (0: empty). */
static _Thread_local struct {
  uint64_t id;
  iso__tally_block *block;
} cache[CACHE];
static _Thread_local unsigned cache_next;

int iso__tally_init(iso__tally *t, size_t n) {
  memset(t, 0, sizeof *t);
  t->id = atomic_fetch_add(&next_id, 1);
  t->n = n;
  if (pthread_mutex_init(&t->lock, NULL)) return ISO_E_NOMEM;
  return 0;
}

void iso__tally_free(iso__tally *t) {
  for (iso__tally_block *b = t->blocks, *next; b; b = next) {
    next = b->next;
    free(b);
  }
  pthread_mutex_destroy(&t->lock);
  memset(t, 0, sizeof *t);
}

/* Finds or makes the calling thread's block (slow path: locked). */
static iso__tally_block *block_of_thread(iso__tally *t) {
  pthread_t self = pthread_self();
  pthread_mutex_lock(&t->lock);
  iso__tally_block *b = t->blocks;
  while (b && !pthread_equal(b->owner, self)) b = b->next;
  if (!b) {
    size_t bytes = sizeof *b + t->n * sizeof b->v[0];
    bytes = (bytes + 63) / 64 * 64;
    b = aligned_alloc(64, bytes);
    if (b) {
      memset(b, 0, bytes);
      b->owner = self;
      b->next = t->blocks;
      t->blocks = b;
    }
  }
  pthread_mutex_unlock(&t->lock);
  return b;
}

_Atomic uint64_t *iso__tally_mine(iso__tally *t) {
  for (unsigned i = 0; i < CACHE; i++)
    if (cache[i].id == t->id) return cache[i].block->v;
  iso__tally_block *b = block_of_thread(t);
  if (!b) return NULL;
  unsigned k = cache_next++ % CACHE;
  cache[k].id = t->id;
  cache[k].block = b;
  return b->v;
}

void iso__tally_add(iso__tally *t, size_t i, uint64_t v) {
  _Atomic uint64_t *mine = iso__tally_mine(t);
  if (!mine) return;
  /* Only this thread writes its block: no read-modify-write needed. */
  atomic_store_explicit(&mine[i], atomic_load_explicit(&mine[i], memory_order_relaxed) + v,
                        memory_order_relaxed);
}

uint64_t iso__tally_sum(iso__tally *t, size_t i) {
  uint64_t sum = 0;
  pthread_mutex_lock(&t->lock);
  for (iso__tally_block *b = t->blocks; b; b = b->next)
    sum += atomic_load_explicit(&b->v[i], memory_order_relaxed);
  pthread_mutex_unlock(&t->lock);
  return sum;
}

size_t iso__tally_threads(iso__tally *t) {
  size_t n = 0;
  pthread_mutex_lock(&t->lock);
  for (iso__tally_block *b = t->blocks; b; b = b->next) n++;
  pthread_mutex_unlock(&t->lock);
  return n;
}
