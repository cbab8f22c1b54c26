/*
 * examples/issuer/participants/card.c -- card checks on authorizations: the
 * PAN must pass Luhn and be in the card book ("14", invalid card number),
 * and the card must not be expired ("54"): neither the expiry the terminal
 * sent (DE 14) nor the one on file.  Leaves the card's index in the context
 * (ISO__CTX_CARD, index + 1) for the account.  Reads only: never joins.
 */
#include "examples/issuer/participants/issuer.h"

#include <stdint.h>
#include <string.h>

static int card_prepare(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  const iso_msg *req = iso_tx_request(tx);
  char pan[ISO__PAN_MAX + 1], expiry[8];
  if (!iso__field_str(req, 2, pan, sizeof pan) || !iso__luhn_ok(pan, strlen(pan))) {
    iso_tx_set_response_code(tx, "14");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  long card = iso__card_book_find(is->book, pan, strlen(pan));
  if (card < 0) {
    iso_tx_set_response_code(tx, "14");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  const iso__card *c = &is->book->cards[card];
  bool expired = iso__card_expired(c->expiry, 4, is->yymm_now);
  if (iso__field_str(req, 14, expiry, sizeof expiry))
    expired = expired || iso__card_expired(expiry, strlen(expiry), is->yymm_now);
  if (expired) {
    iso_tx_set_response_code(tx, "54");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  if (iso_tx_set(tx, ISO__CTX_CARD, (void *)(uintptr_t)(card + 1), NULL) < 0)
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

const iso_participant iso__p_card = {.name = "card", .prepare = card_prepare};
