/*
 * iso8583/message_internal.h -- how iso_msg stores its values, shared by
 * message.c, pack.c, unpack.c and the JSON/describe code.
 *
 * A message keeps one slot per present field: a pointer, a canonical length
 * and flags.  index[n] is the slot number plus one (0 = absent) and
 * present[] mirrors it as a bitmap for ordered iteration.  The first
 * ISO_MSG_INLINE_SLOTS slots and ISO_MSG_INLINE_ARENA bytes of copied values
 * live inside iso_msg; beyond that a slot table for all 192 fields and
 * arena blocks are malloc'd.  Arena blocks go at reset and cleanup; the
 * grown slot table stays until cleanup so a reused message allocates once.
 */
#ifndef ISOFLOW_ISO8583_MESSAGE_INTERNAL_H
#define ISOFLOW_ISO8583_MESSAGE_INTERNAL_H

#include "isoflow/iso8583.h"
#include "iso8583/encoding.h"
#include "iso8583/spec_internal.h"

/* The slot holds the field's wire form (BCD, EBCDIC, hex) rather than its
 * canonical form; `len` is still the canonical length. */
#define ISO__SLOT_WIRE 1u
/* The value was read off the wire by unpack and passed its checks; pack
 * writes it back as it is, without the checks it applies to values a
 * caller sets (unpack does not check alphanumeric classes: what a host sent
 * is relayed unchanged). */
#define ISO__SLOT_VERIFIED 2u


/** iso__msg_alloc -- `size` bytes of message-owned storage (the inline arena
 *  first, then malloc'd blocks), or NULL when out of memory. */
uint8_t *iso__msg_alloc(iso_msg *m, size_t size);

/** iso__msg_slot -- the slot of field n, or NULL when absent. */
static inline const iso__slot *iso__msg_slot(const iso_msg *m, int n) {
  if (n < 2 || n > ISO_MAX_FIELD || m->index[n] == 0) return NULL;
  return &m->slots[m->index[n] - 1];
}

/** iso__slot_bytes -- the bytes a slot's data occupies. */
static inline uint32_t iso__slot_bytes(const iso_msg *m, int n,
                                       const iso__slot *s) {
  if (!(s->flags & ISO__SLOT_WIRE)) return s->len;
  const iso__field_wire *w = &m->spec->wire[n];
  return iso__wire_len(w->content, w->data_enc, s->len);
}

/** iso__msg_put_grown -- iso__msg_put's cold half: stores field n, which
 *  is absent, when every slot is taken, after growing the slot table to
 *  one slot for every field.  ISO_E_NOMEM when it cannot grow. */
int iso__msg_put_grown(iso_msg *m, int n, const uint8_t *data, uint32_t len,
                       uint32_t flags);

/** iso__msg_put -- stores (data, len, flags) for field n, replacing any
 *  previous value.  ISO_E_NOMEM when the slot table cannot grow.
 *
 *  Inline, with the growth out of line: the flow echoes a dozen request
 *  fields into every response through here, and a message outgrows its
 *  inline slots at most once in its life.  Inlining the growth made every
 *  call save and restore six registers (~48 instructions a call). */
static inline int iso__msg_put(iso_msg *m, int n, const uint8_t *data,
                               uint32_t len, uint32_t flags) {
  uint8_t at = m->index[n];
  if (at == 0) {
    if (__builtin_expect(m->nslots == m->slot_cap, 0))
      return iso__msg_put_grown(m, n, data, len, flags);
    at = ++m->nslots;
    m->index[n] = at;
    m->present[(n - 1) >> 6] |= 1ull << ((n - 1) & 63);
  }
  m->slots[at - 1] = (iso__slot){data, len, flags};
  return 0;
}

#endif /* ISOFLOW_ISO8583_MESSAGE_INTERNAL_H */
