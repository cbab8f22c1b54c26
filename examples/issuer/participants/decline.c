/*
 * examples/issuer/participants/decline.c -- the decline filler, last in the
 * flow and active only on the abort path (prepare-for-abort): a decline
 * never carries an authorization code (DE 38), and one that a participant
 * voted without giving a reason gets "05" (do not honour).  Aborts the flow
 * decided itself (deadline, timeout, journal) keep the flow's own code.
 */
#include "examples/issuer/participants/issuer.h"

static int decline_prepare(iso_tx *tx, void *data) {
  (void)tx;
  (void)data;
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

static int decline_prepare_for_abort(iso_tx *tx, void *data) {
  (void)data;
  iso_msg *rsp = iso_tx_response(tx);
  iso_msg_unset(rsp, 38);
  if (!iso_msg_has(rsp, 39) && iso_tx_abort_reason(tx) == 0)
    iso_tx_set_response_code(tx, "05");
  return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
}

const iso_participant iso__p_decline = {.name = "decline",
                                        .prepare = decline_prepare,
                                        .prepare_for_abort = decline_prepare_for_abort};
