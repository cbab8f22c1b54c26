/*
 * iso8583/peek.c -- iso_peek_fields: the MTI and a few chosen fields of a
 * packed message (a match key, an idempotency key), read straight off the
 * wire.
 *
 * Fields before the last one asked for are skipped by their lengths only:
 * a fixed field by its precomputed wire size, a variable one by its prefix.
 * The fields asked for get unpack's content checks; nothing after the last
 * of them is looked at.
 */
#include "isoflow/iso8583.h"

#include <string.h>

#include "iso8583/wire.h"

int iso_peek_fields(const iso_spec *spec, const uint8_t *buf, size_t len,
                    char mti[4], const int *fields, size_t n,
                    iso_field_ref *out, iso_error *err) {
  if (!spec || (!buf && len) || (n && (!fields || !out)))
    return iso__fail(err, ISO_E_INVAL, -1, 0, "invalid argument");

  /* Which fields are wanted, and the highest of them. */
  uint64_t wanted[3] = {0, 0, 0};
  int last = 0;
  for (size_t i = 0; i < n; i++) {
    int f = fields[i];
    if (f < 2 || f > ISO_MAX_FIELD || f == 65)
      return iso__fail(err, ISO_E_INVAL, f, 0, "not a data element number");
    wanted[(f - 1) >> 6] |= 1ull << (63 - ((f - 1) & 63)); /* wire order */
    if (f > last) last = f;
    out[i] = (iso_field_ref){NULL, 0, 0};
  }

  uint64_t bitmap[3];
  size_t pos;
  int rc = iso__read_header(spec, buf, len, mti, bitmap, &pos, err);
  if (rc) return rc;

  for (int k = 0; k < 3 && k * 64 < last; k++) {
    uint64_t bits = bitmap[k];
    if (k < 2) bits &= ~(1ull << 63);
    /* Only the fields up to the last one wanted matter. */
    int upto = last - k * 64; /* 1..64 or more */
    if (upto < 64) bits &= ~(~0ull >> upto);
    while (bits) {
      int i = __builtin_clzll(bits);
      uint64_t bit = 1ull << (63 - i);
      bits &= ~bit;
      int f = k * 64 + i + 1;
      const iso__field_wire *w = &spec->wire[f];
      if (!(wanted[k] & bit) && w->prefix_digits == 0) {
        if (len - pos < w->fixed_wire)
          return iso__fail(err, ISO_E_NEED_MORE, f, pos,
                           "field data truncated");
        pos += w->fixed_wire;
        continue;
      }
      const uint8_t *data;
      uint32_t clen, wlen;
      rc = iso__read_field(w, f, buf, len, &pos, &data, &clen, &wlen, err);
      if (rc) return rc;
      if (!(wanted[k] & bit)) continue;
      rc = iso__check_field(w, f, data, clen, (size_t)(data - buf), err);
      if (rc) return rc;
      for (size_t j = 0; j < n; j++)
        if (fields[j] == f) out[j] = (iso_field_ref){data, wlen, clen};
    }
  }
  return 0;
}
