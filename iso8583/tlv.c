/*
 * iso8583/tlv.c -- BER-TLV, as carried in DE 55 (EMV chip data): reading
 * one element at a time, and appending one.
 *
 * Tags of one to four bytes (a first byte with all five low bits set is
 * followed by bytes while their top bit is set); lengths in short form
 * (0..127) or long form 0x81..0x84 (one to four length bytes).  Indefinite
 * lengths (0x80) are not BER-TLV as EMV uses it and are refused.  Bytes
 * 0x00 and 0xFF between elements are padding (EMV Book 3, Annex B) and are
 * skipped.  The reader never reads past `len`.
 */
#include "isoflow/iso8583.h"

#include <string.h>

static int tlv_bad(iso_error *err, size_t offset, const char *reason) {
  if (err) {
    err->code = ISO_E_BAD_TLV;
    err->field = -1;
    err->offset = offset;
    err->reason = reason;
  }
  return ISO_E_BAD_TLV;
}

int iso_tlv_next(const uint8_t *data, size_t len, size_t *pos, iso_tlv *out,
                 iso_error *err) {
  size_t p = *pos;
  while (p < len && (data[p] == 0x00 || data[p] == 0xFF)) p++;
  if (p >= len) {
    *pos = p;
    return 0;
  }
  size_t start = p;
  uint32_t tag = data[p++];
  bool constructed = tag & 0x20;
  if ((tag & 0x1F) == 0x1F) {
    int more = 1;
    for (int i = 0; more; i++) {
      if (i == 3) return tlv_bad(err, start, "tag longer than 4 bytes");
      if (p >= len) return tlv_bad(err, start, "tag truncated");
      uint8_t b = data[p++];
      tag = tag << 8 | b;
      more = b & 0x80;
    }
  }
  if (p >= len) return tlv_bad(err, p, "length missing");
  size_t vlen = data[p++];
  if (vlen & 0x80) {
    size_t nbytes = vlen & 0x7F;
    if (nbytes == 0 || nbytes > 4)
      return tlv_bad(err, p - 1, "unsupported length form");
    if (len - p < nbytes) return tlv_bad(err, p - 1, "length truncated");
    vlen = 0;
    for (size_t i = 0; i < nbytes; i++) vlen = vlen << 8 | data[p++];
  }
  if (len - p < vlen) return tlv_bad(err, p, "value runs past the end");
  out->tag = tag;
  out->constructed = constructed;
  out->value = data + p;
  out->len = vlen;
  *pos = p + vlen;
  return 1;
}

int iso_tlv_append(uint8_t *buf, size_t cap, size_t *pos, uint32_t tag,
                   const void *value, size_t len) {
  if (tag == 0 || (!value && len) || len > 0xFFFFFFFFu) return ISO_E_INVAL;
  uint8_t head[10];
  size_t h = 0;
  int tag_bytes = tag > 0xFFFFFF ? 4 : tag > 0xFFFF ? 3 : tag > 0xFF ? 2 : 1;
  for (int i = tag_bytes - 1; i >= 0; i--) head[h++] = (uint8_t)(tag >> (8 * i));
  if (len < 0x80) {
    head[h++] = (uint8_t)len;
  } else {
    int n = len > 0xFFFFFF ? 4 : len > 0xFFFF ? 3 : len > 0xFF ? 2 : 1;
    head[h++] = (uint8_t)(0x80 | n);
    for (int i = n - 1; i >= 0; i--) head[h++] = (uint8_t)(len >> (8 * i));
  }
  if (*pos > cap || cap - *pos < h + len) return ISO_E_NOSPC;
  memcpy(buf + *pos, head, h);
  if (len) memcpy(buf + *pos + h, value, len);
  *pos += h + len;
  return 0;
}
