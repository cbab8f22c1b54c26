/*
 * examples/issuer/participants/reversal.c -- reversals (0400/0420 and their
 * repeats): finds the original authorization by its original data elements
 * (DE 90: original MTI, STAN and transmission time, matched with DE 41), or
 * else by DE 37 + DE 41, and gives its whole amount back in commit.
 *
 * A reversal is acknowledged whatever it finds, with "00", as issuers do:
 * the acquirer sends it to make sure nothing stays held, and any other
 * answer only makes it send again (0421) until told "done".  So a reversal
 * of an unknown original, or of one already reversed, is approved with no
 * effect (and counted).  Partial reversals (DE 95) are not supported: the
 * original's whole amount is released.
 *
 * Prepare claims the original (CAPTURED -> REVERSING, under the log's
 * lock), so two reversals of the same original racing on two loops refund
 * once.  An original too old for the log was brought back into it from the
 * journal by the lookup participant (lookup.c) just before.
 * The refund is a persistent value ("card:amount") for recovery.
 */
#include "examples/issuer/participants/issuer.h"

#include <string.h>

static int reversal_prepare(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  iso__original_keys k;
  iso__original_keys_from(&k, iso_tx_request(tx));
  iso__auth_entry *orig;
  iso__auth_claim c = iso__auth_log_claim(&is->log, &k, &orig);
  if (c == ISO__CLAIM_UNKNOWN) {
    iso__issuer_count_add(is, ISO__COUNT_REVERSAL_UNKNOWN);
    return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
  }
  if (c == ISO__CLAIM_ALREADY) {
    iso__issuer_count_add(is, ISO__COUNT_REVERSAL_REPEATED);
    return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
  }
  char value[48];
  int n = iso__value_format(value, sizeof value, orig->card, orig->amount);
  if (n < 0 || iso_tx_set_persistent(tx, ISO__CTX_REFUND, value, (size_t)n) < 0 ||
      iso_tx_set(tx, ISO__CTX_ORIGINAL, orig, NULL) < 0) {
    iso__auth_log_settle(&is->log, orig, false);
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  return ISO_PREPARED;
}

static void reversal_commit(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  const void *value;
  size_t len;
  if (iso_tx_get_persistent(tx, ISO__CTX_REFUND, &value, &len) < 0) return;
  iso__auth_entry *orig = iso_tx_get(tx, ISO__CTX_ORIGINAL);
  if (iso_tx_is_recovery(tx) || !orig) {
    if (iso__issuer_apply_refund(is, iso_tx_request(tx), value, len) == 0)
      iso__issuer_count_add(is, ISO__COUNT_REFUNDS);
    return;
  }
  uint32_t card = orig->card;
  int64_t amount = orig->amount;
  iso__auth_log_settle(&is->log, orig, true); /* orig may be freed */
  iso__account_credit(is, card, amount);
  iso__issuer_count_add(is, ISO__COUNT_REFUNDS);
}

static void reversal_abort(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  iso__auth_entry *orig = iso_tx_get(tx, ISO__CTX_ORIGINAL);
  if (orig && !iso_tx_is_recovery(tx)) iso__auth_log_settle(&is->log, orig, false);
}

const iso_participant iso__p_reversal = {.name = "reversal",
                                         .prepare = reversal_prepare,
                                         .commit = reversal_commit,
                                         .abort = reversal_abort};
