/*
 * iso8583/wire.c -- the out-of-line half of wire.h: reading the MTI and the
 * bitmaps of a packed message, and the content checks that are not the
 * plain-ASCII-digits fast path.
 */
#include "iso8583/wire.h"

#include <string.h>

static int read_mti(const iso_spec *spec, const uint8_t *buf, size_t len,
                    char out[4], size_t *pos, iso_error *err) {
  char mti[4];
  if (spec->mti_enc == ISO_ENC_ASCII && len >= 4) {
    /* The common case without the general machinery. */
    unsigned bad = 0;
    for (int i = 0; i < 4; i++) bad |= (unsigned)(buf[i] - '0') > 9;
    if (bad) return iso__fail(err, ISO_E_BAD_MTI, 0, 0, "MTI is not 4 digits");
    if (out) memcpy(out, buf, 4);
    *pos = 4;
    return 0;
  }
  size_t need = spec->mti_enc == ISO_ENC_BCD ? 2 : 4;
  if (len < need)
    return iso__fail(err, ISO_E_NEED_MORE, 0, 0, "MTI truncated");
  switch (spec->mti_enc) {
    case ISO_ENC_BCD:
      if (iso__bcd_decode(buf, 4, mti, false, false, NULL) != 0)
        return iso__fail(err, ISO_E_BAD_MTI, 0, 0, "MTI is not 4 BCD digits");
      break;
    case ISO_ENC_EBCDIC:
      iso__ebcdic_decode(buf, 4, (uint8_t *)mti);
      break;
    default:
      memcpy(mti, buf, 4);
      break;
  }
  if (!iso__is_digits((const uint8_t *)mti, 4, NULL))
    return iso__fail(err, ISO_E_BAD_MTI, 0, 0, "MTI is not 4 digits");
  if (out) memcpy(out, mti, 4);
  *pos = need;
  return 0;
}

/* One bitmap at *pos, as a wire-order 64-bit word. */
static int read_bitmap(const iso_spec *spec, const uint8_t *buf, size_t len,
                       size_t *pos, uint64_t *out, iso_error *err) {
  size_t at = *pos;
  uint8_t raw[8];
  const uint8_t *bytes = buf + at;
  if (spec->bitmap_enc == ISO_ENC_HEX) {
    if (len - at < 16)
      return iso__fail(err, ISO_E_NEED_MORE, 1, at, "bitmap truncated");
    size_t bad;
    if (iso__hex_decode((const char *)bytes, 16, raw, &bad) != 0)
      return iso__fail(err, ISO_E_BAD_BITMAP, 1, at + bad,
                       "bitmap is not hexadecimal");
    bytes = raw;
    *pos = at + 16;
  } else {
    if (len - at < 8)
      return iso__fail(err, ISO_E_NEED_MORE, 1, at, "bitmap truncated");
    *pos = at + 8;
  }
  uint64_t v;
  memcpy(&v, bytes, 8);
  *out = __builtin_bswap64(v); /* big-endian on the wire */
  return 0;
}

int iso__read_header(const iso_spec *spec, const uint8_t *buf, size_t len,
                     char mti[4], uint64_t bitmap[3], size_t *pos,
                     iso_error *err) {
  size_t at = 0;
  int rc = read_mti(spec, buf, len, mti, &at, err);
  if (rc) return rc;
  bitmap[0] = bitmap[1] = bitmap[2] = 0;
  size_t where[3] = {at, 0, 0};
  for (int k = 0; k < 3; k++) {
    if (k > 0 && !(bitmap[k - 1] >> 63)) break; /* no next bitmap */
    where[k] = at;
    rc = read_bitmap(spec, buf, len, &at, &bitmap[k], err);
    if (rc) return rc;
  }
  /* Every named field must be defined (the indicator bits count as
   * defined): one mask per bitmap, then the first offender if any. */
  for (int k = 0; k < 3; k++) {
    uint64_t undefined = bitmap[k] & ~spec->defined_wire[k];
    if (undefined) {
      int n = k * 64 + __builtin_clzll(undefined) + 1;
      return iso__fail(err, ISO_E_UNKNOWN_FIELD, n, where[k],
                       "bitmap names a field the spec does not define");
    }
  }
  *pos = at;
  return 0;
}

int iso__check_field_slow(const iso__field_wire *w, int n, const uint8_t *data,
                          uint32_t clen, size_t at, iso_error *err) {
  size_t bad = 0;
  int rc = 0;
  switch (w->check) {
    case ISO__CHECK_DIGITS:
      if (!iso__is_digits(data, clen, &bad)) rc = ISO_E_NOT_NUMERIC;
      break;
    case ISO__CHECK_EBCDIC_DIGITS:
      for (uint32_t i = 0; i < clen; i++) {
        if ((unsigned)(data[i] - 0xF0) > 9) {
          bad = i;
          rc = ISO_E_NOT_NUMERIC;
          break;
        }
      }
      break;
    case ISO__CHECK_BCD: {
      bool left = w->data_enc == ISO_ENC_BCD_LEFT;
      if (w->content == ISO_CONTENT_XN) {
        if (clen == 0) break;
        if (data[0] != 'C' && data[0] != 'D') {
          rc = ISO_E_BAD_CHAR;
          break;
        }
        rc = iso__bcd_check(data + 1, clen - 1, left, false, &bad);
        bad += 1;
      } else {
        rc = iso__bcd_check(data, clen, left, w->content == ISO_CONTENT_Z,
                            &bad);
      }
      break;
    }
    case ISO__CHECK_TRACK:
    case ISO__CHECK_AMOUNT:
      if (w->data_enc == ISO_ENC_EBCDIC) {
        /* Check the ASCII equivalent, a chunk at a time. */
        uint8_t tmp[64];
        for (uint32_t off = 0; off < clen && !rc; off += sizeof tmp) {
          uint32_t k = clen - off < sizeof tmp ? clen - off : sizeof tmp;
          iso__ebcdic_decode(data + off, k, tmp);
          if (w->check == ISO__CHECK_AMOUNT && off > 0) {
            rc = iso__is_digits(tmp, k, &bad) ? 0 : ISO_E_NOT_NUMERIC;
          } else {
            rc = iso__check_content(w->content, tmp, k, &bad);
          }
          if (rc) bad += off;
        }
      } else {
        rc = iso__check_content(w->content, data, clen, &bad);
      }
      break;
    case ISO__CHECK_HEX:
      for (uint32_t i = 0; i < 2 * clen; i++) {
        uint8_t c = data[i];
        bool hex = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F') ||
                   (c >= 'a' && c <= 'f');
        if (!hex) {
          bad = i;
          rc = ISO_E_BAD_CHAR;
          break;
        }
      }
      break;
    default:
      break;
  }
  if (!rc) return 0;
  const char *why = rc == ISO_E_NOT_NUMERIC ? "non-digit in a numeric field"
                    : rc == ISO_E_BAD_PAD   ? "BCD pad nibble is not 0 or F"
                                            : "character not allowed";
  return iso__fail(err, rc, n, at + bad, why);
}
