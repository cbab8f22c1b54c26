/*
 * examples/issuer/participants/card.c -- card checks on authorizations: the
 * PAN must pass Luhn and be in the card book ("14", invalid card number),
 * and the card must not be expired ("54"): neither the expiry the terminal
 * sent (DE 14) nor the one on file.  Leaves the card's index in the context
 * (ISO__CTX_CARD, index + 1) for the account.  Reads only: never joins.
 */
#include "examples/issuer/participants/issuer.h"

#include <stdint.h>

static int card_prepare(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  const iso_msg *req = iso_tx_request(tx);
  char pan_buf[ISO__PAN_MAX + 1], expiry_buf[8];
  const char *pan, *expiry;
  size_t pan_len, expiry_len;
  if (!iso__field_view(req, 2, pan_buf, sizeof pan_buf, &pan, &pan_len) ||
      !iso__luhn_ok(pan, pan_len)) {
    iso_tx_set_response_code(tx, "14");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  long card = iso__card_book_find(is->book, pan, pan_len);
  if (card < 0) {
    iso_tx_set_response_code(tx, "14");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  const iso__card *c = &is->book->cards[card];
  bool expired = iso__card_expired(c->expiry, 4, is->yymm_now);
  if (iso__field_view(req, 14, expiry_buf, sizeof expiry_buf, &expiry, &expiry_len))
    expired = expired || iso__card_expired(expiry, expiry_len, is->yymm_now);
  if (expired) {
    iso_tx_set_response_code(tx, "54");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  if (iso_tx_set(tx, ISO__CTX_CARD, (void *)(uintptr_t)(card + 1), NULL) < 0)
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

const iso_participant iso__p_card = {.name = "card", .prepare = card_prepare};
