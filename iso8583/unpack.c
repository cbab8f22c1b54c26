/*
 * iso8583/unpack.c -- iso_msg_unpack: parses one packed message into an
 * iso_msg without copying or allocating.
 *
 * Each field's slot points into the caller's buffer.  Values whose wire form
 * is their canonical form (ASCII, binary) are stored as is; BCD, EBCDIC and
 * hex values are stored in wire form with ISO__SLOT_WIRE and decoded by
 * iso_msg_get.  Contents are checked here (digits, BCD nibbles and pad,
 * amount signs, track characters, hex).  Alphanumeric classes (a, an, ans,
 * ns) are not checked on the way in: hosts put all sorts of bytes there and
 * rejecting them helps no one.  Slots are marked ISO__SLOT_VERIFIED, so a
 * message that unpacks packs again to the same bytes.
 */
#include "isoflow/iso8583.h"

#include <string.h>

#include "iso8583/message_internal.h"
#include "iso8583/wire.h"

int iso_msg_unpack(iso_msg *m, const uint8_t *buf, size_t len,
                   iso_error *err) {
  iso_msg_reset(m);
  const iso_spec *spec = m->spec;
  if (!spec || (!buf && len))
    return iso__fail(err, ISO_E_INVAL, -1, 0, "no spec or no buffer");

  uint64_t bitmap[3];
  size_t pos;
  char mti[4];
  int rc = iso__read_header(spec, buf, len, mti, bitmap, &pos, err);
  if (rc) return rc;

  for (int k = 0; k < 3; k++) {
    uint64_t bits = bitmap[k];
    if (k < 2) bits &= ~(1ull << 63); /* bitmap indicators */
    while (bits) {
      int i = __builtin_clzll(bits);
      bits &= ~(1ull << (63 - i));
      int n = k * 64 + i + 1;
      const iso__field_wire *w = &spec->wire[n];
      const uint8_t *data;
      uint32_t clen, wlen;
      rc = iso__read_field(w, n, buf, len, &pos, &data, &clen, &wlen, err);
      if (rc) goto fail;
      rc = iso__check_field(w, n, data, clen, (size_t)(data - buf), err);
      if (rc) goto fail;
      uint32_t flags = ISO__SLOT_VERIFIED | (w->canonical ? 0 : ISO__SLOT_WIRE);
      if (m->nslots < m->slot_cap) {
        /* iso__msg_put without its index lookup: after the reset and with
         * each bitmap bit seen once, the field is always new. */
        m->slots[m->nslots] =
            (iso__slot){data, clen, flags};
        m->index[n] = ++m->nslots;
        m->present[(n - 1) >> 6] |= 1ull << ((n - 1) & 63);
      } else {
        rc = iso__msg_put_grown(m, n, data, clen, flags);
        if (rc) {
          iso__fail(err, rc, n, (size_t)(data - buf), "out of memory");
          goto fail;
        }
      }
    }
  }
  if (pos != len) {
    rc = iso__fail(err, ISO_E_TRAILING, -1, pos,
                   "bytes left after the last field");
    goto fail;
  }
  memcpy(m->mti, mti, 4);
  m->mti[4] = '\0';
  return 0;
fail:
  iso_msg_reset(m);
  return rc;
}
