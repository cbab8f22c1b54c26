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
 *     reversal:       reversal finds the original (DE 90, else DE 37 + DE
 *                              41) and refunds it in commit
 *     network:        (nothing: 0800 echo, sign-on, sign-off)
 *   approval    DE 39 "00"; DE 38 (a six-character authorization code) on
 *               authorizations
 *   decline     prepare-for-abort only: makes every decline carry a DE 39
 *               ("05" when a participant aborted without one) and no DE 38
 *
 * State shared by every loop: the card book, each card's available balance
 * (atomics: a hold is one compare-and-swap) and the authorization log that
 * reversals search (a hash table under a mutex).  Balances are rebuilt at
 * start from the journal when there is one (iso__issuer_apply_*).
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
  _Atomic int state; /* iso__auth_state */
} iso__auth_entry;

/** The authorization log: entries found by DE 41 + DE 37 and by DE 41 +
 *  DE 11 + DE 7 (what DE 90 carries).  Thread-safe. */
typedef struct iso__auth_log {
  pthread_mutex_t lock;
  iso__auth_entry **entries; /* owned */
  size_t count, cap;
  int32_t *by_rrn, *by_stan; /* open addressing: entry index + 1, 0 = empty */
  size_t buckets;            /* power of two */
} iso__auth_log;

/** Counters the participants keep (read by the admin endpoint). */
typedef struct iso__issuer_counters {
  _Atomic uint64_t holds, captures, releases, refunds;
  _Atomic uint64_t reversal_unknown, reversal_repeated;
} iso__issuer_counters;

/** What every participant of the issuer shares. */
typedef struct iso__issuer {
  const iso__card_book *book;  /* borrowed */
  _Atomic int64_t *available;  /* per card, minor units; owned */
  iso__auth_log log;
  iso__issuer_counters counters;
  char yymm_now[5];            /* for expiry checks; set by init, may be
                                  changed (tests) */
  _Atomic uint32_t next_auth_code;
} iso__issuer;

/** iso__issuer_init -- balances at their opening values, an empty log, the
 *  current month for expiry checks.  0 or ISO_E_NOMEM. */
int iso__issuer_init(iso__issuer *is, const iso__card_book *book);

/** iso__issuer_free -- releases what init allocated. */
void iso__issuer_free(iso__issuer *is);

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
    iso__p_account, iso__p_reversal, iso__p_approval, iso__p_decline;

/** A field's value as a NUL-terminated string in buf (cap bytes); false when
 *  absent or too long. */
bool iso__field_str(const iso_msg *m, int field, char *buf, size_t cap);

/** DE 4 as minor units; -1 when absent or not 12 digits. */
int64_t iso__amount_of(const iso_msg *m);

/** "card:amount" values. */
int iso__value_format(char *buf, size_t cap, uint32_t card, int64_t amount);
int iso__value_parse(const void *bytes, size_t len, uint32_t *card,
                     int64_t *amount);

/** The context name under which card stores the card index + 1. */
#define ISO__CTX_CARD "card"
#define ISO__CTX_HOLD "hold"
#define ISO__CTX_REFUND "refund"
#define ISO__CTX_ORIGINAL "original"

/** Accounts: a hold takes `amount` off the available balance when it is
 *  there (true) and leaves it alone otherwise (false); release and refund
 *  give it back. */
bool iso__account_hold(iso__issuer *is, uint32_t card, int64_t amount);
void iso__account_credit(iso__issuer *is, uint32_t card, int64_t amount);

/** Authorization log. */
int iso__auth_log_init(iso__auth_log *log);
void iso__auth_log_free(iso__auth_log *log);
/** Adds a committed authorization (copied).  0 or ISO_E_NOMEM. */
int iso__auth_log_add(iso__auth_log *log, const iso__auth_entry *e);
/** Finds by DE 41 + DE 37, or (rrn NULL) by DE 41 + DE 11 + DE 7.  The
 *  entry stays valid until the log is freed. */
iso__auth_entry *iso__auth_log_find(iso__auth_log *log, const char *terminal,
                                    const char *rrn, const char *stan,
                                    const char *when);
/** Fills an entry's identity from an authorization request. */
void iso__auth_entry_from(iso__auth_entry *e, const iso_msg *request);

#endif
