/*
 * examples/issuer/participants/authlog.c -- the authorization log that
 * reversals search: the newest `limit` committed authorizations (default
 * ISO__AUTH_LOG_DEFAULT), found by terminal + RRN (DE 41 + DE 37) or by
 * terminal + STAN + transmission time (DE 41 + DE 11 + DE 7, the parts of
 * DE 90 that identify the original).  A ring of slots with two
 * open-addressing tables over it, under one mutex: once the ring is full a
 * new entry evicts the oldest (its table entries removed by backward-shift
 * deletion, O(1) on average), so the log's memory stops growing at the
 * limit.  An older original is looked up in the journal (lookup.c).
 *
 * Lookups happen once per reversal and insertions once per approval, so the
 * lock is short and rarely contended.  A reversal claims its original under
 * the lock (CAPTURED -> REVERSING) and holds the entry until it settles it;
 * an entry evicted while held leaves the ring and the tables for a short
 * list of held entries, where lookups still find it (so a second reversal
 * of the same original sees the claim however many approvals pass), and
 * goes back to the pool at the settle.
 *
 * What an approval costs here is cache misses in tables of millions of
 * buckets, so: the tables are made once for the limit (never rehashed under
 * the lock) on huge pages; entries come from a pool of chunks, not one
 * malloc each; the key's hashes are computed and its buckets prefetched
 * before the lock is taken, and the next eviction's entry and buckets are
 * prefetched at the end of each insertion.
 */
#include "examples/issuer/participants/issuer.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "isoflow/error.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void)(p), (void)(n))
#endif

/* FNV-1a over the key parts, separated so "ab"+"c" differs from "a"+"bc",
 * then a final mix: FNV's low bits depend only on the inputs' low bits
 * (multiplication carries upward), and the table index is the low bits --
 * without the mix, keys that differ in a digit or two cluster and linear
 * probing crawls (it cost 12% of a worker in a profile). */
static uint64_t hash_parts(const char *a, const char *b, const char *c) {
  uint64_t h = 1469598103934665603ull;
  const char *parts[3] = {a, b, c};
  for (int i = 0; i < 3; i++) {
    for (const char *p = parts[i] ? parts[i] : ""; *p; p++) {
      h ^= (uint8_t)*p;
      h *= 1099511628211ull;
    }
    h ^= 0xff;
    h *= 1099511628211ull;
  }
  h ^= h >> 33; /* murmur3's fmix64 */
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  h ^= h >> 33;
  return h;
}

/* Entries per chunk of the pool (~360 KB). */
enum { CHUNK_ENTRIES = 4096 };

int iso__auth_log_init(iso__auth_log *log, size_t limit) {
  memset(log, 0, sizeof *log);
  log->limit = limit ? limit : ISO__AUTH_LOG_DEFAULT;
  if (pthread_mutex_init(&log->lock, NULL)) return ISO_E_NOMEM;
  return 0;
}

void iso__auth_log_free(iso__auth_log *log) {
  for (size_t i = 0; i < log->chunk_count; i++) {
    ASAN_UNPOISON_MEMORY_REGION(log->chunks[i], CHUNK_ENTRIES * sizeof(iso__auth_entry));
    free(log->chunks[i]);
  }
  free(log->chunks);
  free(log->held);
  free(log->slots);
  if (log->table_bytes) munmap(log->by_stan, log->table_bytes);
  pthread_mutex_destroy(&log->lock);
  memset(log, 0, sizeof *log);
}

/* ---- the entry pool (locked) -------------------------------------------- */

static iso__auth_entry *pool_get(iso__auth_log *log) {
  iso__auth_entry *e = log->free_list;
  if (e) {
    ASAN_UNPOISON_MEMORY_REGION(e, sizeof *e);
    log->free_list = e->next;
    return e;
  }
  if (!log->chunk_count || log->chunk_used == CHUNK_ENTRIES) {
    iso__auth_entry **chunks = realloc(log->chunks, (log->chunk_count + 1) * sizeof *chunks);
    if (!chunks) return NULL;
    log->chunks = chunks;
    iso__auth_entry *chunk = malloc(CHUNK_ENTRIES * sizeof *chunk);
    if (!chunk) return NULL;
    log->chunks[log->chunk_count++] = chunk;
    log->chunk_used = 0;
  }
  return &log->chunks[log->chunk_count - 1][log->chunk_used++];
}

/* An entry given back: a pointer to it kept past its settle or eviction is
 * a use after free to AddressSanitizer, as if it had been freed. */
static void pool_put(iso__auth_log *log, iso__auth_entry *e) {
  e->next = log->free_list;
  log->free_list = e;
  ASAN_POISON_MEMORY_REGION(e, sizeof *e);
}

/* ---- the tables ---------------------------------------------------------- */

static uint32_t rrn_hash(const iso__auth_entry *e) {
  return (uint32_t)hash_parts(e->terminal, e->rrn, NULL);
}
static uint32_t stan_hash(const iso__auth_entry *e) {
  return (uint32_t)hash_parts(e->terminal, e->stan, e->when);
}

/* Both tables in one anonymous mapping, sized for `limit` (at most half
 * full) and asking for transparent huge pages: a probe is a random access
 * in tens of megabytes, and with 4 KiB pages each one is a TLB miss as
 * well as a cache miss (a two-level page walk under a hypervisor).  The
 * pages are zero and faulted in as the tables fill. */
static int tables_alloc(iso__auth_log *log) {
  size_t buckets = 2048;
  while (buckets < 2 * log->limit) buckets *= 2;
  size_t bytes = 2 * buckets * sizeof(iso__auth_bucket);
  void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return ISO_E_NOMEM;
#ifdef MADV_HUGEPAGE
  madvise(p, bytes, MADV_HUGEPAGE); /* advice: without it, 4 KiB pages */
#endif
  log->by_stan = p;
  log->by_rrn = log->by_stan + buckets;
  log->table_bytes = bytes;
  atomic_store_explicit(&log->buckets, buckets, memory_order_release);
  return 0;
}

static void table_put(iso__auth_bucket *table, size_t buckets, uint32_t h, size_t slot) {
  size_t i = h & (buckets - 1);
  while (table[i].slot) i = (i + 1) & (buckets - 1);
  table[i] = (iso__auth_bucket){.hash = h, .slot = (int32_t)slot + 1};
}

/* Removes slot from a table (locked): linear probing's backward-shift
 * deletion, which moves later members of the probe run into the hole so
 * that no tombstones accumulate. */
static void table_del(iso__auth_log *log, iso__auth_bucket *table, uint32_t h, size_t slot) {
  size_t mask = log->buckets - 1, i = h & mask;
  while (table[i].slot && table[i].slot != (int32_t)slot + 1) i = (i + 1) & mask;
  if (!table[i].slot) return;
  size_t j = i;
  for (;;) {
    table[i].slot = 0;
    for (;;) {
      j = (j + 1) & mask;
      if (!table[j].slot) return;
      size_t k = table[j].hash & mask; /* buckets <= 2^32: the stored bits suffice */
      /* It stays when its home bucket lies cyclically in (i, j]. */
      bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
      if (!stays) break;
    }
    table[i] = table[j];
    i = j;
  }
}

/* Starts loading what the next eviction will touch (locked): the oldest
 * slot's entry and its buckets.  The loads overlap each other and the
 * work between two additions instead of following one another. */
static void prefetch_oldest(const iso__auth_log *log) {
  if (log->count < log->limit) return;
  const iso__auth_slot *old = &log->slots[log->head];
  size_t mask = log->buckets - 1;
  __builtin_prefetch(old->entry);
  __builtin_prefetch(&log->by_stan[old->stan_hash & mask]);
  if (old->rrn_hash) __builtin_prefetch(&log->by_rrn[old->rrn_hash & mask]);
}

/* Makes room for one more slot (locked): the ring grows up to the limit;
 * the tables are made once, for the limit. */
static int grow(iso__auth_log *log) {
  if (!log->buckets) {
    int rc = tables_alloc(log);
    if (rc < 0) return rc;
  }
  if (log->count == log->cap && log->cap < log->limit) {
    size_t cap = log->cap ? log->cap * 2 : 1024;
    if (cap > log->limit) cap = log->limit;
    iso__auth_slot *n = realloc(log->slots, cap * sizeof *n);
    if (!n) return ISO_E_NOMEM;
    log->slots = n;
    log->cap = cap;
  }
  return 0;
}

/* Room in the held list for one more entry (locked). */
static int reserve_held(iso__auth_log *log) {
  if (log->held_count < log->held_cap) return 0;
  size_t cap = log->held_cap ? log->held_cap * 2 : 16;
  iso__auth_entry **n = realloc(log->held, cap * sizeof *n);
  if (!n) return ISO_E_NOMEM;
  log->held = n;
  log->held_cap = cap;
  return 0;
}

static iso__auth_hashes hashes_of(const iso__auth_entry *e) {
  iso__auth_hashes h = {.stan = stan_hash(e)};
  if (e->rrn[0]) h.rrn = rrn_hash(e) | 1u; /* never 0: "no DE 37" */
  return h;
}

/* Starts loading the buckets a key will probe; the tables are read without
 * the lock, so only once they exist (they never move afterwards). */
static void prefetch_key(const iso__auth_log *log, iso__auth_hashes h) {
  size_t buckets = atomic_load_explicit(&log->buckets, memory_order_acquire);
  if (!buckets) return;
  __builtin_prefetch(&log->by_stan[h.stan & (buckets - 1)]);
  if (h.rrn) __builtin_prefetch(&log->by_rrn[h.rrn & (buckets - 1)]);
}

/* Puts a copy of e into the log (locked), evicting the oldest when full.
 * An evicted entry that a reversal holds moves to the held list. */
static int insert(iso__auth_log *log, const iso__auth_entry *e, iso__auth_hashes h) {
  int rc = grow(log);
  if (rc < 0) return rc;
  /* Every step that can fail comes before the log changes. */
  iso__auth_slot *oldest = log->count < log->limit ? NULL : &log->slots[log->head];
  if (oldest && oldest->entry->state == ISO__AUTH_REVERSING && (rc = reserve_held(log)) < 0)
    return rc;
  iso__auth_entry *copy = pool_get(log);
  if (!copy) return ISO_E_NOMEM;
  size_t slot;
  if (!oldest) {
    slot = log->count++;
  } else {
    slot = log->head;
    iso__auth_slot *old = oldest;
    log->head = (log->head + 1) % log->limit;
    if (old->rrn_hash) table_del(log, log->by_rrn, old->rrn_hash, slot);
    table_del(log, log->by_stan, old->stan_hash, slot);
    if (old->entry->state == ISO__AUTH_REVERSING) {
      old->entry->evicted = true; /* its reversal gives it back */
      log->held[log->held_count++] = old->entry;
    } else {
      pool_put(log, old->entry);
    }
    old->entry = NULL;
    log->evictions++;
  }
  memcpy(copy, e, sizeof *copy);
  copy->evicted = false;
  copy->next = NULL;
  copy->seq = ++log->next_seq;
  log->slots[slot] = (iso__auth_slot){.entry = copy, .rrn_hash = h.rrn, .stan_hash = h.stan};
  if (h.rrn) table_put(log->by_rrn, log->buckets, h.rrn, slot);
  table_put(log->by_stan, log->buckets, h.stan, slot);
  prefetch_oldest(log);
  return 0;
}

/* Whether e is the authorization key names: DE 41 and DE 37 when by_rrn,
 * else DE 41, DE 11 and DE 7. */
static bool same_identity(const iso__auth_entry *e, const iso__auth_entry *key,
                          bool by_rrn) {
  return !strcmp(e->terminal, key->terminal) &&
         (by_rrn ? !strcmp(e->rrn, key->rrn)
                 : !strcmp(e->stan, key->stan) && !strcmp(e->when, key->when));
}

/* The newest entry with key's identity (locked); by DE 37 when by_rrn;
 * h: the key's hash for that table. */
static iso__auth_entry *find_hashed(iso__auth_log *log, const iso__auth_entry *key, bool by_rrn,
                                    uint32_t h) {
  iso__auth_entry *found = NULL;
  if (log->buckets) {
    const iso__auth_bucket *table = by_rrn ? log->by_rrn : log->by_stan;
    size_t mask = log->buckets - 1;
    for (size_t i = h & mask; table[i].slot; i = (i + 1) & mask) {
      if (table[i].hash != h) continue;
      iso__auth_entry *e = log->slots[table[i].slot - 1].entry;
      if (same_identity(e, key, by_rrn) && (!found || e->seq > found->seq)) found = e;
    }
  }
  for (size_t i = 0; i < log->held_count; i++) {
    iso__auth_entry *e = log->held[i];
    if (same_identity(e, key, by_rrn) && (!found || e->seq > found->seq)) found = e;
  }
  return found;
}

static iso__auth_entry *find(iso__auth_log *log, const iso__auth_entry *key, bool by_rrn) {
  if (by_rrn && !key->rrn[0]) return NULL;
  iso__auth_hashes h = hashes_of(key);
  return find_hashed(log, key, by_rrn, by_rrn ? h.rrn : h.stan);
}

/* The original the keys name (locked): DE 90 first, then DE 37. */
static iso__auth_entry *find_original(iso__auth_log *log, const iso__original_keys *k) {
  iso__auth_entry *e = k->has_de90 ? find(log, &k->by_de90, false) : NULL;
  if (!e && k->has_rrn) e = find(log, &k->by_rrn, true);
  return e;
}

iso__auth_hashes iso__auth_hashes_of(const iso__auth_entry *e) { return hashes_of(e); }

void iso__auth_log_prefetch(const iso__auth_log *log, iso__auth_hashes h) {
  prefetch_key(log, h);
}

iso__auth_hashes iso__auth_log_hashes(const iso__auth_log *log, const iso__auth_entry *e) {
  iso__auth_hashes h = hashes_of(e);
  prefetch_key(log, h);
  return h;
}

int iso__auth_log_add(iso__auth_log *log, const iso__auth_entry *e) {
  return iso__auth_log_add_hashed(log, e, iso__auth_log_hashes(log, e));
}

int iso__auth_log_add_hashed(iso__auth_log *log, const iso__auth_entry *e, iso__auth_hashes h) {
  pthread_mutex_lock(&log->lock);
  /* The same authorization (DE 41, 11, 7 and 37 all equal) is there
   * already when a reversal brought it from the journal between its
   * decision and this commit: that entry (maybe reversed) stands. */
  iso__auth_entry *same = find_hashed(log, e, false, h.stan);
  int rc = 0;
  if (!same || strcmp(same->rrn, e->rrn)) rc = insert(log, e, h);
  pthread_mutex_unlock(&log->lock);
  return rc;
}

int iso__auth_log_admit(iso__auth_log *log, const iso__auth_entry *e) {
  iso__auth_hashes h = hashes_of(e);
  pthread_mutex_lock(&log->lock);
  int rc = 0;
  if (!find_hashed(log, e, false, h.stan) && !(h.rrn && find_hashed(log, e, true, h.rrn)))
    rc = insert(log, e, h);
  pthread_mutex_unlock(&log->lock);
  return rc;
}

iso__auth_claim iso__auth_log_claim(iso__auth_log *log, const iso__original_keys *k,
                                    iso__auth_entry **out) {
  *out = NULL;
  pthread_mutex_lock(&log->lock);
  iso__auth_entry *e = find_original(log, k);
  iso__auth_claim c = ISO__CLAIM_UNKNOWN;
  if (e && e->state == ISO__AUTH_CAPTURED) {
    e->state = ISO__AUTH_REVERSING;
    *out = e;
    c = ISO__CLAIM_TAKEN;
  } else if (e) {
    c = ISO__CLAIM_ALREADY;
  }
  pthread_mutex_unlock(&log->lock);
  return c;
}

void iso__auth_log_settle(iso__auth_log *log, iso__auth_entry *e, bool reversed) {
  pthread_mutex_lock(&log->lock);
  e->state = reversed ? ISO__AUTH_REVERSED : ISO__AUTH_CAPTURED;
  bool gone = e->evicted;
  for (size_t i = 0; gone && i < log->held_count; i++)
    if (log->held[i] == e) {
      log->held[i] = log->held[--log->held_count];
      break;
    }
  if (gone) pool_put(log, e);
  pthread_mutex_unlock(&log->lock);
}

bool iso__auth_log_mark_reversed(iso__auth_log *log, const iso__original_keys *k) {
  pthread_mutex_lock(&log->lock);
  iso__auth_entry *e = find_original(log, k);
  if (e && e->state != ISO__AUTH_REVERSING) e->state = ISO__AUTH_REVERSED;
  pthread_mutex_unlock(&log->lock);
  return e != NULL;
}

bool iso__auth_log_has(iso__auth_log *log, const iso__original_keys *k) {
  pthread_mutex_lock(&log->lock);
  bool has = find_original(log, k) != NULL;
  pthread_mutex_unlock(&log->lock);
  return has;
}

void iso__auth_entry_from(iso__auth_entry *e, const iso_msg *request) {
  memset(e, 0, sizeof *e);
  iso__field_str(request, 41, e->terminal, sizeof e->terminal);
  iso__field_str(request, 37, e->rrn, sizeof e->rrn);
  iso__field_str(request, 11, e->stan, sizeof e->stan);
  iso__field_str(request, 7, e->when, sizeof e->when);
  e->state = ISO__AUTH_CAPTURED;
}

void iso__original_keys_from(iso__original_keys *k, const iso_msg *reversal) {
  char terminal[16] = "", de90[43];
  memset(k, 0, sizeof *k);
  iso__field_str(reversal, 41, terminal, sizeof terminal);
  memcpy(k->by_de90.terminal, terminal, sizeof terminal);
  memcpy(k->by_rrn.terminal, terminal, sizeof terminal);
  if (iso__field_str(reversal, 90, de90, sizeof de90) && strlen(de90) == 42) {
    memcpy(k->by_de90.stan, de90 + 4, 6);
    memcpy(k->by_de90.when, de90 + 10, 10);
    k->has_de90 = true;
  }
  k->has_rrn = iso__field_str(reversal, 37, k->by_rrn.rrn, sizeof k->by_rrn.rrn) &&
               k->by_rrn.rrn[0];
}
