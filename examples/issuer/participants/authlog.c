/*
 * examples/issuer/participants/authlog.c -- the authorization log that
 * reversals search: the newest `limit` committed authorizations (default
 * ISO__AUTH_LOG_DEFAULT), found by terminal + RRN (DE 41 + DE 37) or by
 * terminal + STAN + transmission time (DE 41 + DE 11 + DE 7, the parts of
 * DE 90 that identify the original).  A ring of entry slots with two
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
 * of the same original sees the claim however many approvals pass), and is
 * freed at the settle.
 */
#include "examples/issuer/participants/issuer.h"

#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

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

int iso__auth_log_init(iso__auth_log *log, size_t limit) {
  memset(log, 0, sizeof *log);
  log->limit = limit ? limit : ISO__AUTH_LOG_DEFAULT;
  if (pthread_mutex_init(&log->lock, NULL)) return ISO_E_NOMEM;
  return 0;
}

void iso__auth_log_free(iso__auth_log *log) {
  for (size_t i = 0; i < log->count; i++) free(log->entries[i]);
  for (size_t i = 0; i < log->held_count; i++) free(log->held[i]);
  free(log->held);
  free(log->entries);
  free(log->by_rrn);
  free(log->by_stan);
  pthread_mutex_destroy(&log->lock);
  memset(log, 0, sizeof *log);
}

static uint64_t rrn_hash(const iso__auth_entry *e) {
  return hash_parts(e->terminal, e->rrn, NULL);
}
static uint64_t stan_hash(const iso__auth_entry *e) {
  return hash_parts(e->terminal, e->stan, e->when);
}

static void table_put(iso__auth_bucket *table, size_t buckets, uint64_t h, size_t slot) {
  size_t i = h & (buckets - 1);
  while (table[i].slot) i = (i + 1) & (buckets - 1);
  table[i] = (iso__auth_bucket){.hash = (uint32_t)h, .slot = (int32_t)slot + 1};
}

/* Removes slot from a table (locked): linear probing's backward-shift
 * deletion, which moves later members of the probe run into the hole so
 * that no tombstones accumulate. */
static void table_del(iso__auth_log *log, iso__auth_bucket *table, uint64_t h, size_t slot) {
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

/* Makes room for one more entry (locked): grows the ring up to the limit
 * and doubles the tables when they would pass half full. */
static int grow(iso__auth_log *log) {
  if (log->count == log->cap && log->cap < log->limit) {
    size_t cap = log->cap ? log->cap * 2 : 1024;
    if (cap > log->limit) cap = log->limit;
    iso__auth_entry **n = realloc(log->entries, cap * sizeof *n);
    if (!n) return ISO_E_NOMEM;
    log->entries = n;
    log->cap = cap;
  }
  if (log->count + 1 <= log->buckets / 2) return 0;
  if (log->count == log->limit) return 0; /* the new entry replaces one */
  size_t buckets = log->buckets ? log->buckets * 2 : 2048;
  iso__auth_bucket *r = calloc(buckets, sizeof *r), *s = calloc(buckets, sizeof *s);
  if (!r || !s) {
    free(r);
    free(s);
    return ISO_E_NOMEM;
  }
  for (size_t i = 0; i < log->count; i++) {
    if (log->entries[i]->rrn[0]) table_put(r, buckets, rrn_hash(log->entries[i]), i);
    table_put(s, buckets, stan_hash(log->entries[i]), i);
  }
  free(log->by_rrn);
  free(log->by_stan);
  log->by_rrn = r;
  log->by_stan = s;
  log->buckets = buckets;
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

/* Puts copy into the log (locked), evicting the oldest when full.  An
 * evicted entry that a reversal holds moves to the held list. */
static int insert(iso__auth_log *log, iso__auth_entry *copy) {
  int rc = grow(log);
  if (rc < 0) return rc;
  size_t slot;
  if (log->count < log->limit) {
    slot = log->count++;
  } else {
    slot = log->head;
    iso__auth_entry *old = log->entries[slot];
    if (old->state == ISO__AUTH_REVERSING && (rc = reserve_held(log)) < 0) return rc;
    log->head = (log->head + 1) % log->limit;
    if (old->rrn[0]) table_del(log, log->by_rrn, rrn_hash(old), slot);
    table_del(log, log->by_stan, stan_hash(old), slot);
    if (old->state == ISO__AUTH_REVERSING) {
      old->evicted = true; /* its reversal frees it */
      log->held[log->held_count++] = old;
    } else {
      free(old);
    }
    log->evictions++;
  }
  copy->seq = ++log->next_seq;
  log->entries[slot] = copy;
  if (copy->rrn[0]) table_put(log->by_rrn, log->buckets, rrn_hash(copy), slot);
  table_put(log->by_stan, log->buckets, stan_hash(copy), slot);
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

/* The newest entry with key's identity (locked); by DE 37 when by_rrn. */
static iso__auth_entry *find(iso__auth_log *log, const iso__auth_entry *key, bool by_rrn) {
  if (!log->buckets || (by_rrn && !key->rrn[0])) return NULL;
  const iso__auth_bucket *table = by_rrn ? log->by_rrn : log->by_stan;
  uint64_t h = by_rrn ? rrn_hash(key) : stan_hash(key);
  iso__auth_entry *found = NULL;
  for (size_t i = h & (log->buckets - 1); table[i].slot; i = (i + 1) & (log->buckets - 1)) {
    if (table[i].hash != (uint32_t)h) continue;
    iso__auth_entry *e = log->entries[table[i].slot - 1];
    if (same_identity(e, key, by_rrn) && (!found || e->seq > found->seq)) found = e;
  }
  for (size_t i = 0; i < log->held_count; i++) {
    iso__auth_entry *e = log->held[i];
    if (same_identity(e, key, by_rrn) && (!found || e->seq > found->seq)) found = e;
  }
  return found;
}

/* The original the keys name (locked): DE 90 first, then DE 37. */
static iso__auth_entry *find_original(iso__auth_log *log, const iso__original_keys *k) {
  iso__auth_entry *e = k->has_de90 ? find(log, &k->by_de90, false) : NULL;
  if (!e && k->has_rrn) e = find(log, &k->by_rrn, true);
  return e;
}

int iso__auth_log_add(iso__auth_log *log, const iso__auth_entry *e) {
  iso__auth_entry *copy = malloc(sizeof *copy);
  if (!copy) return ISO_E_NOMEM;
  memcpy(copy, e, sizeof *copy);
  copy->evicted = false;
  pthread_mutex_lock(&log->lock);
  /* The same authorization (DE 41, 11, 7 and 37 all equal) is there
   * already when a reversal brought it from the journal between its
   * decision and this commit: that entry (maybe reversed) stands. */
  iso__auth_entry *same = find(log, e, false);
  int rc = 0;
  if (same && !strcmp(same->rrn, e->rrn))
    rc = 1;
  else
    rc = insert(log, copy);
  pthread_mutex_unlock(&log->lock);
  if (rc != 0) free(copy);
  return rc < 0 ? rc : 0;
}

int iso__auth_log_admit(iso__auth_log *log, const iso__auth_entry *e) {
  iso__auth_entry *copy = malloc(sizeof *copy);
  if (!copy) return ISO_E_NOMEM;
  memcpy(copy, e, sizeof *copy);
  copy->evicted = false;
  pthread_mutex_lock(&log->lock);
  int rc = 0;
  if (find(log, e, false) || (e->rrn[0] && find(log, e, true))) {
    free(copy);
  } else {
    rc = insert(log, copy);
    if (rc < 0) free(copy);
  }
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
  pthread_mutex_unlock(&log->lock);
  if (gone) free(e);
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
