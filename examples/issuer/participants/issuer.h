/*
 * examples/issuer/participants/issuer.h -- the example issuer's
 * authorization logic, as flow participants, and the state they share.
 *
 * The flow (iso__issuer_flow_build):
 *
 *   fields      checks the request's fields for its MTI; "30" (format
 *               error) when one is missing or malformed, "12" for an MTI the
 *               issuer does not handle
 *   route       a selector: names the group for the request's kind
 *     authorization:  card     "14" bad Luhn or unknown card, "54" expired
 *                     account  holds the amount in prepare ("51" when the
 *                              available balance is short), captures it in
 *                              commit, releases it in abort
 *     reversal:       original-lookup  (thread pool) brings an original
 *                              too old for the log back from the journal
 *                     reversal finds the original (DE 90, else DE 37 + DE
 *                              41) and refunds it in commit
 *     network:        (nothing: 0800 echo, sign-on, sign-off)
 *   approval    DE 39 "00"; DE 38 (a six-character authorization code) on
 *               authorizations
 *   decline     prepare-for-abort only: makes every decline carry a DE 39
 *               ("05" when a participant aborted without one) and no DE 38
 *
 * State shared by every loop: the card book, each card's available balance
 * (atomics: a hold is one compare-and-swap) and the authorization log that
 * reversals search (the newest authorizations, a ring with hash tables
 * under a mutex; older originals come from the journal).  Balances are
 * rebuilt at start from the journal when there is one
 * (iso__issuer_apply_*).
 *
 * Persistent context values (journaled with the decision, given back in
 * recovery): "hold" on authorizations and "refund" on reversals, both the
 * text "<card index>:<amount in minor units>" -- never the PAN.
 */
#ifndef ISOFLOW_EXAMPLES_ISSUER_H
#define ISOFLOW_EXAMPLES_ISSUER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "examples/common/cards.h"
#include "examples/common/tally.h"
#include "isoflow/flow.h"

/** The kind of a request, as the route selector sees it. */
typedef enum iso__request_kind {
  ISO__KIND_AUTHORIZATION = 1, /* 0100/0101, 0200/0201 */
  ISO__KIND_REVERSAL,          /* 0400/0401, 0420/0421 */
  ISO__KIND_NETWORK            /* 0800 */
} iso__request_kind;

/** iso__request_kind_of -- the kind of an MTI, or 0 when the issuer does not
 *  handle it. */
iso__request_kind iso__request_kind_of(const char *mti);

/** One authorization in the log that reversals search. */
typedef enum iso__auth_state {
  ISO__AUTH_CAPTURED = 0, /* committed; reversible */
  ISO__AUTH_REVERSING,    /* a reversal of it is being prepared */
  ISO__AUTH_REVERSED
} iso__auth_state;

typedef struct iso__auth_entry {
  char terminal[16]; /* DE 41 */
  char rrn[13];      /* DE 37 ("" when absent) */
  char stan[7];      /* DE 11 */
  char when[11];     /* DE 7, MMDDhhmmss */
  uint32_t card;     /* index in the card book */
  int64_t amount;    /* minor units */
  uint64_t seq;      /* order of entry into the log (the newest match wins) */
  int state;         /* iso__auth_state; changed under the log's lock */
  bool evicted;      /* left the ring while a reversal held it (REVERSING):
                        kept in the log's held list, still found, and
                        freed when that reversal settles it */
  struct iso__auth_entry *next; /* in the log's pool: the next free entry */
} iso__auth_entry;

/** The log's default size (--authlog-size): about 135 MB of entries and
 *  tables; older originals are looked up in the journal. */
#define ISO__AUTH_LOG_DEFAULT 1000000u

/** One bucket of the log's tables: the slot + 1 (0 = empty) and the low
 *  32 bits of its key's hash, so that a probe skips other keys without
 *  reading their entries (each a cache miss in a table of a million) and a
 *  deletion finds a member's home bucket without hashing it again. */
typedef struct iso__auth_bucket {
  uint32_t hash;
  int32_t slot;
} iso__auth_bucket;

/** One slot of the ring: its entry and the low 32 bits of the entry's two
 *  key hashes (rrn_hash 0 when it has no DE 37), so that evicting it finds
 *  its buckets without reading the entry first. */
typedef struct iso__auth_slot {
  iso__auth_entry *entry;
  uint32_t rrn_hash, stan_hash;
} iso__auth_slot;

/** The authorization log: the newest `limit` authorizations, found by DE 41
 *  + DE 37 and by DE 41 + DE 11 + DE 7 (what DE 90 carries).  A ring: once
 *  full, each new entry evicts the oldest (O(1)).  Thread-safe.
 *
 *  Entries come from a pool of chunks (never moved: a reversal holds a
 *  pointer to its original's entry) and go back to it when evicted or, when
 *  held, settled.  The tables are sized for `limit` at the first add, once:
 *  never rehashed under the lock. */
typedef struct iso__auth_log {
  /* Set once (the tables at the first add), then only read: kept off the
   * cache lines every addition writes (`apart`), so that a loop reading
   * them to prefetch its buckets does not pull a line from the other
   * core.  (Padding rather than _Alignas: the log lives inside structures
   * that malloc places.) */
  iso__auth_bucket *by_rrn, *by_stan; /* open addressing over
                                the slots, in one mapping of table_bytes */
  _Atomic size_t buckets;    /* power of two; 0 until the first add (set
                                once: read without the lock to prefetch) */
  size_t table_bytes;
  size_t limit;              /* most entries kept (>= 1); may be changed
                                until the first add */
  char apart[64];
  /* Changed by every addition, under the lock. */
  pthread_mutex_t lock;
  iso__auth_slot *slots;     /* the ring; owned */
  size_t count, cap;         /* slots used, allocated (cap <= limit) */
  size_t head;               /* once count == limit: the oldest slot */
  uint64_t next_seq, evictions;
  iso__auth_entry *free_list;     /* the entry pool: entries given back
                                     (linked by .next), */
  iso__auth_entry **chunks;       /* its chunks of entries, */
  size_t chunk_count, chunk_used; /* entries handed out of the last one */
  iso__auth_entry **held;    /* evicted while a reversal held them: still
                                found (a second reversal sees the claim)
                                until that reversal settles them */
  size_t held_count, held_cap;
  char apart_after[64];
} iso__auth_log;

/** How a reversal names its original: DE 90's STAN and transmission time
 *  (with DE 41), else DE 37 (with DE 41).  The keys are entries with only
 *  their identity filled. */
typedef struct iso__original_keys {
  bool has_de90, has_rrn;
  iso__auth_entry by_de90, by_rrn;
} iso__original_keys;

/** Counters the participants keep per thread (iso__issuer_count reads
 *  them), and the per-thread state of authorization codes. */
typedef enum iso__issuer_counter {
  ISO__COUNT_HOLDS,
  ISO__COUNT_CAPTURES,
  ISO__COUNT_RELEASES,
  ISO__COUNT_REFUNDS,
  ISO__COUNT_REVERSAL_UNKNOWN,  /* reversals without effect: no original */
  ISO__COUNT_REVERSAL_REPEATED, /* ... and of one reversed already */
  ISO__COUNT_KINDS,
  /* not counts: a thread's next authorization code and how many of the
   * codes it took from the shared sequence are left */
  ISO__TALLY_CODE_NEXT = ISO__COUNT_KINDS,
  ISO__TALLY_CODE_LEFT,
  ISO__TALLY_SLOTS
} iso__issuer_counter;

/** Authorization codes a loop takes from the shared sequence at a time. */
#define ISO__AUTH_CODE_BATCH 1000u

/** Counters of rare events, shared atomics (read by the admin endpoint). */
typedef struct iso__issuer_counters {
  /* Originals not in the log, looked up in the journal: found (back in the
   * log), not there, the journal failing (the reversal declined "96"). */
  _Atomic uint64_t journal_found, journal_missed, journal_lookup_failures;
} iso__issuer_counters;

/** What every participant of the issuer shares. */
typedef struct iso__issuer {
  const iso__card_book *book;  /* borrowed */
  _Atomic int64_t *available;  /* per card, minor units; owned */
  iso__auth_log log;          /* log.limit may be changed before the
                                  first authorization */
  struct iso_journal_db *journal; /* borrowed; NULL: no journal, and a
                                  reversal of an original evicted from the
                                  log is acknowledged without effect */
  iso__issuer_counters counters;
  iso__tally tally;            /* iso__issuer_count, per thread */
  char yymm_now[5];            /* for expiry checks; set by init, may be
                                  changed (tests) */
  _Atomic uint32_t next_auth_code; /* the shared sequence, taken by
                                      ISO__AUTH_CODE_BATCH */
} iso__issuer;

/** iso__issuer_init -- balances at their opening values, an empty log, the
 *  current month for expiry checks.  0 or ISO_E_NOMEM. */
int iso__issuer_init(iso__issuer *is, const iso__card_book *book);

/** iso__issuer_free -- releases what init allocated. */
void iso__issuer_free(iso__issuer *is);

/** iso__issuer_count -- a counter summed over the threads (any thread). */
uint64_t iso__issuer_count(iso__issuer *is, iso__issuer_counter which);

/** iso__issuer_count_add -- adds 1 to a counter, in the calling thread's
 *  block. */
void iso__issuer_count_add(iso__issuer *is, iso__issuer_counter which);

/** iso__issuer_next_auth_code -- the next authorization code number (six
 *  digits are taken from it), from the calling thread's batch. */
uint32_t iso__issuer_next_auth_code(iso__issuer *is);

/** iso__issuer_available -- a card's available balance (minor units). */
int64_t iso__issuer_available(const iso__issuer *is, uint32_t card);

/**
 * iso__issuer_flow_build -- adds the participants and groups above to a new
 * (not started) flow; `is` must outlive it.  0 or the error of
 * iso_flow_add / iso_flow_group_add.
 */
int iso__issuer_flow_build(iso_flow *flow, iso__issuer *is);

/* --- replaying committed history (balance rebuild at start) ------------ */

/**
 * iso__issuer_apply_capture -- applies a committed authorization (its
 * request and its "hold" value) to the balances and the log, as if its
 * commit had just run.  iso__issuer_apply_refund does the same for a
 * committed reversal ("refund" value).  0, ISO_E_INVAL for a value that
 * does not parse or names no card, ISO_E_NOMEM.
 */
int iso__issuer_apply_capture(iso__issuer *is, const iso_msg *request,
                              const void *hold, size_t len);
int iso__issuer_apply_refund(iso__issuer *is, const iso_msg *request,
                             const void *refund, size_t len);

/* --- internals shared by the participant files ------------------------- */

/** The participants, one per file. */
extern const iso_participant iso__p_fields, iso__p_route, iso__p_card,
    iso__p_account, iso__p_lookup, iso__p_reversal, iso__p_approval, iso__p_decline;

/** A field's value as a NUL-terminated string in buf (cap bytes); false when
 *  absent or too long. */
bool iso__field_str(const iso_msg *m, int field, char *buf, size_t cap);

/** A field's characters without copying them when the message holds them
 *  as such: *value points into m (valid while m is unchanged) or, when the
 *  field needs decoding, into buf (cap bytes); *len characters, not
 *  NUL-terminated.  False when absent or cap - 1 characters or more (as
 *  iso__field_str). */
bool iso__field_view(const iso_msg *m, int field, char *buf, size_t cap, const char **value,
                     size_t *len);

/** DE 4 as minor units; -1 when absent or not 12 digits. */
int64_t iso__amount_of(const iso_msg *m);

/** "card:amount" values. */
int iso__value_format(char *buf, size_t cap, uint32_t card, int64_t amount);
int iso__value_parse(const void *bytes, size_t len, uint32_t *card,
                     int64_t *amount);

/** iso__issuer_card_value -- parses a hold or refund value and checks that
 *  it names a card of is's book.  0, or ISO_E_INVAL. */
int iso__issuer_card_value(const iso__issuer *is, const void *value, size_t len,
                           uint32_t *card, int64_t *amount);

/** The context name under which card stores the card index + 1. */
#define ISO__CTX_CARD "card"
#define ISO__CTX_HOLD "hold"
#define ISO__CTX_REFUND "refund"
#define ISO__CTX_ORIGINAL "original"
#define ISO__CTX_CAPTURE "capture" /* account: the log entry commit adds */

/** Accounts: a hold takes `amount` off the available balance when it is
 *  there (true) and leaves it alone otherwise (false); release and refund
 *  give it back. */
bool iso__account_hold(iso__issuer *is, uint32_t card, int64_t amount);
void iso__account_credit(iso__issuer *is, uint32_t card, int64_t amount);

/** Authorization log. */
/** iso__auth_log_init -- an empty log keeping at most `limit` entries
 *  (0: ISO__AUTH_LOG_DEFAULT).  0 or ISO_E_NOMEM. */
int iso__auth_log_init(iso__auth_log *log, size_t limit);
void iso__auth_log_free(iso__auth_log *log);
/** Adds a committed authorization (copied), evicting the oldest when the
 *  log is full; nothing when the same authorization (DE 41, 11, 7, 37) is
 *  already there (admitted from the journal by a reversal).  0 or
 *  ISO_E_NOMEM. */
int iso__auth_log_add(iso__auth_log *log, const iso__auth_entry *e);
/** An entry's two key hashes (rrn 0 when it has no DE 37). */
typedef struct iso__auth_hashes {
  uint32_t rrn, stan;
} iso__auth_hashes;
/** iso__auth_hashes_of -- e's key hashes (its identity fields only). */
iso__auth_hashes iso__auth_hashes_of(const iso__auth_entry *e);
/** iso__auth_log_prefetch -- starts loading the buckets hashes h lead to
 *  (no lock; nothing before the log's first add). */
void iso__auth_log_prefetch(const iso__auth_log *log, iso__auth_hashes h);
/** iso__auth_log_hashes -- e's key hashes, and starts loading the buckets
 *  they lead to (no lock: the tables never move once made), so that the
 *  caller can overlap those cache misses with other work before
 *  iso__auth_log_add_hashed. */
iso__auth_hashes iso__auth_log_hashes(const iso__auth_log *log, const iso__auth_entry *e);
/** iso__auth_log_add_hashed -- iso__auth_log_add with e's hashes from
 *  iso__auth_log_hashes (of the same identity fields). */
int iso__auth_log_add_hashed(iso__auth_log *log, const iso__auth_entry *e, iso__auth_hashes h);
/** Adds `e` unless an entry with its identity (DE 41 + DE 37, or DE 41 +
 *  DE 11 + DE 7) is already there: an original found in the journal.
 *  0 or ISO_E_NOMEM. */
int iso__auth_log_admit(iso__auth_log *log, const iso__auth_entry *e);
/** The outcome of a claim. */
typedef enum iso__auth_claim {
  ISO__CLAIM_UNKNOWN = 0, /* no such original in the log */
  ISO__CLAIM_TAKEN,       /* *out is now REVERSING, held by the caller */
  ISO__CLAIM_ALREADY      /* being reversed or reversed already */
} iso__auth_claim;
/** iso__auth_log_claim -- finds the original the keys name (the newest
 *  match; DE 90 first) and, when CAPTURED, makes it REVERSING and gives it
 *  to the caller, who must settle it.  A held entry stays valid (even if
 *  evicted) until settled. */
iso__auth_claim iso__auth_log_claim(iso__auth_log *log, const iso__original_keys *k,
                                    iso__auth_entry **out);
/** iso__auth_log_settle -- ends a claim: REVERSED (reversed true) or back to
 *  CAPTURED; frees the entry if it was evicted meanwhile. */
void iso__auth_log_settle(iso__auth_log *log, iso__auth_entry *e, bool reversed);
/** iso__auth_log_mark_reversed -- marks the original the keys name
 *  REVERSED (replaying history); false when it is not in the log. */
bool iso__auth_log_mark_reversed(iso__auth_log *log, const iso__original_keys *k);
/** iso__auth_log_has -- whether the original the keys name is in the log. */
bool iso__auth_log_has(iso__auth_log *log, const iso__original_keys *k);
/** Fills an entry's identity from an authorization request. */
void iso__auth_entry_from(iso__auth_entry *e, const iso_msg *request);
/** Reads how a reversal request names its original. */
void iso__original_keys_from(iso__original_keys *k, const iso_msg *reversal);

#endif
