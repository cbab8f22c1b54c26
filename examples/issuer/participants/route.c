/*
 * examples/issuer/participants/route.c -- the selector: after the field
 * check, names the group that handles the request's kind.  Authorizations
 * run "authorization" (card, account), reversals "reversal"; network
 * management (0800) needs no group.  The groups run in place, before
 * approval and decline.
 */
#include "examples/issuer/participants/issuer.h"

static int route_prepare(iso_tx *tx, void *data) {
  (void)tx;
  (void)data;
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

static const char *route_select(iso_tx *tx, void *data) {
  (void)data;
  switch (iso__request_kind_of(iso_msg_mti(iso_tx_request(tx)))) {
    case ISO__KIND_AUTHORIZATION: return "authorization";
    case ISO__KIND_REVERSAL: return "reversal";
    default: return "";
  }
}

const iso_participant iso__p_route = {
    .name = "route", .prepare = route_prepare, .select = route_select};
