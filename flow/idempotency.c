/*
 * flow/idempotency.c -- safe handling of retransmitted requests.
 *
 * A transmission is identified by its idempotency key (the MTI with its
 * repeat digit ignored, then DE 32, 11, 7, 41 by default) and described by
 * its fingerprint (a keyed SipHash of DE 2, 3, 4, 49: the PAN is never kept).
 * The store maps keys to entries shared by every loop of the flow, under one
 * mutex:
 *
 *   in flight   the original runs; duplicates queue on the entry as waiters
 *               and get the original's response when it finishes (delivered
 *               on their own loops through the inbox);
 *   complete    the response is kept serialized; a duplicate gets it again
 *               with its MTI adjusted to answer the duplicate's MTI.
 *
 * Same key, different fingerprint: declined 94.  Completed entries are kept
 * in completion order and evicted from the oldest, by count and by age.  A
 * miss may be referred to the journal's lookup hook (run on the thread pool).
 * Entries and their response buffers are recycled, so a full store allocates
 * nothing per transaction.
 *
 * Speed.  A full store of 100,000 keys is tens of MB, so what a transaction
 * touches in it would miss the CPU's caches: the key's bucket, the oldest
 * entry (evicted, then reused for the new key) and its bucket, the reused
 * entry's response buffer.  The table is hashed with SipHash-1-3 under a
 * random key of its own (one hash per key: its low bits pick the bucket,
 * its high 16 bits are the key's tag).  A bucket's tags are one cache line
 * of 31 slots, 512 KB for 100,000 keys, small enough to stay in a core's
 * L2; the slots' entry pointers are in an array of their own, read only
 * behind a matching tag (a duplicate), written when a key is inserted.  A
 * new key (nearly every transaction) thus reads one tag line, prefetched
 * with its pointer lines as soon as the key is hashed.  Eviction clears a
 * tag.  Victims are prefetched two transactions ahead (both their lines:
 * they are rewritten for the next key), their bucket's tag line and
 * response buffer one ahead.  Entries are two cache lines, carved from
 * 64-byte-aligned slabs; what a lookup or an eviction reads sits in the
 * first.
 */
#include <stdalign.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "flow/flow_internal.h"
#include "iso8583/message_internal.h"


/* What the journal lookup found (rare: allocated per lookup). */
struct found {
  uint64_t fingerprint;
  iso_msg response;
};

typedef struct iso__store_entry {
  /* First line: what lookups, insertion and eviction touch.  An entry sits
   * in a slot of its bucket (slot < CHAIN) or, when all of them are taken,
   * in the bucket's chain (slot == CHAIN: hnext and hprev link it). */
  alignas(64) struct iso__store_entry *hnext;
  struct iso__store_entry **hprev; /* what points at us: O(1) unlink */
  struct iso__store_entry *qnext; /* completion order, or free list */
  uint64_t hash;
  uint64_t fingerprint;
  iso_tx *waiters; /* duplicates waiting for it, linked by dup_next */
  uint32_t completed_ms; /* since the store was made */
  uint32_t response_len;
  uint32_t bucket; /* index of its bucket */
  uint8_t slot;    /* in the bucket, or CHAIN */
  uint8_t key_len;
  bool complete;
  bool held; /* finished without a response that may be sent */
  /* Second line: the key (compared on a hash match) and the response. */
  alignas(64) uint8_t key[ISO__KEY_INLINE];
  uint8_t *response; /* serialized response */
  struct found *found; /* the journal lookup's answer, until it is used */
  uint32_t response_cap;
} iso__store_entry;

_Static_assert(sizeof(iso__store_entry) == 128, "two cache lines");

/* A bucket's tags: one cache line, 31 slots, each the 16-bit tag of the key
 * in it (0: free).  The slots' entries are in a parallel array (refs, 32 a
 * bucket, the last the head of the bucket's chain), read only when a tag
 * matches: a new key (nearly every transaction) reads its tag line alone,
 * and an eviction clears a tag without reading refs.  The tag lines of a
 * store of 100,000 keys are 512 KB, which stays in a core's L2 while the
 * entries stream through it; the bucket lines of 5 pointers before them
 * were 4 MB and missed it.  At the default sizing (a bucket for every 16
 * keys or fewer) a bucket holds more than 31 in about 1 in 10,000: then
 * `chained` is set and the rest are chained from refs[CHAIN]. */
#define SLOTS 31
#define CHAIN SLOTS
#define REFS (SLOTS + 1) /* entry pointers a bucket: its slots, its chain */
typedef struct bucket {
  alignas(64) uint16_t tag[SLOTS];
  uint16_t chained; /* nonzero: the bucket's chain is not empty */
} bucket;

_Static_assert(sizeof(bucket) == 64, "one cache line");

/* The hash's top 16 bits, never 0 (which marks a free slot). */
static inline uint16_t tag_of(uint64_t hash) {
  uint16_t t = (uint16_t)(hash >> 48);
  return t ? t : 1;
}

/* The slots of b whose tag is `tag`, as a bit mask (bit i: slot i). */
static inline uint32_t tag_match(const bucket *b, uint16_t tag) {
  uint32_t m = 0;
#if defined(__SSE2__)
  const __m128i *p = (const __m128i *)b->tag;
  __m128i t = _mm_set1_epi16((short)tag);
  __m128i lo = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(p), t),
                               _mm_cmpeq_epi16(_mm_load_si128(p + 1), t));
  __m128i hi = _mm_packs_epi16(_mm_cmpeq_epi16(_mm_load_si128(p + 2), t),
                               _mm_cmpeq_epi16(_mm_load_si128(p + 3), t));
  m = (uint32_t)_mm_movemask_epi8(lo) | (uint32_t)_mm_movemask_epi8(hi) << 16;
#else
  for (int i = 0; i < SLOTS; i++) m |= (uint32_t)(b->tag[i] == tag) << i;
#endif
  return m & ((1u << SLOTS) - 1); /* not `chained` */
}

/* Entries come in slabs (64-byte aligned, never freed before the store). */
#define SLAB_ENTRIES 63
typedef struct slab {
  alignas(64) struct slab *next;
  iso__store_entry entries[SLAB_ENTRIES];
} slab;

typedef struct iso__store {
  uv_mutex_t lock;
  iso_flow *flow;
  bucket *buckets;
  iso__store_entry **refs; /* REFS a bucket (see bucket), after buckets */
  size_t mask;
  iso__store_entry *qhead, *qtail; /* completed, oldest first */
  iso__store_entry *free_entries;
  slab *slabs;
  size_t slab_used; /* entries handed out of slabs->entries */
  uint8_t table_key[16]; /* SipHash-1-3 key of the table: random */
  /* Echo fields a duplicate is sure to carry whenever the original did:
   * those in the key (equal keys) and, when the fingerprint covered every
   * field, those in the fingerprint.  A stored response leaves them out:
   * replay echoes them from the duplicate's own request anyway. */
  uint64_t echo_key[3], echo_key_fp[3];
  uint64_t epoch_ms; /* when the store was made */
  uint32_t completed;
  uint64_t evicted_size, evicted_age;
} iso__store;

static uint32_t now_ms(const iso__store *s) {
  return (uint32_t)(iso__coarse_ns() / 1000000u - s->epoch_ms);
}

static void found_free(struct found *f) {
  if (!f) return;
  iso_msg_cleanup(&f->response);
  free(f);
}

/* The table: n buckets' tag lines, then their refs, in one block (zeroed).
 * Tags and refs are visited at random, two or three lines a transaction,
 * and the entries and response buffers streaming past take most of the
 * TLB: so a big table (2.5 MB at 100,000 keys) asks for huge pages,
 * transparent where the kernel allows them on request, and is rounded up
 * to whole ones.  (The tags alone, 512 KB, stayed on 4 KB pages, and the
 * tag line's load took 15% of iso__idem_check's samples; 2% since.) */
#define HUGE_PAGE (2u << 20)
static bucket *table_new(size_t n) {
  size_t used = n * (sizeof(bucket) + REFS * sizeof(iso__store_entry *));
  bool huge = used >= HUGE_PAGE;
  size_t bytes = huge ? (used + HUGE_PAGE - 1) / HUGE_PAGE * HUGE_PAGE : used;
  bucket *t = aligned_alloc(huge ? HUGE_PAGE : 64, bytes);
  if (!t) return NULL;
#ifdef MADV_HUGEPAGE
  if (huge) madvise(t, bytes, MADV_HUGEPAGE);
#endif
  memset(t, 0, used);
  return t;
}

int iso__store_new(iso_flow *f, iso__store **out) {
  iso__store *s = calloc(1, sizeof *s);
  if (!s) return ISO_E_NOMEM;
  /* 16 keys a bucket at most (of 31 slots): about one in 10,000 buckets
   * or fewer overflows into a chain (Poisson). */
  size_t n = 1;
  while (16 * n < (size_t)f->cfg.store_capacity && n < (1u << 22)) n <<= 1;
  s->buckets = table_new(n);
  if (!s->buckets || uv_mutex_init(&s->lock) != 0) {
    free(s->buckets);
    free(s);
    return ISO_E_NOMEM;
  }
  s->refs = (iso__store_entry **)(s->buckets + n);
  s->mask = n - 1;
  s->flow = f;
  for (size_t i = 0; i < f->cfg.echo_count; i++) {
    int e = f->cfg.echo_fields[i];
    bool in_key = false, in_fp = false;
    for (size_t k = 0; k < f->cfg.key_count; k++)
      in_key |= f->cfg.key_fields[k] == e;
    for (size_t k = 0; k < f->cfg.fingerprint_count; k++)
      in_fp |= f->cfg.fingerprint_fields[k] == e;
    uint64_t bit = 1ull << ((e - 1) & 63);
    if (in_key) s->echo_key[(e - 1) >> 6] |= bit;
    if (in_key || in_fp) s->echo_key_fp[(e - 1) >> 6] |= bit;
  }
  /* The table's own key: never stored, never shown, so nobody can aim
   * keys at one bucket (the fingerprint key may be the default). */
  if (uv_random(NULL, NULL, s->table_key, sizeof s->table_key, 0, NULL) != 0) {
    uint64_t seed[2] = {iso__mono_ns(), (uint64_t)(uintptr_t)s};
    memcpy(s->table_key, seed, sizeof seed);
  }
  s->epoch_ms = iso__coarse_ns() / 1000000u;
  *out = s;
  return 0;
}

static void entry_free(iso__store_entry *e) {
  found_free(e->found);
  free(e->response);
}

/* A fresh entry: the next of the current slab, or a new slab. */
static iso__store_entry *entry_new(iso__store *s) {
  if (!s->slabs || s->slab_used == SLAB_ENTRIES) {
    slab *sl = aligned_alloc(alignof(slab), sizeof(slab));
    if (!sl) return NULL;
    sl->next = s->slabs;
    s->slabs = sl;
    s->slab_used = 0;
  }
  iso__store_entry *e = &s->slabs->entries[s->slab_used++];
  memset(e, 0, sizeof *e);
  return e;
}

/* Every entry ever made is in a slab (in the table, the completion queue
 * or the free list): the first slab's first slab_used, all of the others. */
void iso__store_free(iso__store *s) {
  if (!s) return;
  size_t used = s->slab_used;
  while (s->slabs) {
    slab *next = s->slabs->next;
    for (size_t i = 0; i < used; i++) entry_free(&s->slabs->entries[i]);
    free(s->slabs);
    s->slabs = next;
    used = SLAB_ENTRIES;
  }
  uv_mutex_destroy(&s->lock);
  free(s->buckets); /* and the refs */
  free(s);
}

void iso__store_counts(const iso__store *s, uint64_t *evicted_size,
                       uint64_t *evicted_age) {
  uv_mutex_lock((uv_mutex_t *)&s->lock);
  *evicted_size = s->evicted_size;
  *evicted_age = s->evicted_age;
  uv_mutex_unlock((uv_mutex_t *)&s->lock);
}

/* ---- keys and fingerprints ---------------------------------------------- */

/* Appends field f's canonical value as [length][bytes] (0xFF: absent),
 * read in place from its slot (decoded when it is held in a wire form). */
static bool append_field(const iso_msg *m, int f, uint8_t *buf, size_t cap,
                         size_t *pos) {
  const iso__slot *sl = iso__msg_slot(m, f);
  if (!sl) {
    if (*pos + 1 > cap) return false;
    buf[(*pos)++] = 0xFF;
    return true;
  }
  size_t len = sl->len;
  if (len > 254 || *pos + 1 + len > cap) return false;
  uint8_t *out = buf + *pos + 1;
  if (!(sl->flags & ISO__SLOT_WIRE))
    memcpy(out, sl->data, len);
  else if (iso_msg_get(m, f, out, cap - *pos - 1, &len) != 0)
    return false;
  buf[*pos] = (uint8_t)len;
  *pos += 1 + len;
  return true;
}

/* The longest key build_key can make: the MTI, then every key field at
 * its longest ([length][254 bytes]).  Only ISO__KEY_INLINE bytes are kept. */
#define KEY_BUILD_MAX (4 + ISO_FLOW_MAX_KEY_FIELDS * 255)
_Static_assert(KEY_BUILD_MAX >= ISO__KEY_INLINE, "a key is copied whole");

static bool build_key(const iso_flow_config *cfg, const iso_msg *req, uint8_t *key,
                      size_t *len) {
  const char *mti = iso_msg_mti(req);
  memcpy(key, mti, 4);
  if (iso_mti_is_repeat(mti)) key[3] = (uint8_t)(key[3] - 1);
  size_t pos = 4;
  for (size_t i = 0; i < cfg->key_count; i++)
    if (!append_field(req, cfg->key_fields[i], key, KEY_BUILD_MAX, &pos))
      return false;
  *len = pos;
  return true;
}

/* The key as kept and journaled: a long key as its head and a digest of
 * the whole, under the flow's fingerprint key so that it survives a
 * restart.  Returns the length kept. */
static size_t fold_key(const iso_flow *f, uint8_t *key, size_t len) {
  if (len <= ISO__KEY_INLINE) return len;
  uint64_t digest = iso__siphash(f->cfg.fingerprint_key, key, len);
  memcpy(key + ISO__KEY_INLINE - 8, &digest, 8);
  return ISO__KEY_INLINE;
}

/* A keyed hash of the fingerprint fields.  One too long to append ends
 * the hash there; the transaction is marked ISO__TX_FP_PARTIAL. */
static uint64_t fingerprint(iso_tx *tx) {
  const iso_flow_config *cfg = &tx->flow->cfg;
  uint8_t buf[4 * 256 + 16];
  size_t pos = 0;
  for (size_t i = 0; i < cfg->fingerprint_count; i++)
    if (!append_field(tx->req, cfg->fingerprint_fields[i], buf,
                      sizeof buf, &pos)) {
      tx->flags |= ISO__TX_FP_PARTIAL;
      break;
    }
  uint64_t h = iso__siphash(cfg->fingerprint_key, buf, pos);
  memset(buf, 0, pos); /* the PAN was in there */
  return h;
}

void iso__idem_key(const iso_tx *tx, const uint8_t **key, size_t *len) {
  const iso__store_entry *e = tx->idem;
  *key = e->key;
  *len = e->key_len;
}

/* ---- the table ---------------------------------------------------------- */

static bool entry_is(const iso__store_entry *e, uint64_t hash,
                     const uint8_t *key, size_t len) {
  return e->hash == hash && e->key_len == len &&
         memcmp(e->key, key, len) == 0;
}

static iso__store_entry *find(iso__store *s, uint64_t hash, const uint8_t *key,
                              size_t len) {
  size_t bi = hash & s->mask;
  const bucket *b = &s->buckets[bi];
  iso__store_entry **refs = &s->refs[bi * REFS];
  for (uint32_t m = tag_match(b, tag_of(hash)); m; m &= m - 1) {
    iso__store_entry *e = refs[__builtin_ctz(m)];
    if (entry_is(e, hash, key, len)) return e;
  }
  if (b->chained)
    for (iso__store_entry *e = refs[CHAIN]; e; e = e->hnext)
      if (entry_is(e, hash, key, len)) return e;
  return NULL;
}

/* A slot is freed by clearing its tag alone: refs are only read behind a
 * tag. */
static void unlink_entry(iso__store *s, iso__store_entry *e) {
  bucket *b = &s->buckets[e->bucket];
  if (e->slot != CHAIN) {
    b->tag[e->slot] = 0;
    return;
  }
  *e->hprev = e->hnext;
  if (e->hnext) e->hnext->hprev = e->hprev;
  if (!s->refs[(size_t)e->bucket * REFS + CHAIN]) b->chained = 0;
}

static void recycle(iso__store *s, iso__store_entry *e) {
  found_free(e->found);
  e->found = NULL;
  e->qnext = s->free_entries;
  s->free_entries = e;
}

/* The next entry to evict clears its tag in its bucket's line, and its
 * response buffer is written again when the entry is reused.  Called one
 * transaction ahead, once the entry's lines (prefetched by evict) are in. */
static void prefetch_next_victim(const iso__store *s) {
  const iso__store_entry *e = s->qhead;
  if (!e) return;
  __builtin_prefetch(&s->buckets[e->bucket], 1);
  if (e->response) __builtin_prefetch(e->response, 1);
}

/* Drops completed entries past the size bound or the retention window. */
static void evict(iso__store *s, uint32_t now) {
  const iso_flow_config *cfg = &s->flow->cfg;
  while (s->qhead) {
    iso__store_entry *e = s->qhead;
    bool too_many = s->completed > cfg->store_capacity;
    bool too_old = now - e->completed_ms >= cfg->store_retention_ms;
    if (!too_many && !too_old) break;
    if (too_many)
      s->evicted_size++;
    else
      s->evicted_age++;
    s->qhead = e->qnext;
    if (!s->qhead) s->qtail = NULL;
    s->completed--;
    unlink_entry(s, e);
    recycle(s, e);
  }
  /* Victims are rewritten whole when they are reused: load the one after
   * next, two transactions ahead (one is not enough for a line from
   * memory).  The next one's lines were asked for the last time round. */
  const iso__store_entry *next = s->qhead ? s->qhead->qnext : NULL;
  if (next) {
    __builtin_prefetch(next, 1);
    __builtin_prefetch((const char *)next + 64, 1);
  }
}

static iso__store_entry *insert(iso__store *s, uint64_t hash,
                                const uint8_t *key, size_t len) {
  iso__store_entry *e = s->free_entries;
  if (e) {
    s->free_entries = e->qnext; /* its response buffer: see evict */
  } else if (!(e = entry_new(s))) {
    return NULL;
  }
  e->hash = hash;
  e->key_len = (uint8_t)len;
  /* Whole, a fixed size: a few vector moves, where a copy of len bytes is
   * a string instruction with its start-up cost.  Past len the bytes are
   * never read. */
  memcpy(e->key, key, ISO__KEY_INLINE);
  e->complete = false;
  e->held = false;
  e->waiters = NULL;
  e->qnext = NULL;
  e->response_len = 0;
  size_t bi = hash & s->mask;
  bucket *b = &s->buckets[bi];
  iso__store_entry **refs = &s->refs[bi * REFS];
  e->bucket = (uint32_t)bi;
  uint32_t free_slots = tag_match(b, 0);
  if (free_slots) {
    unsigned i = (unsigned)__builtin_ctz(free_slots);
    b->tag[i] = tag_of(hash);
    refs[i] = e;
    e->slot = (uint8_t)i;
    return e;
  }
  iso__store_entry **head = &refs[CHAIN];
  e->slot = CHAIN;
  e->hnext = *head;
  e->hprev = head;
  if (*head) (*head)->hprev = &e->hnext;
  *head = e;
  b->chained = 1;
  return e;
}

/* ---- responses ---------------------------------------------------------- */

static bool reserve(iso__store_entry *e, size_t need) {
  if (need <= e->response_cap) return true;
  size_t cap = e->response_cap ? e->response_cap : 128;
  while (cap < need) cap *= 2;
  uint8_t *n = realloc(e->response, cap);
  if (!n) return false;
  e->response = n;
  e->response_cap = (uint32_t)cap;
  return true;
}

/* Serializes m as MTI + [field][len16][bytes]... into the entry, in one
 * pass over the fields present, leaving out those in `skip` (see
 * echo_key_fp; NULL: keep every field).  Values are read in place from
 * their slots, decoded when held in a wire form.  A recycled entry's buffer
 * usually fits already. */
static int keep_response(iso__store_entry *e, const iso_msg *m,
                         const uint64_t *skip) {
  if (!reserve(e, 4)) return ISO_E_NOMEM;
  memcpy(e->response, iso_msg_mti(m), 4);
  size_t pos = 4;
  for (int w = 0; w < 3; w++) {
    uint64_t bits = m->present[w] & ~(skip ? skip[w] : 0);
    for (; bits; bits &= bits - 1) {
      int f = w * 64 + __builtin_ctzll(bits) + 1;
      const iso__slot *sl = iso__msg_slot(m, f);
      size_t len = sl->len;
      if (len > 0xFFFF || !reserve(e, pos + 3 + len + 1)) return ISO_E_NOMEM;
      if (!(sl->flags & ISO__SLOT_WIRE))
        memcpy(e->response + pos + 3, sl->data, len);
      else if (iso_msg_get(m, f, e->response + pos + 3, len + 1, &len) != 0)
        continue;
      e->response[pos] = (uint8_t)f;
      e->response[pos + 1] = (uint8_t)(len >> 8);
      e->response[pos + 2] = (uint8_t)len;
      pos += 3 + len;
    }
  }
  e->response_len = (uint32_t)pos;
  return 0;
}

/* Gives tx the stored response, its MTI answering tx's own request and
 * its echo fields taken from that request: a stored response may carry them
 * masked (a journal without a key never holds DE 2 in clear), and the equal
 * fingerprint guarantees DE 2, 3, 4 and 49 agree. */
static void replay(const iso__store_entry *e, iso_tx *tx) {
  iso_msg *r = &tx->response;
  char mti[5] = {0};
  iso_msg_reset(r);
  if (iso_mti_response(iso_msg_mti(tx->req), mti) == 0)
    iso_msg_set_mti(r, mti);
  size_t pos = 4;
  while (pos + 3 <= e->response_len) {
    const uint8_t *in = e->response + pos;
    size_t len = ((size_t)in[1] << 8) | in[2];
    iso_msg_set_copy(r, in[0], in + 3, len);
    pos += 3 + len;
  }
  iso__tx_echo_request(tx);
}

/* ---- submit-time check -------------------------------------------------- */

void iso__idem_probe_make(iso_tx *tx, iso__idem_probe *p) {
  iso_flow *f = tx->flow;
  iso__store *s = f->store;
  uint8_t key[KEY_BUILD_MAX];
  size_t len;
  p->repeat = iso_mti_is_repeat(iso_msg_mti(tx->req));
  p->ok = build_key(&f->cfg, tx->req, key, &len);
  if (!p->ok) return;
  len = fold_key(f, key, len);
  memcpy(p->key, key, ISO__KEY_INLINE); /* see insert */
  p->len = (uint8_t)len;
  p->hash = iso__siphash13(s->table_key, key, len);
  /* Start loading the bucket's tags (their address never changes) while
   * the fingerprint and the response are made, and the pointer lines a
   * new key most likely goes to (the lowest free slot, nearly always one
   * of the first 16): a store that misses the cache holds up the next
   * locked instruction (the store's unlock) until its line is in. */
  size_t bi = p->hash & s->mask;
  __builtin_prefetch(&s->buckets[bi]);
  __builtin_prefetch(&s->refs[bi * REFS], 1);
  __builtin_prefetch(&s->refs[bi * REFS + 8], 1);
  tx->fingerprint = fingerprint(tx);
}

iso__idem_result iso__idem_check(iso_tx *tx, const iso__idem_probe *p) {
  iso_flow *f = tx->flow;
  iso__store *s = f->store;
  if (!p->ok) return ISO__IDEM_NEW;
  uint64_t hash = p->hash;
  const uint8_t *key = p->key;
  size_t len = p->len;
  iso__idem_result res;
  uv_mutex_lock(&s->lock);
  evict(s, now_ms(s));
  prefetch_next_victim(s);
  iso__store_entry *e = find(s, hash, key, len);
  if (e && e->fingerprint != tx->fingerprint) {
    res = ISO__IDEM_MISMATCH;
  } else if (e && !e->complete) {
    tx->idem = e;
    tx->dup_next = e->waiters;
    e->waiters = tx;
    res = ISO__IDEM_WAIT;
  } else if (e && e->held) {
    iso_msg_reset(&tx->response);
    res = ISO__IDEM_HELD;
  } else if (e) {
    replay(e, tx);
    res = ISO__IDEM_REPLAYED;
  } else {
    bool ask = f->has_journal && f->journal.lookup &&
               (f->cfg.journal_lookup == ISO_LOOKUP_ALWAYS ||
                (f->cfg.journal_lookup == ISO_LOOKUP_REPEATS && p->repeat));
    /* It runs: numbered now, before insert's stores (iso__tx_number).  One
     * that asks the journal first is numbered if it begins. */
    if (!ask) iso__tx_number(tx);
    if (!(e = insert(s, hash, key, len))) {
      res = ISO__IDEM_NEW; /* out of memory: run without idempotency */
    } else {
      e->fingerprint = tx->fingerprint;
      tx->idem = e;
      res = ask ? ISO__IDEM_LOOKUP : ISO__IDEM_NEW;
    }
  }
  uv_mutex_unlock(&s->lock);
  return res;
}

/* ---- completion --------------------------------------------------------- */

/* Answers every waiter from the entry: same fingerprint -> the response,
 * another -> 94.  Called with the lock held; delivery goes through each
 * waiter's inbox, so it happens on the waiter's loop after this returns. */
static void wake_waiters(iso__store_entry *e) {
  iso_tx *w = e->waiters;
  e->waiters = NULL;
  while (w) {
    iso_tx *next = w->dup_next;
    int status;
    w->idem = NULL;
    if (e->held) {
      iso_msg_reset(&w->response);
      status = ISO_E_JOURNAL;
    } else if (w->fingerprint != e->fingerprint) {
      iso_msg_set_copy(&w->response, 39, "94", 2);
      status = ISO_E_FINGERPRINT;
    } else {
      replay(e, w);
      status = ISO_E_DUPLICATE;
    }
    w->ev.tx = w;
    w->ev.kind = ISO__EV_DUP_DONE;
    w->ev.result = status;
    iso__loop_push(w->fl, &w->ev);
    w = next;
  }
}

static void complete(iso__store *s, iso__store_entry *e, const iso_msg *resp,
                     const uint64_t *skip, bool keep) {
  e->complete = true;
  if (!resp || keep_response(e, resp, skip) < 0) e->held = true;
  wake_waiters(e);
  if (!keep) {
    unlink_entry(s, e);
    recycle(s, e);
    return;
  }
  e->completed_ms = now_ms(s);
  if (s->qtail)
    s->qtail->qnext = e;
  else
    s->qhead = e;
  s->qtail = e;
  s->completed++;
  evict(s, e->completed_ms);
}

void iso__idem_complete(iso_tx *tx) {
  iso__store *s = tx->flow->store;
  iso__store_entry *e = tx->idem;
  tx->idem = NULL;
  bool held = (tx->flags & ISO__TX_HOLD) != 0;
  /* Echo fields the request carried come back from a duplicate's own. */
  const uint64_t *sure =
      (tx->flags & ISO__TX_FP_PARTIAL) ? s->echo_key : s->echo_key_fp;
  uint64_t skip[3];
  for (int w = 0; w < 3; w++) skip[w] = sure[w] & tx->req->present[w];
  uv_mutex_lock(&s->lock);
  complete(s, e, held ? NULL : &tx->response, skip, true);
  uv_mutex_unlock(&s->lock);
}

/* ---- the journal fallback ----------------------------------------------- */

/* On the thread pool: the entry is in flight, so it cannot go away. */
int iso__idem_lookup(iso_tx *tx, bool *found) {
  iso_flow *f = tx->flow;
  iso__store_entry *e = tx->idem;
  struct found *m = malloc(sizeof *m);
  if (!m) return ISO_E_NOMEM;
  iso_msg_init(&m->response, f->cfg.spec);
  iso_journal_stored out = {.fingerprint = 0, .response = &m->response};
  int rc = f->journal.lookup(f->journal.self, e->key, e->key_len, &out);
  if (rc < 0) {
    found_free(m);
    return rc;
  }
  m->fingerprint = out.fingerprint;
  e->found = m;
  *found = true;
  return 0;
}

void iso__idem_lookup_missed(iso_tx *tx) {
  if (iso_mti_is_repeat(iso_msg_mti(tx->req)))
    ISO__STAT_ADD(tx->fl->stats->repeat_as_original, 1);
}

void iso__idem_lookup_failed(iso_tx *tx) {
  iso__store *s = tx->flow->store;
  iso__store_entry *e = tx->idem;
  tx->idem = NULL;
  iso_msg_set_copy(&tx->response, 39, tx->flow->cfg.journal_fail_code, 2);
  uv_mutex_lock(&s->lock);
  complete(s, e, NULL, NULL, false);
  uv_mutex_unlock(&s->lock);
  iso__tx_finish_dup(tx, ISO_E_JOURNAL);
}

void iso__idem_lookup_found(iso_tx *tx) {
  iso__store *s = tx->flow->store;
  iso__store_entry *e = tx->idem;
  tx->idem = NULL;
  int status;
  uv_mutex_lock(&s->lock);
  struct found *found = e->found;
  e->found = NULL;
  e->fingerprint = found->fingerprint;
  if (e->fingerprint != tx->fingerprint) {
    iso_msg_set_copy(&tx->response, 39, "94", 2);
    status = ISO_E_FINGERPRINT;
  } else {
    char mti[5] = {0};
    iso_msg_reset(&tx->response);
    if (iso_mti_response(iso_msg_mti(tx->req), mti) == 0)
      iso_msg_set_mti(&tx->response, mti);
    iso__msg_copy_fields(&tx->response, &found->response, true);
    iso__tx_echo_request(tx); /* see replay() */
    tx->flags |= ISO__TX_DUP;
    status = ISO_E_DUPLICATE;
  }
  complete(s, e, &found->response, NULL, true);
  uv_mutex_unlock(&s->lock);
  found_free(found);
  iso__tx_finish_dup(tx, status);
}

/* ---- the key of any message --------------------------------------------- */

_Static_assert(ISO__KEY_INLINE == ISO_FLOW_KEY_MAX, "the public bound is the kept length");

int iso_flow_idempotency_key(const iso_flow *flow, const iso_msg *msg,
                             uint8_t key[ISO_FLOW_KEY_MAX], size_t *len) {
  if (!flow->cfg.idempotency) return ISO_E_STATE;
  if (strlen(iso_msg_mti(msg)) != 4) return ISO_E_INVAL;
  uint8_t full[KEY_BUILD_MAX];
  size_t n;
  if (!build_key(&flow->cfg, msg, full, &n)) return ISO_E_INVAL;
  n = fold_key(flow, full, n);
  memcpy(key, full, n);
  *len = n;
  return 0;
}
