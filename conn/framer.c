/*
 * conn/framer.c -- splits a byte stream into frames and writes length prefixes.
 *
 * A frame is: length prefix (2 or 4 bytes, in one of four encodings), an
 * optional fixed header (a TPDU) carried through untouched, the payload.  The
 * connection (conn/connection.c) calls iso_frame_split over its read buffer
 * as many times as whole frames are there; the same rules build prefixes on
 * the way out.  A blocking reader (the `isoflow` command) reads the prefix
 * bytes first and asks iso_frame_read_prefix how many follow.  In the manner of picohttpparser: nothing is allocated, the
 * output points into the caller's buffer, nothing past `len` is read, and
 * "need more" is a different result from "malformed".
 */
#include <string.h>

#include "isoflow/conn.h"

#define ISO__FRAME_DEFAULT_MAX 8192u

int iso_frame_kind_parse(const char *name, iso_frame_kind *out) {
  static const struct {
    const char *name;
    iso_frame_kind kind;
  } names[] = {{"len2", ISO_FRAME_LEN2},
               {"len4", ISO_FRAME_LEN4},
               {"ascii4", ISO_FRAME_ASCII4},
               {"bcd2", ISO_FRAME_BCD2}};
  if (name == NULL) return ISO_E_INVAL;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    if (strcmp(name, names[i].name) == 0) {
      *out = names[i].kind;
      return 0;
    }
  }
  return ISO_E_INVAL;
}

size_t iso_frame_prefix_size(const iso_framing *f) {
  return f->kind == ISO_FRAME_LEN2 || f->kind == ISO_FRAME_BCD2 ? 2 : 4;
}

/* The largest value the prefix itself can hold. */
static uint32_t prefix_capacity(const iso_framing *f) {
  switch (f->kind) {
    case ISO_FRAME_LEN2: return 0xFFFFu;
    case ISO_FRAME_LEN4: return 0xFFFFFFFFu;
    default: return 9999u; /* ASCII4, BCD2 */
  }
}

uint32_t iso_frame_max_body(const iso_framing *f) {
  uint32_t max = f->max_frame ? f->max_frame : ISO__FRAME_DEFAULT_MAX;
  uint32_t cap = prefix_capacity(f);
  if (f->length_includes_self) cap -= (uint32_t)iso_frame_prefix_size(f);
  return max < cap ? max : cap;
}

int iso_framing_check(const iso_framing *f) {
  if (f == NULL || f->kind > ISO_FRAME_BCD2) return ISO_E_INVAL;
  if (f->header_len >= iso_frame_max_body(f)) return ISO_E_INVAL;
  return 0;
}

/* Decodes the prefix at p into *value; ISO_E_BAD_FRAME for bad digits. */
static int read_prefix(const iso_framing *f, const uint8_t *p, uint32_t *value) {
  switch (f->kind) {
    case ISO_FRAME_LEN2:
      *value = (uint32_t)p[0] << 8 | p[1];
      return 0;
    case ISO_FRAME_LEN4:
      *value = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
               (uint32_t)p[2] << 8 | p[3];
      return 0;
    case ISO_FRAME_ASCII4: {
      uint32_t v = 0;
      for (int i = 0; i < 4; i++) {
        if (p[i] < '0' || p[i] > '9') return ISO_E_BAD_FRAME;
        v = v * 10 + (uint32_t)(p[i] - '0');
      }
      *value = v;
      return 0;
    }
    case ISO_FRAME_BCD2: {
      uint32_t v = 0;
      for (int i = 0; i < 2; i++) {
        unsigned hi = p[i] >> 4, lo = p[i] & 0x0F;
        if (hi > 9 || lo > 9) return ISO_E_BAD_FRAME;
        v = v * 100 + hi * 10 + lo;
      }
      *value = v;
      return 0;
    }
    default:
      return ISO_E_INVAL;
  }
}

int iso_frame_read_prefix(const iso_framing *f, const uint8_t *prefix,
                          uint32_t *body_len) {
  uint32_t value;
  int rc = read_prefix(f, prefix, &value);
  if (rc < 0) return rc;
  if (f->length_includes_self) {
    uint32_t psize = (uint32_t)iso_frame_prefix_size(f);
    if (value < psize) return ISO_E_BAD_FRAME;
    value -= psize;
  }
  if (value != 0) { /* zero is a keep-alive */
    if (value > iso_frame_max_body(f)) return ISO_E_FRAME_TOO_LARGE;
    if (value <= f->header_len) return ISO_E_BAD_FRAME;
  }
  *body_len = value;
  return 0;
}

int iso_frame_split(const iso_framing *f, const uint8_t *buf, size_t len,
                    iso_frame *out) {
  size_t psize = iso_frame_prefix_size(f);
  if (len < psize) return ISO_E_NEED_MORE;
  uint32_t value;
  int rc = iso_frame_read_prefix(f, buf, &value);
  if (rc < 0) return rc;
  if (value == 0) { /* keep-alive */
    memset(out, 0, sizeof *out);
    return (int)psize;
  }
  if (len - psize < value) return ISO_E_NEED_MORE;
  out->header = f->header_len ? buf + psize : NULL;
  out->header_len = f->header_len;
  out->payload = buf + psize + f->header_len;
  out->len = value - f->header_len;
  return (int)(psize + value);
}

int iso_frame_put_prefix(const iso_framing *f, size_t body_len, uint8_t *out) {
  if (body_len > iso_frame_max_body(f)) return ISO_E_FRAME_TOO_LARGE;
  size_t psize = iso_frame_prefix_size(f);
  uint32_t v = (uint32_t)body_len;
  if (f->length_includes_self) v += (uint32_t)psize;
  switch (f->kind) {
    case ISO_FRAME_LEN2:
      out[0] = (uint8_t)(v >> 8);
      out[1] = (uint8_t)v;
      break;
    case ISO_FRAME_LEN4:
      out[0] = (uint8_t)(v >> 24);
      out[1] = (uint8_t)(v >> 16);
      out[2] = (uint8_t)(v >> 8);
      out[3] = (uint8_t)v;
      break;
    case ISO_FRAME_ASCII4:
      for (int i = 3; i >= 0; i--, v /= 10) out[i] = (uint8_t)('0' + v % 10);
      break;
    case ISO_FRAME_BCD2:
      out[1] = (uint8_t)((v % 10) | (v / 10 % 10) << 4);
      out[0] = (uint8_t)((v / 100 % 10) | (v / 1000 % 10) << 4);
      break;
    default:
      return ISO_E_INVAL;
  }
  return (int)psize;
}
