/*
 * iso8583/pack.c -- iso_msg_pack: encodes a message into a caller buffer.
 *
 * One pass over the present fields in order.  Each value is checked
 * (content, length, padding) and, while it fits, encoded straight into the
 * buffer; once the buffer is short the pass goes on checking and counting
 * only, so ISO_E_NOSPC can report the full size needed.  A content or length
 * error wins over ISO_E_NOSPC.  Values read by unpack (ISO__SLOT_VERIFIED)
 * were checked when they were read and are copied as they are.
 */
#include "isoflow/iso8583.h"

#include <string.h>

#include "iso8583/encoding.h"
#include "iso8583/message_internal.h"
#include "iso8583/wire.h"

/* Reverses the bits of each byte: field order (bit n-1 of present[]) to
 * wire order (most significant bit first) and back. */
static const uint8_t bit_reverse[256] = {
#define R2(n) n, n + 2 * 64, n + 1 * 64, n + 3 * 64
#define R4(n) R2(n), R2(n + 2 * 16), R2(n + 1 * 16), R2(n + 3 * 16)
#define R6(n) R4(n), R4(n + 2 * 4), R4(n + 1 * 4), R4(n + 3 * 4)
    R6(0), R6(2), R6(1), R6(3)
#undef R2
#undef R4
#undef R6
};

/* present[] word (bit i = field base+i+1) to wire-order bytes. */
static void bitmap_bytes(uint64_t present, uint8_t out[8]) {
  for (int j = 0; j < 8; j++) out[j] = bit_reverse[(present >> (8 * j)) & 0xFF];
}

/* Which pad applies: ISO_PAD_LEFT/RIGHT/NONE, and its character. */
static int effective_pad(const iso_field_def *d, char *pad_char) {
  switch (d->pad) {
    case ISO_PAD_LEFT:
    case ISO_PAD_RIGHT:
      *pad_char = d->pad_char;
      return d->pad;
    case ISO_PAD_NONE:
      return ISO_PAD_NONE;
    default:
      break;
  }
  switch (d->content) {
    case ISO_CONTENT_N:
    case ISO_CONTENT_XN:
      *pad_char = '0';
      return ISO_PAD_LEFT;
    case ISO_CONTENT_B:
    case ISO_CONTENT_Z:
      return ISO_PAD_NONE; /* padding would change the data's meaning */
    default:
      *pad_char = ' ';
      return ISO_PAD_RIGHT;
  }
}

/* The i-th character of the value padded to `total` characters. */
static inline uint8_t padded_at(const uint8_t *v, uint32_t len, uint32_t total,
                                int pad, uint8_t pc, uint32_t i) {
  if (pad == ISO_PAD_LEFT) {
    uint32_t lead = total - len;
    return i < lead ? pc : v[i - lead];
  }
  return i < len ? v[i] : pc;
}

/* Writes `total` digits (the value padded) as BCD into out. */
static void put_bcd(uint8_t *out, const uint8_t *v, uint32_t len,
                    uint32_t total, int pad, uint8_t pc, bool left_aligned) {
  if (total == len) {
    /* Unpadded, the usual case: pairs of digits.  The value was checked
     * against its content, so the track table (digits, '=', 'D') is right
     * for every field here. */
    iso__bcd_encode((const char *)v, len, out, left_aligned, true, NULL);
    return;
  }
  uint32_t nbytes = (total + 1) / 2;
  uint32_t shift = (!left_aligned && (total & 1)) ? 1 : 0;
  for (uint32_t b = 0; b < nbytes; b++) {
    uint8_t nib[2];
    for (int h = 0; h < 2; h++) {
      uint32_t slot = 2 * b + (uint32_t)h;
      if (slot < shift || slot - shift >= total) {
        nib[h] = 0;
        continue;
      }
      uint8_t c = padded_at(v, len, total, pad, pc, slot - shift);
      nib[h] = (c == '=' || c == 'D') ? 0x0D : (uint8_t)(c - '0');
    }
    out[b] = (uint8_t)(nib[0] << 4 | nib[1]);
  }
}

/* Writes the value, padded to `total` canonical units, in its wire form. */
static void put_data(uint8_t *out, const iso_field_def *d, const uint8_t *v,
                     uint32_t len, uint32_t total, int pad, uint8_t pc) {
  bool padded = total != len;
  switch (d->data_enc) {
    case ISO_ENC_BCD:
    case ISO_ENC_BCD_LEFT: {
      bool left = d->data_enc == ISO_ENC_BCD_LEFT;
      if (d->content == ISO_CONTENT_XN) {
        /* Sign byte, then the digits padded after it. */
        out[0] = v[0];
        put_bcd(out + 1, v + 1, len - 1, total - 1, pad, pc, left);
      } else {
        put_bcd(out, v, len, total, pad, pc, left);
      }
      return;
    }
    case ISO_ENC_HEX:
      for (uint32_t i = 0; i < total; i++) {
        uint8_t c = padded ? padded_at(v, len, total, pad, pc, i) : v[i];
        out[2 * i] = (uint8_t)iso__hex_digits[c >> 4];
        out[2 * i + 1] = (uint8_t)iso__hex_digits[c & 0x0F];
      }
      return;
    default:
      break;
  }
  if (padded && d->content == ISO_CONTENT_XN && pad == ISO_PAD_LEFT) {
    /* Amount: the sign stays first, the pad goes between it and digits. */
    out[0] = v[0];
    memset(out + 1, pc, total - len);
    memcpy(out + 1 + (total - len), v + 1, len - 1);
  } else if (!padded) {
    memcpy(out, v, len);
  } else if (pad == ISO_PAD_LEFT) {
    memset(out, pc, total - len);
    memcpy(out + (total - len), v, len);
  } else {
    memcpy(out, v, len);
    memset(out + len, pc, total - len);
  }
  if (d->data_enc == ISO_ENC_EBCDIC) iso__ebcdic_encode(out, total, out);
}

/* Checks a canonical value and works out its padded length. */
static int check_value(const iso_field_def *d, int n, const iso__slot *s,
                       size_t at, uint32_t *total, int *pad, char *pc,
                       iso_error *err) {
  size_t bad = 0;
  int rc = 0;
  if (!iso__quick_content_ok(d->content, s->data, s->len))
    rc = iso__check_content(d->content, s->data, s->len, &bad);
  if (rc)
    return iso__fail(err, rc, n, at,
                     rc == ISO_E_NOT_NUMERIC ? "non-digit in a numeric field"
                                             : "character not allowed");
  if (s->len > d->max_len)
    return iso__fail(err, ISO_E_BAD_LENGTH, n, at,
                     "value longer than the field's maximum");
  *pad = ISO_PAD_NONE;
  *total = s->len;
  if (d->length_type == ISO_LEN_FIXED && s->len < d->max_len) {
    *pad = effective_pad(d, pc);
    if (*pad == ISO_PAD_NONE)
      return iso__fail(err, ISO_E_BAD_LENGTH, n, at,
                       "value shorter than the fixed length");
    if (d->content == ISO_CONTENT_XN && s->len == 0)
      return iso__fail(err, ISO_E_BAD_LENGTH, n, at, "amount without a sign");
    *total = d->max_len;
  }
  return 0;
}

/* Writes the MTI and the bitmaps the present fields need, when they fit in
 * cap; returns their size either way. */
static size_t put_header(const iso_msg *m, uint8_t *buf, size_t cap) {
  const iso_spec *spec = m->spec;
  uint64_t words[3] = {m->present[0], m->present[1], m->present[2]};
  words[0] &= ~1ull;           /* bit of field 1 */
  words[1] &= ~1ull;           /* bit of field 65 */
  if (words[2]) words[1] |= 1; /* field 65: a tertiary bitmap follows */
  if (words[1]) words[0] |= 1; /* field 1: a secondary bitmap follows */
  int nbitmaps = words[2] ? 3 : words[1] ? 2 : 1;
  size_t mti_bytes = spec->mti_enc == ISO_ENC_BCD ? 2 : 4;
  size_t each = spec->bitmap_enc == ISO_ENC_HEX ? 16 : 8;
  size_t size = mti_bytes + (size_t)nbitmaps * each;
  if (size > cap) return size;

  if (spec->mti_enc == ISO_ENC_BCD)
    iso__bcd_encode(m->mti, 4, buf, false, false, NULL);
  else if (spec->mti_enc == ISO_ENC_EBCDIC)
    iso__ebcdic_encode((const uint8_t *)m->mti, 4, buf);
  else
    memcpy(buf, m->mti, 4);
  uint8_t *p = buf + mti_bytes;
  for (int k = 0; k < nbitmaps; k++, p += each) {
    uint8_t raw[8];
    bitmap_bytes(words[k], raw);
    if (spec->bitmap_enc == ISO_ENC_HEX)
      iso__hex_encode(raw, 8, (char *)p);
    else
      memcpy(p, raw, 8);
  }
  return size;
}

/* Checks field n and writes it at buf[pos..] when it fits in cap; *size
 * gets the bytes it takes (prefix included) either way. */
static int put_field(const iso_msg *m, int n, uint8_t *buf, size_t cap,
                     size_t pos, size_t *size, iso_error *err) {
  const iso_field_def *d = &m->spec->fields[n];
  const iso__field_wire *w = &m->spec->wire[n];
  const iso__slot *s = &m->slots[m->index[n] - 1];
  uint32_t total = s->len;
  int pad = ISO_PAD_NONE;
  char pc = 0;
  bool as_read = s->flags & (ISO__SLOT_WIRE | ISO__SLOT_VERIFIED);
  if (!as_read) {
    int rc = check_value(d, n, s, pos, &total, &pad, &pc, err);
    if (rc) return rc;
  }
  uint32_t wire = iso__wire_len(w->content, w->data_enc, total);
  *size = (size_t)w->prefix_bytes + wire;
  if (pos > cap || cap - pos < *size) return 0; /* counted, not written */
  uint8_t *p = buf + pos;
  if (w->prefix_digits) {
    iso__prefix_write(p, total, w->prefix_digits, w->prefix_enc);
    p += w->prefix_bytes;
  }
  if (as_read)
    memcpy(p, s->data, wire);
  else
    put_data(p, d, s->data, s->len, total, pad, (uint8_t)pc);
  return 0;
}

int iso_msg_pack(const iso_msg *m, uint8_t *buf, size_t cap, size_t *out_len,
                 iso_error *err) {
  if (!m->spec || (!buf && cap))
    return iso__fail(err, ISO_E_INVAL, -1, 0, "no spec or no buffer");
  if (!m->mti[0]) return iso__fail(err, ISO_E_BAD_MTI, 0, 0, "MTI not set");

  size_t pos = put_header(m, buf, cap);
  for (int k = 0; k < 3; k++) {
    uint64_t bits = m->present[k];
    while (bits) {
      int n = k * 64 + __builtin_ctzll(bits) + 1;
      bits &= bits - 1;
      size_t size;
      int rc = put_field(m, n, buf, cap, pos, &size, err);
      if (rc) return rc;
      pos += size;
    }
  }
  if (out_len) *out_len = pos;
  if (pos > cap)
    return iso__fail(err, ISO_E_NOSPC, -1, cap, "output buffer too small");
  return 0;
}
