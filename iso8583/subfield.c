/*
 * iso8583/subfield.c -- positional subfields: fixed-length pieces of a
 * field's canonical value, one after another (DE 3 processing code, DE 90
 * original data elements ...), as the spec lists them.
 */
#include "isoflow/iso8583.h"

int iso_subfield_get(const iso_spec *spec, int field, const uint8_t *value,
                     size_t len, int sub, const uint8_t **out,
                     size_t *out_len) {
  const iso_field_def *d = iso_spec_field(spec, field);
  if (!d || d->subfield_kind != ISO_SUB_POSITIONAL || !value) return ISO_E_INVAL;
  if (sub < 1 || sub > d->subfield_count) return ISO_E_INVAL;
  size_t at = 0;
  for (int i = 0; i < sub - 1; i++) at += d->subfields[i].length;
  size_t n = d->subfields[sub - 1].length;
  if (at > len || len - at < n) return ISO_E_NO_FIELD;
  *out = value + at;
  *out_len = n;
  return 0;
}
