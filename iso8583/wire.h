/*
 * iso8583/wire.h -- reading a packed message's framing: the MTI, the
 * bitmaps, and each field's extent and content check.  Shared by unpack.c
 * (full parse) and peek.c (chosen fields only) so that both apply exactly
 * the same rules: "need more" whenever the input ends before something it
 * needs, "malformed" otherwise, and every error names field and offset.
 *
 * The per-field readers are inline: they are the body of the hot loops.
 */
#ifndef ISOFLOW_ISO8583_WIRE_H
#define ISOFLOW_ISO8583_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "iso8583/encoding.h"
#include "iso8583/spec_internal.h"

/** iso__fail -- fills err (when not NULL) and returns code. */
static inline int iso__fail(iso_error *err, int code, int field, size_t offset,
                            const char *reason) {
  if (err) {
    err->code = code;
    err->field = field;
    err->offset = offset;
    err->reason = reason;
  }
  return code;
}

/**
 * iso__read_header -- reads the MTI (into mti[4] as ASCII digits; mti may be
 * NULL) and the bitmaps at buf[0..len).  bitmap[k] receives bitmap k+1 in
 * wire order (the most significant bit is the lowest field: bit 63 of
 * bitmap[0] is field 1); absent bitmaps are 0.  *pos is set past them.
 * Also checks that every field the bitmaps name is defined by the spec
 * (ISO_E_UNKNOWN_FIELD, at the offset of its bitmap).
 */
int iso__read_header(const iso_spec *spec, const uint8_t *buf, size_t len,
                     char mti[4], uint64_t bitmap[3], size_t *pos,
                     iso_error *err);

/**
 * iso__read_field -- locates field n (definition w) at *pos: reads and
 * checks its length prefix, checks that its data is all there, and advances
 * *pos past it.  *data points at the data, *clen gets the canonical length
 * and *wlen the wire bytes.  Contents are not checked (iso__check_field).
 */
static inline int iso__read_field(const iso__field_wire *w, int n,
                                  const uint8_t *buf, size_t len, size_t *pos,
                                  const uint8_t **data, uint32_t *clen,
                                  uint32_t *wlen, iso_error *err) {
  size_t at = *pos;
  size_t left = len - at;
  uint32_t canon, wire;
  if (w->prefix_digits == 0) {
    canon = w->max_len;
    wire = w->fixed_wire;
  } else {
    if (left < w->prefix_bytes)
      return iso__fail(err, ISO_E_NEED_MORE, n, at, "length prefix truncated");
    long v = iso__prefix_read(buf + at, w->prefix_digits, w->prefix_enc);
    if (v < 0)
      return iso__fail(err, ISO_E_BAD_LENGTH, n, at,
                       "length prefix is not a number");
    if ((uint32_t)v > w->max_len)
      return iso__fail(err, ISO_E_BAD_LENGTH, n, at,
                       "length prefix over the field's maximum");
    canon = (uint32_t)v;
    wire = iso__wire_len(w->content, w->data_enc, canon);
    at += w->prefix_bytes;
    left -= w->prefix_bytes;
  }
  if (left < wire)
    return iso__fail(err, ISO_E_NEED_MORE, n, at, "field data truncated");
  *data = buf + at;
  *clen = canon;
  *wlen = wire;
  *pos = at + wire;
  return 0;
}

/**
 * iso__check_field -- checks field n's wire data (at buffer offset `at`)
 * against its content: digits for numeric fields, nibbles and pad for BCD,
 * sign and digits for amounts, digits and '=' for tracks, hex characters.
 * iso__check_field_slow is its out-of-line part, which also reports the
 * error.
 */
int iso__check_field_slow(const iso__field_wire *w, int n, const uint8_t *data,
                          uint32_t clen, size_t at, iso_error *err);

static inline int iso__check_field(const iso__field_wire *w, int n,
                                   const uint8_t *data, uint32_t clen,
                                   size_t at, iso_error *err) {
  if (w->check == ISO__CHECK_NONE) return 0;
  /* The common cases inline: ASCII digits and ASCII track data. */
  if ((w->check == ISO__CHECK_DIGITS || (w->check == ISO__CHECK_TRACK &&
                                         w->data_enc == ISO_ENC_ASCII)) &&
      iso__quick_content_ok(w->content, data, clen))
    return 0;
  return iso__check_field_slow(w, n, data, clen, at, err);
}

#endif /* ISOFLOW_ISO8583_WIRE_H */
