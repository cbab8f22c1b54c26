/*
 * examples/common/requests.h -- the requests the example programs send:
 * authorizations (0100/0200 and repeats), reversals of an authorization
 * (0400/0420 naming the original by DE 90 and DE 37) and network management
 * (0800).  The acquirer, flowdemo and the tests build their messages here,
 * so every program speaks the same dialect: the fields the example issuer
 * checks (docs/issuer.md).  Values are copied into the message.
 */
#ifndef ISOFLOW_EXAMPLES_REQUESTS_H
#define ISOFLOW_EXAMPLES_REQUESTS_H

#include <stdint.h>

#include "isoflow/iso8583.h"

typedef struct iso__auth_params {
  const char *mti;      /* "0100" when NULL */
  const char *pan;      /* DE 2 */
  const char *expiry;   /* DE 14 (YYMM); NULL: absent */
  int64_t amount;       /* DE 4, minor units */
  uint32_t stan;        /* DE 11 (mod 1,000,000) */
  const char *terminal; /* DE 41, 8 characters; "TERM0001" when NULL */
  const char *when;     /* DE 7, MMDDhhmmss; now (UTC) when NULL */
} iso__auth_params;

/** iso__build_authorization -- m (initialised, emptied here) becomes an
 *  authorization request: DE 2, 3, 4, 7, 11, 12, 13, 14, 32, 37, 41, 42, 49.
 *  DE 37 (RRN) is DE 7's hhmmss + DE 11.  0 or the codec's error. */
int iso__build_authorization(iso_msg *m, const iso__auth_params *p);

/** iso__build_reversal -- m becomes a reversal (mti: "0400", "0420" ...) of
 *  `original`: its DE 2, 3, 4, 37, 41, 42, 49, a DE 90 naming the original
 *  (MTI, STAN, DE 7, DE 32), and its own DE 7 (now) and DE 11 = stan. */
int iso__build_reversal(iso_msg *m, const iso_msg *original, const char *mti,
                        uint32_t stan);

/** iso__build_network -- m becomes an 0800 with DE 70 = code ("001" sign-on,
 *  "002" sign-off, "301" echo), DE 7 now, DE 11 = stan. */
int iso__build_network(iso_msg *m, const char *code, uint32_t stan);

/** iso__now_de7 -- the current UTC time as DE 7 (MMDDhhmmss) into out. */
void iso__now_de7(char out[11]);

#endif
