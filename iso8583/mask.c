/*
 * iso8583/mask.c -- masking of card data for people (JSON output, describe):
 * iso_mask_pan, the per-field policy (iso__show_for) and the value writer
 * both renderers share (iso__out_value).  Nothing here decides what the
 * journal stores; it only decides what a reader sees.
 */
#include "iso8583/mask.h"

#include <stdlib.h>
#include <string.h>

size_t iso_mask_pan(const char *pan, size_t len, char *out) {
  /* Up to 10 digits, showing 6 + 4 would show everything: hide it all. */
  bool hide_all = len <= 10;
  for (size_t i = 0; i < len; i++)
    out[i] = !hide_all && (i < 6 || i >= len - 4) ? pan[i] : '*';
  return len;
}

iso__show iso__show_for(const iso_field_def *def, unsigned flags) {
  if (flags & ISO_SHOW_UNMASKED) return ISO__SHOW_CLEAR;
  switch (def ? def->sensitivity : ISO_SENS_NONE) {
    case ISO_SENS_NONE:
      return ISO__SHOW_CLEAR;
    case ISO_SENS_PAN:
      return ISO__SHOW_PAN;
    default:
      return ISO__SHOW_REDACTED;
  }
}

int iso__msg_value(const iso_msg *m, int field, uint8_t *scratch, size_t cap,
                   const uint8_t **value, size_t *len, void **owned) {
  *owned = NULL;
  if (iso_msg_peek(m, field, value, len) == 0) return 0;
  size_t need = 0;
  int rc = iso_msg_get(m, field, scratch, cap, &need);
  if (rc == ISO_E_NOSPC) {
    uint8_t *big = malloc(need + 1);
    if (!big) return ISO_E_NOMEM;
    rc = iso_msg_get(m, field, big, need + 1, &need);
    if (rc) {
      free(big);
      return rc;
    }
    *owned = big;
    scratch = big;
  } else if (rc) {
    return rc;
  }
  *value = scratch;
  *len = need;
  return 0;
}

int iso__msg_each_value(const iso_msg *m, iso__value_visit visit, void *arg) {
  uint8_t scratch[512];
  for (int f = iso_msg_next_field(m, 0); f; f = iso_msg_next_field(m, f)) {
    const uint8_t *value;
    size_t len;
    void *owned;
    int rc = iso__msg_value(m, f, scratch, sizeof scratch, &value, &len, &owned);
    if (rc) return rc;
    visit(arg, f, iso_spec_field(m->spec, f), value, len);
    free(owned);
  }
  return 0;
}

void iso__out_value(iso__out *o, const iso_field_def *def, iso__show show,
                    const uint8_t *value, size_t len, bool json) {
  if (show == ISO__SHOW_REDACTED) {
    iso__out_str(o, json ? "\"" ISO__REDACTED "\"" : ISO__REDACTED);
    return;
  }
  if (def && def->content == ISO_CONTENT_B) {
    /* Hex is never escaped, in either rendering; a binary "PAN" is hidden. */
    if (json) iso__out_char(o, '"');
    if (show == ISO__SHOW_PAN)
      iso__out_repeat(o, '*', 2 * len);
    else
      iso__out_hex(o, value, len);
    if (json) iso__out_char(o, '"');
    return;
  }
  char masked[64];
  if (show == ISO__SHOW_PAN) {
    if (len > sizeof masked) {
      iso__out_str(o, json ? "\"" ISO__REDACTED "\"" : ISO__REDACTED);
      return;
    }
    iso_mask_pan((const char *)value, len, masked);
    value = (const uint8_t *)masked;
  }
  if (json)
    iso__out_json_string(o, value, len);
  else
    iso__out_printable(o, value, len);
}
