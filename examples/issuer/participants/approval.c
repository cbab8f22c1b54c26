/*
 * examples/issuer/participants/approval.c -- approval: reached only when
 * every check before it prepared, it sets DE 39 "00" and, on an
 * authorization, DE 38: a six-character authorization code.  Reversals and
 * network messages (echo, sign-on, sign-off) are approved with "00" alone.
 */
#include "examples/issuer/participants/issuer.h"

#include "examples/common/digits.h"

static int approval_prepare(iso_tx *tx, void *data) {
  iso__issuer *is = data;
  if (iso__request_kind_of(iso_msg_mti(iso_tx_request(tx))) == ISO__KIND_AUTHORIZATION) {
    char code[8];
    iso__digits_fixed(code, iso__issuer_next_auth_code(is), 6);
    if (iso_msg_set_copy(iso_tx_response(tx), 38, code, 6) < 0)
      return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  if (iso_tx_set_response_code(tx, "00") < 0) return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

const iso_participant iso__p_approval = {.name = "approval", .prepare = approval_prepare};
