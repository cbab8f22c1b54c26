/*
 * examples/issuer/participants/lookup.c -- a reversal's original that the
 * authorization log no longer holds (it keeps only the newest entries,
 * authlog.c) is looked up in the journal and brought back into the log, so
 * that the reversal participant, right after this one, claims and refunds it
 * exactly as a recent one.
 *
 * The participant is ISO_PARTICIPANT_BLOCKING: its prepare runs on libuv's
 * thread pool, never on a loop, because a journal query reads SQLite.  When
 * the original is in the log (nearly always), it only checks that and
 * returns.
 *
 * Found how: an original named by DE 90 through its idempotency key -- the
 * key the flow gave it, made again from DE 90 (MTI, STAN, DE 7, DE 32) and
 * the reversal's DE 41 (iso_flow_idempotency_key); DE 90 zero-fills the
 * acquirer, so each DE 32 the original may have carried is tried, a dozen
 * indexed probes at most -- one named by DE 37
 * through the journal's DE 41 + DE 37 index; whether it was reversed among
 * the reversals that carry its RRN, then the terminal's reversals since
 * (the journal's index of reversals).  Every query is indexed: the journal
 * keeps no index of DE 41 + DE 11 (each entry costs its writer a fifth of a
 * row), so only a flow without idempotency keys makes the DE 90 search
 * read every row.
 *
 * Refunding once: an original found in the journal enters the log REVERSED
 * when the journal holds a committed reversal of it (a transaction decided
 * commit with a "refund" value whose request names it by DE 90 or DE 37),
 * CAPTURED otherwise; a reversal of it still in flight holds its log entry
 * (REVERSING) and is found there.  Two reversals racing here both admit it,
 * the log keeps one entry (iso__auth_log_admit), and the claim lets one
 * refund.  A journal that cannot be read declines the reversal with "96", so
 * the acquirer sends it again instead of taking "no effect" for an answer.
 */
#include "examples/issuer/participants/issuer.h"

#include <stdio.h>
#include <string.h>

#include "isoflow/journal.h"

typedef struct search {
  const iso__auth_entry *key;
  bool by_rrn;
  iso__auth_entry found;
  uint64_t started_at;
  bool have;
} search;

static bool committed_with(const iso_journal_row *row, const char *name,
                           const iso_tx_value **out) {
  if (!row->decided || row->decision != ISO_DECISION_COMMIT || !row->request) return false;
  for (size_t i = 0; i < row->value_count; i++)
    if (!strcmp(row->values[i].name, name)) {
      *out = &row->values[i];
      return true;
    }
  return false;
}

/* An authorization committed with a hold, matching the key (the query
 * already matched its idempotency key, DE 41 + DE 37, or DE 41 + DE 11);
 * the newest one wins. */
static int on_original(const iso_journal_row *row, void *data) {
  search *s = data;
  const iso_tx_value *hold;
  if (!committed_with(row, ISO__CTX_HOLD, &hold)) return 0;
  iso__auth_entry e;
  iso__auth_entry_from(&e, row->request);
  if (!s->by_rrn && strcmp(e.when, s->key->when)) return 0;
  if (iso__value_parse(hold->data, hold->len, &e.card, &e.amount) < 0) return 0;
  s->found = e;
  s->started_at = row->started_at;
  s->have = true;
  return 0;
}

typedef struct reversed {
  const iso__auth_entry *orig;
  bool found;
} reversed;

/* A committed reversal that names orig stops the query (1). */
static int on_reversal(const iso_journal_row *row, void *data) {
  reversed *r = data;
  const iso_tx_value *refund;
  if (!committed_with(row, ISO__CTX_REFUND, &refund)) return 0;
  iso__original_keys k;
  iso__original_keys_from(&k, row->request);
  const iso__auth_entry *o = r->orig;
  bool names = (k.has_de90 && !strcmp(k.by_de90.stan, o->stan) &&
                !strcmp(k.by_de90.when, o->when)) ||
               (k.has_rrn && o->rrn[0] && !strcmp(k.by_rrn.rrn, o->rrn));
  if (!names) return 0;
  r->found = true;
  return 1;
}

/* What the original may have carried in DE 32, most likely first.  DE 90
 * names the acquirer in 11 digits, zero-filled, while DE 32 (LLVAR) keeps
 * whatever leading zeros it was sent with: the reversal's own DE 32 comes
 * first when it is the same number (the acquirer that sent the original
 * sends its reversal), then the number with each possible count of leading
 * zeros, none first ("" when DE 90's is all zeros: the original may have
 * had no DE 32).  Returns how many were written (at most 13). */
enum { ACQUIRER_CANDIDATES = 13 };

static int original_acquirers(const iso_msg *reversal, const char *de90,
                              char out[ACQUIRER_CANDIDATES][16]) {
  char digits[12];
  memcpy(digits, de90 + 20, 11);
  digits[11] = '\0';
  const char *n = digits;
  while (*n == '0') n++;
  size_t len = strlen(n);
  int count = 0;
  char own[16];
  if (iso__field_str(reversal, 32, own, sizeof own)) {
    const char *o = own;
    while (*o == '0') o++;
    if (!strcmp(o, n)) memcpy(out[count++], own, sizeof own);
  }
  for (size_t zeros = 0; len + zeros <= 11; zeros++) {
    char *c = out[count];
    memset(c, '0', zeros);
    memcpy(c + zeros, n, len + 1);
    if (count == 0 || strcmp(c, out[0])) count++;
  }
  return count;
}

/* The original a reversal names by DE 90, as far as its idempotency key
 * goes: its MTI, STAN and DE 7 from DE 90, DE 41 from the reversal (DE 32
 * is set per candidate).  false when DE 90 is not 42 characters. */
static bool original_from_de90(const iso_msg *rev, const char *de90, iso_msg *m) {
  char mti[5], terminal[16];
  memcpy(mti, de90, 4);
  mti[4] = '\0';
  int rc = iso_msg_set_mti(m, mti);
  if (rc == 0) rc = iso_msg_set_copy(m, 11, de90 + 4, 6);
  if (rc == 0) rc = iso_msg_set_copy(m, 7, de90 + 10, 10);
  if (rc == 0 && iso__field_str(rev, 41, terminal, sizeof terminal))
    rc = iso_msg_set_str(m, 41, terminal);
  return rc == 0;
}

/* The original a reversal names by DE 90: through the idempotency key the
 * flow gave it (indexed), for each DE 32 it may have carried until one is
 * found; in a flow that keys nothing, among every row with its DE 41 and
 * DE 11. */
static int find_by_de90(iso_tx *tx, struct iso_journal_db *db, iso_journal_selection *sel,
                        search *s) {
  const iso_msg *rev = iso_tx_request(tx);
  char de90[43];
  char acquirers[ACQUIRER_CANDIDATES][16];
  int n = 0;
  iso_msg m;
  iso_msg_init(&m, iso_journal_spec(db));
  if (iso__field_str(rev, 90, de90, sizeof de90) && strlen(de90) == 42 &&
      original_from_de90(rev, de90, &m))
    n = original_acquirers(rev, de90, acquirers);
  uint8_t key[ISO_FLOW_KEY_MAX];
  int rc = 0;
  bool keyed = false;
  for (int i = 0; i < n && !s->have && rc >= 0; i++) {
    if (!acquirers[i][0])
      iso_msg_unset(&m, 32);
    else if (iso_msg_set_str(&m, 32, acquirers[i]) < 0)
      break;
    if (iso_flow_idempotency_key(iso_tx_flow(tx), &m, key, &sel->key_len) < 0) break;
    keyed = true;
    sel->key = key;
    rc = iso_journal_query(db, sel, on_original, s);
  }
  iso_msg_cleanup(&m);
  sel->key = NULL; /* key is this function's own */
  sel->key_len = 0;
  if (keyed || rc < 0) return rc;
  sel->stan = s->key->stan; /* a flow without keys: read every row */
  return iso_journal_query(db, sel, on_original, s);
}

/* Finds the original (by its idempotency key for DE 90, by DE 41 + DE 37
 * otherwise) and whether the journal holds a committed reversal of it. */
static int find_in_journal(iso_tx *tx, struct iso_journal_db *db,
                           const iso__original_keys *k, iso__auth_entry *out, bool *have) {
  *have = false;
  for (int pass = 0; pass < 2 && !*have; pass++) {
    bool by_rrn = pass == 1;
    if (by_rrn ? !k->has_rrn : !k->has_de90) continue;
    search s = {.key = by_rrn ? &k->by_rrn : &k->by_de90, .by_rrn = by_rrn};
    iso_journal_selection sel;
    memset(&sel, 0, sizeof sel);
    sel.terminal = s.key->terminal;
    int rc;
    if (by_rrn) {
      sel.rrn = s.key->rrn;
      rc = iso_journal_query(db, &sel, on_original, &s);
    } else {
      rc = find_by_de90(tx, db, &sel, &s);
    }
    if (rc < 0) return rc;
    if (!s.have) continue;
    /* Was it reversed?  Reversals that carry its RRN first, then the
     * terminal's reversals since the original (both indexed). */
    reversed r = {.orig = &s.found};
    if (s.found.rrn[0]) {
      memset(&sel, 0, sizeof sel);
      sel.terminal = s.found.terminal;
      sel.rrn = s.found.rrn;
      rc = iso_journal_query(db, &sel, on_reversal, &r);
      if (rc < 0) return rc;
    }
    if (!r.found) {
      memset(&sel, 0, sizeof sel);
      sel.terminal = s.found.terminal;
      sel.since = s.started_at;
      sel.reversals = true;
      rc = iso_journal_query(db, &sel, on_reversal, &r);
      if (rc < 0) return rc;
    }
    *out = s.found;
    out->state = r.found ? ISO__AUTH_REVERSED : ISO__AUTH_CAPTURED;
    *have = true;
  }
  return 0;
}

static int lookup_prepare(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  iso__original_keys k;
  if (!is->journal) return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
  iso__original_keys_from(&k, iso_tx_request(tx));
  if (iso__auth_log_has(&is->log, &k)) return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
  iso__auth_entry orig;
  bool have;
  int rc = find_in_journal(tx, is->journal, &k, &orig, &have);
  if (rc == 0 && have) rc = iso__auth_log_admit(&is->log, &orig);
  if (rc < 0) {
    atomic_fetch_add(&is->counters.journal_lookup_failures, 1);
    iso_tx_set_response_code(tx, "96");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  atomic_fetch_add(have ? &is->counters.journal_found : &is->counters.journal_missed, 1);
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

const iso_participant iso__p_lookup = {.name = "original-lookup",
                                       .flags = ISO_PARTICIPANT_BLOCKING,
                                       .prepare = lookup_prepare};
