/*
 * iso8583/message.c -- iso_msg: setting, reading, iterating and copying
 * field values, and the message's own storage (see message_internal.h).
 *
 * Nothing here encodes or checks contents: set stores what it is given and
 * pack validates it; get decodes a wire-form value with encoding.c.
 */
#include <stdlib.h>
#include <string.h>

#include "iso8583/encoding.h"
#include "iso8583/message_internal.h"

/* A malloc'd piece of storage for copied values, chained from the message. */
struct iso__arena_block {
  struct iso__arena_block *next;
  size_t cap;
  size_t used;
  uint8_t data[];
};

#define ARENA_BLOCK_MIN 1024

void iso_msg_init(iso_msg *m, const iso_spec *spec) {
  m->spec = spec;
  memset(m->present, 0, sizeof m->present);
  m->mti[0] = '\0';
  m->nslots = 0;
  m->slot_cap = ISO_MSG_INLINE_SLOTS;
  memset(m->index, 0, sizeof m->index);
  m->slots = m->inline_slots;
  m->overflow = NULL;
  m->arena_used = 0;
}

/* Out of line (as is release_heap) so that reset and cleanup, which rarely
 * have anything to free, save no registers. */
__attribute__((noinline)) static void free_blocks(iso_msg *m) {
  struct iso__arena_block *b = m->overflow;
  while (b) {
    struct iso__arena_block *next = b->next;
    free(b);
    b = next;
  }
  m->overflow = NULL;
}

/* Frees the arena blocks and a grown slot table. */
__attribute__((noinline)) static void release_heap(iso_msg *m) {
  if (m->overflow) free_blocks(m);
  if (m->slots != m->inline_slots) free(m->slots);
  m->slots = m->inline_slots;
  m->slot_cap = ISO_MSG_INLINE_SLOTS;
}

/* Empties the message but for its heap storage, which the caller sees to. */
static inline void clear_fields(iso_msg *m) {
  /* Clear only the index entries of the bitmap words in use: a word's 64
   * entries are four 16-byte stores, fewer instructions than clearing the
   * message's fields one by one (eight each) and fewer lines touched than
   * all 193 bytes.  Most messages use the first word only. */
  for (int w = 0; w < 3; w++) {
    if (m->present[w]) memset(&m->index[w * 64 + 1], 0, 64);
    m->present[w] = 0;
  }
  m->mti[0] = '\0';
  m->nslots = 0;
  m->arena_used = 0;
}

void iso_msg_reset(iso_msg *m) {
  clear_fields(m);
  if (m->overflow) free_blocks(m);
}

void iso_msg_cleanup(iso_msg *m) {
  clear_fields(m);
  if (m->overflow || m->slots != m->inline_slots) release_heap(m);
}

uint8_t *iso__msg_alloc(iso_msg *m, size_t size) {
  if (size <= ISO_MSG_INLINE_ARENA - m->arena_used) {
    uint8_t *p = m->inline_arena + m->arena_used;
    m->arena_used += (uint32_t)size;
    return p;
  }
  struct iso__arena_block *b = m->overflow;
  if (b && size <= b->cap - b->used) {
    uint8_t *p = b->data + b->used;
    b->used += size;
    return p;
  }
  size_t cap = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
  b = malloc(sizeof *b + cap);
  if (!b) return NULL;
  b->cap = cap;
  b->used = size;
  b->next = m->overflow;
  m->overflow = b;
  return b->data;
}

int iso__msg_put_grown(iso_msg *m, int n, const uint8_t *data, uint32_t len,
                       uint32_t flags) {
  /* One table for every possible field: it never needs to grow again. */
  iso__slot *t = malloc(sizeof(iso__slot) * ISO_MAX_FIELD);
  if (!t) return ISO_E_NOMEM;
  memcpy(t, m->slots, sizeof(iso__slot) * m->nslots);
  if (m->slots != m->inline_slots) free(m->slots);
  m->slots = t;
  m->slot_cap = ISO_MAX_FIELD;
  return iso__msg_put(m, n, data, len, flags);
}

static int check_settable(const iso_msg *m, int field, const void *value,
                          size_t len) {
  if (!m->spec || !iso__spec_defines(m->spec, field))
    return ISO_E_UNKNOWN_FIELD;
  if ((!value && len) || len > UINT32_MAX) return ISO_E_INVAL;
  return 0;
}

int iso_msg_set(iso_msg *m, int field, const void *value, size_t len) {
  static const uint8_t empty[1];
  int rc = check_settable(m, field, value, len);
  if (rc) return rc;
  /* An empty value never carries a NULL pointer into memcpy. */
  return iso__msg_put(m, field, len ? value : empty, (uint32_t)len, 0);
}

/* Copies n <= 16 bytes without a call: two overlapping moves of the widest
 * size that fits, or first, middle and last byte below four. */
static inline void copy_short(uint8_t *dst, const uint8_t *src, size_t n) {
  if (n >= 8) {
    uint64_t a, b;
    memcpy(&a, src, 8);
    memcpy(&b, src + n - 8, 8);
    memcpy(dst, &a, 8);
    memcpy(dst + n - 8, &b, 8);
  } else if (n >= 4) {
    uint32_t a, b;
    memcpy(&a, src, 4);
    memcpy(&b, src + n - 4, 4);
    memcpy(dst, &a, 4);
    memcpy(dst + n - 4, &b, 4);
  } else if (n) {
    uint8_t a = src[0], b = src[n / 2], c = src[n - 1];
    dst[0] = a;
    dst[n / 2] = b;
    dst[n - 1] = c;
  }
}

/* iso_msg_set_copy's general case, out of line so that the short case
 * calls nothing but tail calls and saves no registers. */
__attribute__((noinline)) static int set_copy_allocated(iso_msg *m, int field,
                                                        const void *value,
                                                        size_t len) {
  uint8_t *p = iso__msg_alloc(m, len ? len : 1);
  if (!p) return ISO_E_NOMEM;
  if (len) memcpy(p, value, len);
  return iso__msg_put(m, field, p, (uint32_t)len, 0);
}

int iso_msg_set_copy(iso_msg *m, int field, const void *value, size_t len) {
  int rc = check_settable(m, field, value, len);
  if (rc) return rc;
  size_t size = len ? len : 1;
  if (len > 16 || size > ISO_MSG_INLINE_ARENA - m->arena_used)
    return set_copy_allocated(m, field, value, len);
  /* A short value (a response code, an authorisation code) into the inline
   * arena, as iso__msg_alloc would place it.  The flow sets DE 39 so on
   * every transaction. */
  uint8_t *p = m->inline_arena + m->arena_used;
  m->arena_used += (uint32_t)size;
  copy_short(p, value, len);
  return iso__msg_put(m, field, p, (uint32_t)len, 0);
}

int iso_msg_set_str(iso_msg *m, int field, const char *value) {
  if (!value) return ISO_E_INVAL;
  return iso_msg_set_copy(m, field, value, strlen(value));
}

void iso_msg_unset(iso_msg *m, int field) {
  if (field < 2 || field > ISO_MAX_FIELD || m->index[field] == 0) return;
  uint8_t at = m->index[field];
  uint8_t last = m->nslots;
  if (at != last) {
    /* Move the last slot into the hole and repoint its field. */
    m->slots[at - 1] = m->slots[last - 1];
    for (int n = 2; n <= ISO_MAX_FIELD; n++) {
      if (m->index[n] == last) {
        m->index[n] = at;
        break;
      }
    }
  }
  m->nslots--;
  m->index[field] = 0;
  m->present[(field - 1) >> 6] &= ~(1ull << ((field - 1) & 63));
}

bool iso_msg_has(const iso_msg *m, int field) {
  return iso__msg_slot(m, field) != NULL;
}

int iso_msg_next_field(const iso_msg *m, int after) {
  if (after < 0) after = 0;
  /* Field n is bit n - 1, so the first candidate, after + 1, is bit after. */
  for (int bit = after; bit < ISO_MAX_FIELD;) {
    int w = bit >> 6;
    uint64_t bits = m->present[w] & (~0ull << (bit & 63));
    if (bits) return w * 64 + __builtin_ctzll(bits) + 1;
    bit = (w + 1) * 64;
  }
  return 0;
}

int iso_msg_set_mti(iso_msg *m, const char *mti) {
  if (!mti || strlen(mti) != 4 || !iso__is_digits((const uint8_t *)mti, 4, NULL))
    return ISO_E_BAD_MTI;
  memcpy(m->mti, mti, 5);
  return 0;
}

const char *iso_msg_mti(const iso_msg *m) { return m->mti; }

int iso_msg_get(const iso_msg *m, int field, void *buf, size_t cap,
                size_t *len) {
  const iso__slot *s = iso__msg_slot(m, field);
  if (!s) return ISO_E_NO_FIELD;
  if (len) *len = s->len;
  if (cap < s->len) return ISO_E_NOSPC;
  if (s->flags & ISO__SLOT_WIRE) {
    size_t bad;
    int rc = iso__decode_value(&m->spec->fields[field], s->data, s->len, buf,
                               &bad);
    if (rc) return rc;
  } else if (s->len) {
    memcpy(buf, s->data, s->len);
  }
  if (cap > s->len) ((uint8_t *)buf)[s->len] = 0;
  return 0;
}

int iso_msg_peek(const iso_msg *m, int field, const uint8_t **data,
                 size_t *len) {
  const iso__slot *s = iso__msg_slot(m, field);
  if (!s) return ISO_E_NO_FIELD;
  if (s->flags & ISO__SLOT_WIRE) return ISO_E_UNSUPPORTED;
  *data = s->data;
  *len = s->len;
  return 0;
}

int iso_msg_copy(iso_msg *dst, const iso_msg *src) {
  if (dst == src) return 0;
  iso_msg_reset(dst);
  dst->spec = src->spec;
  memcpy(dst->mti, src->mti, sizeof dst->mti);
  for (int n = iso_msg_next_field(src, 0); n; n = iso_msg_next_field(src, n)) {
    const iso__slot *s = iso__msg_slot(src, n);
    uint32_t bytes = iso__slot_bytes(src, n, s);
    uint8_t *p = iso__msg_alloc(dst, bytes ? bytes : 1);
    if (!p) goto nomem;
    if (bytes) memcpy(p, s->data, bytes);
    if (iso__msg_put(dst, n, p, s->len, s->flags)) goto nomem;
  }
  return 0;
nomem:
  iso_msg_reset(dst);
  return ISO_E_NOMEM;
}
