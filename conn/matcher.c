/*
 * conn/matcher.c -- match keys, read straight off the wire.
 *
 * A connection pairs a response with its request by a key computed from the
 * packed payload on both sides (the request when it is submitted, the response
 * when it arrives), so matching never needs a full unpack: iso_peek_fields
 * finds the MTI and the chosen fields by skipping the others by length.  The
 * key is the MTI class (its first two digits: 0100 and 0110 agree, 0420 and
 * 0430 agree) followed by each field's wire bytes with a length byte in front,
 * so "1" + "23" and "12" + "3" differ.
 */
#include <string.h>

#include "isoflow/conn.h"

static const uint16_t default_fields[] = {11, 41};

int iso_match_compute(const iso_match *m, const iso_spec *spec,
                      const uint8_t *payload, size_t len, iso_match_key *key) {
  if (m->fn) return m->fn(m->fn_data, payload, len, key);
  if (spec == NULL || m->nfields > ISO_MATCH_MAX_FIELDS) return ISO_E_INVAL;
  const uint16_t *fields = m->nfields ? m->fields : default_fields;
  size_t n = m->nfields ? m->nfields : 2;
  int want[ISO_MATCH_MAX_FIELDS];
  iso_field_ref refs[ISO_MATCH_MAX_FIELDS];
  for (size_t i = 0; i < n; i++) want[i] = fields[i];
  int rc = iso_peek_fields(spec, payload, len, key->mti, want, n, refs, NULL);
  if (rc < 0) return rc;
  size_t k = 0;
  if (!m->no_mti_class) {
    key->bytes[k++] = (uint8_t)key->mti[0];
    key->bytes[k++] = (uint8_t)key->mti[1];
  }
  for (size_t i = 0; i < n; i++) {
    uint32_t wl = refs[i].data ? refs[i].wire_len : 0;
    if (wl > 255 || k + 1 + wl > ISO_MATCH_KEY_MAX) return ISO_E_NOSPC;
    key->bytes[k++] = (uint8_t)wl;
    if (wl) memcpy(key->bytes + k, refs[i].data, wl);
    k += wl;
  }
  key->len = (uint8_t)k;
  return 0;
}
