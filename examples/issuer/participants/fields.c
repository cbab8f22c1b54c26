/*
 * examples/issuer/participants/fields.c -- the first participant: checks
 * that the request carries the fields its kind needs, in the form the issuer
 * reads them.  A missing or malformed field declines with "30" (format
 * error); an MTI the issuer does not handle with "12" (invalid transaction).
 * The codec has already checked contents against the spec; what is checked
 * here is presence and the lengths the spec leaves open (DE 2).
 */
#include "examples/issuer/participants/issuer.h"

#include <string.h>

typedef struct rule {
  int field;
  size_t min, max; /* length in characters */
} rule;

static const rule authorization[] = {{2, 12, 19}, {3, 6, 6},  {4, 12, 12},
                                     {7, 10, 10}, {11, 6, 6}, {41, 1, 15}};
static const rule reversal[] = {{4, 12, 12}, {7, 10, 10}, {11, 6, 6}, {41, 1, 15}};
static const rule network[] = {{7, 10, 10}, {11, 6, 6}, {70, 3, 3}};

static bool field_ok(const iso_msg *m, const rule *r) {
  char buf[64];
  const char *v;
  size_t n;
  if (!iso__field_view(m, r->field, buf, sizeof buf, &v, &n)) return false;
  return n >= r->min && n <= r->max;
}

static bool all_ok(const iso_msg *m, const rule *rules, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!field_ok(m, &rules[i])) return false;
  return true;
}

#define ALL_OK(m, rules) all_ok(m, rules, sizeof rules / sizeof rules[0])

static bool request_ok(const iso_msg *m, iso__request_kind kind) {
  static const rule de14 = {14, 4, 4}, de90 = {90, 42, 42}, de37 = {37, 12, 12};
  switch (kind) {
    case ISO__KIND_AUTHORIZATION:
      return ALL_OK(m, authorization) && (!iso_msg_has(m, 14) || field_ok(m, &de14));
    case ISO__KIND_REVERSAL:
      /* The original is named by DE 90, or else by DE 37 (with DE 41). */
      if (iso_msg_has(m, 90)) return ALL_OK(m, reversal) && field_ok(m, &de90);
      return ALL_OK(m, reversal) && field_ok(m, &de37);
    case ISO__KIND_NETWORK: {
      char buf[8];
      const char *code;
      size_t n;
      return ALL_OK(m, network) && iso__field_view(m, 70, buf, sizeof buf, &code, &n) &&
             n == 3 &&
             (!memcmp(code, "001", 3) || !memcmp(code, "002", 3) || !memcmp(code, "301", 3));
    }
  }
  return false;
}

static int fields_prepare(iso_tx *tx, void *data) {
  (void)data;
  const iso_msg *req = iso_tx_request(tx);
  iso__request_kind kind = iso__request_kind_of(iso_msg_mti(req));
  if (!kind) {
    iso_tx_set_response_code(tx, "12");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  if (!request_ok(req, kind)) {
    iso_tx_set_response_code(tx, "30");
    return ISO_ABORTED | ISO_NO_JOIN | ISO_READONLY;
  }
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

const iso_participant iso__p_fields = {.name = "fields", .prepare = fields_prepare};
