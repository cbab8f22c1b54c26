/*
 * examples/issuer/participants/account.c -- the account: the amount (DE 4)
 * is held in prepare when the card's available balance covers it ("51"
 * otherwise), captured in commit (the authorization enters the log that
 * reversals search) and released in abort.
 *
 * The hold is a persistent context value ("card:amount"), so a recovery
 * re-run knows what to do without the in-memory state of the process that
 * died.  At start the balances are rebuilt from the journal's completed
 * transactions; a transaction recovery finishes was not among them, so:
 * commit in recovery applies the capture (balance and log) from the value;
 * abort in recovery has nothing to give back (the hold died with the
 * process).  Outside recovery, commit adds to the log the entry prepare
 * noted (ISO__CTX_CAPTURE: the request's identity fields, card, amount,
 * hashes), so that it neither reads the request again nor parses the value.
 */
#include "examples/issuer/participants/issuer.h"

#include <stdint.h>
#include <stdlib.h>

/* What commit adds to the log, made in prepare while the request's fields
 * are in cache (commit runs after the journal's group commit, when they
 * are not: reading them there was four or five cache misses). */
typedef struct capture {
  iso__auth_entry entry; /* identity, card and amount */
  iso__auth_hashes hashes;
} capture;

static int account_prepare(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  uintptr_t card1 = (uintptr_t)iso_tx_get(tx, ISO__CTX_CARD);
  int64_t amount = iso__amount_of(iso_tx_request(tx));
  if (card1 == 0 || amount < 0) return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  uint32_t card = (uint32_t)(card1 - 1);
  if (!iso__account_hold(is, card, amount)) {
    iso_tx_set_response_code(tx, "51");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  char value[48];
  int n = iso__value_format(value, sizeof value, card, amount);
  if (n < 0 || iso_tx_set_persistent(tx, ISO__CTX_HOLD, value, (size_t)n) < 0) {
    iso__account_credit(is, card, amount);
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  /* Without memory for it, commit reads the request instead. */
  capture *c = malloc(sizeof *c);
  if (c) {
    iso__auth_entry_from(&c->entry, iso_tx_request(tx));
    c->entry.card = card;
    c->entry.amount = amount;
    c->hashes = iso__auth_hashes_of(&c->entry);
    if (iso_tx_set(tx, ISO__CTX_CAPTURE, c, free) < 0) free(c);
  }
  iso__issuer_count_add(is, ISO__COUNT_HOLDS);
  return ISO_PREPARED;
}

static void account_commit(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  const iso_msg *req = iso_tx_request(tx);
  if (iso_tx_is_recovery(tx)) {
    const void *value;
    size_t len;
    if (iso_tx_get_persistent(tx, ISO__CTX_HOLD, &value, &len) == 0 &&
        iso__issuer_apply_capture(is, req, value, len) == 0)
      iso__issuer_count_add(is, ISO__COUNT_CAPTURES);
    return;
  }
  /* Out of memory here costs only the ability to reverse this one by log
   * lookup; the capture itself (the balance) already stands. */
  const capture *c = iso_tx_get(tx, ISO__CTX_CAPTURE);
  if (c) {
    iso__auth_log_prefetch(&is->log, c->hashes);
    iso__auth_log_add_hashed(&is->log, &c->entry, c->hashes);
  } else {
    /* No note (no memory in prepare): the hold value says the card and the
     * amount, as in recovery. */
    const void *value;
    size_t len;
    uint32_t card;
    int64_t amount;
    if (iso_tx_get_persistent(tx, ISO__CTX_HOLD, &value, &len) < 0 ||
        iso__issuer_card_value(is, value, len, &card, &amount))
      return;
    iso__auth_entry e;
    iso__auth_entry_from(&e, req);
    e.card = card;
    e.amount = amount;
    iso__auth_log_add(&is->log, &e);
  }
  iso__issuer_count_add(is, ISO__COUNT_CAPTURES);
}

static void account_abort(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  const void *value;
  size_t len;
  uint32_t card;
  int64_t amount;
  if (iso_tx_is_recovery(tx)) return;
  if (iso_tx_get_persistent(tx, ISO__CTX_HOLD, &value, &len) < 0) return;
  if (iso__issuer_card_value(is, value, len, &card, &amount)) return;
  iso__account_credit(is, card, amount);
  iso__issuer_count_add(is, ISO__COUNT_RELEASES);
}

const iso_participant iso__p_account = {.name = "account",
                                        .prepare = account_prepare,
                                        .commit = account_commit,
                                        .abort = account_abort};
