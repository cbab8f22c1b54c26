/*
 * journal/record.c -- the compact encodings the journal stores in its BLOB
 * columns: messages as field lists (protected fields split off), participant
 * names, persistent values and stage timings.  Varints keep rows small; one
 * growable buffer with inline storage avoids a malloc per record.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "journal/journal_internal.h"

void iso__jbuf_init(iso__jbuf *b) {
  b->data = b->inline_data;
  b->len = 0;
  b->cap = sizeof b->inline_data;
  b->failed = false;
}

void iso__jbuf_free(iso__jbuf *b) {
  if (b->data != b->inline_data) free(b->data);
  iso__jbuf_init(b);
}

void iso__jbuf_wipe(iso__jbuf *b) {
  OPENSSL_cleanse(b->data, b->len);
  iso__jbuf_free(b);
}

static bool jbuf_reserve(iso__jbuf *b, size_t n) {
  if (b->failed) return false;
  if (b->len + n <= b->cap) return true;
  size_t cap = b->cap * 2;
  while (cap < b->len + n) cap *= 2;
  uint8_t *p = malloc(cap);
  if (!p) {
    b->failed = true;
    return false;
  }
  memcpy(p, b->data, b->len);
  OPENSSL_cleanse(b->data, b->len); /* may have held protected plaintext */
  if (b->data != b->inline_data) free(b->data);
  b->data = p;
  b->cap = cap;
  return true;
}

void iso__jbuf_put_slow(iso__jbuf *b, const void *p, size_t n) {
  if (!n || !jbuf_reserve(b, n)) return;
  memcpy(b->data + b->len, p, n);
  b->len += n;
}

bool iso__jget_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v) {
  uint64_t r = 0;
  for (unsigned shift = 0; shift < 64; shift += 7) {
    if (*pos >= len) return false;
    uint8_t c = p[(*pos)++];
    r |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) {
      *v = r;
      return true;
    }
  }
  return false;
}

/* A field's canonical value: zero copy when possible, else decoded into
 * scratch. */
static int field_value(const iso_msg *m, int f, iso__jbuf *scratch,
                       const uint8_t **data, size_t *len) {
  int rc = iso_msg_peek(m, f, data, len);
  if (rc != ISO_E_UNSUPPORTED) return rc;
  size_t need = 0;
  scratch->len = 0;
  rc = iso_msg_get(m, f, scratch->data, scratch->cap, &need);
  if (rc == ISO_E_NOSPC) {
    if (!jbuf_reserve(scratch, need + 1)) return ISO_E_NOMEM;
    rc = iso_msg_get(m, f, scratch->data, scratch->cap, &need);
  }
  if (rc) return rc;
  *data = scratch->data;
  *len = need;
  return 0;
}

static void put_entry(iso__jbuf *b, int f, const uint8_t *v, size_t n) {
  uint8_t fb = (uint8_t)f;
  iso__jbuf_put(b, &fb, 1);
  iso__jbuf_varint(b, n);
  iso__jbuf_put(b, v, n);
}

int iso__record_message(const iso_msg *m, const bool prot[ISO_MAX_FIELD + 1],
                        bool mask_pan, iso__jbuf *clear,
                        iso__jbuf *protected_out, int *prot_fields,
                        size_t *prot_count) {
  iso__jbuf scratch;
  iso__jbuf_init(&scratch);
  char mti[4] = {'0', '0', '0', '0'};
  const char *s = iso_msg_mti(m);
  if (strlen(s) == 4) memcpy(mti, s, 4);
  iso__jbuf_put(clear, "M", 1);
  iso__jbuf_put(clear, mti, 4);
  size_t np = 0;
  int rc = 0;
  for (int f = iso_msg_next_field(m, 0); f; f = iso_msg_next_field(m, f)) {
    const uint8_t *v;
    size_t n;
    if ((rc = field_value(m, f, &scratch, &v, &n))) break;
    if (!prot[f]) {
      put_entry(clear, f, v, n);
      continue;
    }
    if (f == 2 && mask_pan) {
      char masked[64];
      if (n <= sizeof masked) {
        iso_mask_pan((const char *)v, n, masked);
        put_entry(clear, f, (const uint8_t *)masked, n);
      }
    }
    if (protected_out) {
      put_entry(protected_out, f, v, n);
      if (prot_fields) prot_fields[np] = f;
      np++;
    }
  }
  iso__jbuf_wipe(&scratch); /* may hold a protected field's value */
  if (prot_count) *prot_count = np;
  if (rc) return rc;
  if (clear->failed || (protected_out && protected_out->failed))
    return ISO_E_NOMEM;
  return 0;
}

int iso__record_to_msg(const uint8_t *p, size_t len, bool with_mti,
                       iso_msg *m) {
  size_t pos = 0;
  if (with_mti) {
    if (len < 5 || p[0] != 'M') return ISO_E_JOURNAL_CORRUPT;
    char mti[5];
    memcpy(mti, p + 1, 4);
    mti[4] = 0;
    if (iso_msg_set_mti(m, mti)) return ISO_E_JOURNAL_CORRUPT;
    pos = 5;
  }
  while (pos < len) {
    int f = p[pos++];
    uint64_t n;
    if (!iso__jget_varint(p, len, &pos, &n) || n > len - pos)
      return ISO_E_JOURNAL_CORRUPT;
    int rc = iso_msg_set_copy(m, f, p + pos, (size_t)n);
    if (rc == ISO_E_NOMEM) return rc;
    if (rc) return ISO_E_JOURNAL_CORRUPT;
    pos += (size_t)n;
  }
  return 0;
}

static void put_str(iso__jbuf *b, const char *s) {
  size_t n = s ? strlen(s) : 0;
  iso__jbuf_varint(b, n);
  iso__jbuf_put(b, s, n);
}

void iso__record_names(iso__jbuf *b, const char *const *names, size_t n) {
  iso__jbuf_varint(b, n);
  for (size_t i = 0; i < n; i++) put_str(b, names[i]);
}

void iso__record_values(iso__jbuf *b, const iso_tx_value *v, size_t n) {
  iso__jbuf_varint(b, n);
  for (size_t i = 0; i < n; i++) {
    put_str(b, v[i].name);
    iso__jbuf_varint(b, v[i].len);
    iso__jbuf_put(b, v[i].data, v[i].len);
  }
}

void iso__record_stages(iso__jbuf *b, const iso_stage_timing *s, size_t n) {
  iso__jbuf_varint(b, n);
  for (size_t i = 0; i < n; i++) {
    put_str(b, s[i].participant);
    uint8_t ph = (uint8_t)s[i].phase;
    iso__jbuf_put(b, &ph, 1);
    iso__jbuf_varint(b, s[i].start_ns);
    iso__jbuf_varint(b, s[i].duration_ns);
  }
}

/* ---- decoding ------------------------------------------------------------ */

/* Reads a length-prefixed string: copies it NUL-terminated into *heap. */
static bool get_str(const uint8_t *p, size_t len, size_t *pos, char **heap,
                    char **out) {
  uint64_t n;
  if (!iso__jget_varint(p, len, pos, &n) || n > len - *pos) return false;
  memcpy(*heap, p + *pos, (size_t)n);
  (*heap)[n] = 0;
  *out = *heap;
  *heap += n + 1;
  *pos += (size_t)n;
  return true;
}

/* Every decode reserves string storage of len + count bytes: enough for
 * every string of the blob, NUL-terminated. */
static int start(const uint8_t *p, size_t len, size_t *pos, uint64_t *count,
                 size_t elem, void **arr, char **strings) {
  *pos = 0;
  if (!iso__jget_varint(p, len, pos, count) || *count > len) return ISO_E_JOURNAL_CORRUPT;
  *strings = malloc(len + *count + 1);
  *arr = calloc((size_t)*count + 1, elem);
  if (!*strings || !*arr) return ISO_E_NOMEM;
  return 0;
}

int iso__decode_names(const uint8_t *p, size_t len, iso__decoded *d) {
  size_t pos;
  uint64_t count;
  void *arr = NULL;
  int rc = start(p, len, &pos, &count, sizeof(char *), &arr, &d->names_str);
  d->names = arr;
  if (rc) return rc;
  char *heap = d->names_str;
  for (uint64_t i = 0; i < count; i++)
    if (!get_str(p, len, &pos, &heap, &d->names[i])) return ISO_E_JOURNAL_CORRUPT;
  d->name_count = (size_t)count;
  return pos == len ? 0 : ISO_E_JOURNAL_CORRUPT;
}

int iso__decode_values(const uint8_t *p, size_t len, iso__decoded *d) {
  size_t pos;
  uint64_t count;
  void *arr = NULL;
  int rc = start(p, len, &pos, &count, sizeof(iso_tx_value), &arr, &d->values_str);
  d->values = arr;
  if (rc) return rc;
  char *heap = d->values_str;
  for (uint64_t i = 0; i < count; i++) {
    char *name;
    uint64_t n;
    if (!get_str(p, len, &pos, &heap, &name) ||
        !iso__jget_varint(p, len, &pos, &n) || n > len - pos)
      return ISO_E_JOURNAL_CORRUPT;
    d->values[i] = (iso_tx_value){name, p + pos, (size_t)n};
    pos += (size_t)n;
  }
  d->value_count = (size_t)count;
  return pos == len ? 0 : ISO_E_JOURNAL_CORRUPT;
}

int iso__decode_stages(const uint8_t *p, size_t len, iso__decoded *d) {
  size_t pos;
  uint64_t count;
  void *arr = NULL;
  int rc = start(p, len, &pos, &count, sizeof(iso_stage_timing), &arr, &d->stages_str);
  d->stages = arr;
  if (rc) return rc;
  char *heap = d->stages_str;
  for (uint64_t i = 0; i < count; i++) {
    char *name;
    uint64_t st, du;
    if (!get_str(p, len, &pos, &heap, &name) || pos >= len)
      return ISO_E_JOURNAL_CORRUPT;
    uint8_t ph = p[pos++];
    if (ph >= ISO_PHASE__COUNT || !iso__jget_varint(p, len, &pos, &st) ||
        !iso__jget_varint(p, len, &pos, &du))
      return ISO_E_JOURNAL_CORRUPT;
    d->stages[i] = (iso_stage_timing){*name ? name : NULL, (iso_phase)ph, st, du};
  }
  d->stage_count = (size_t)count;
  return pos == len ? 0 : ISO_E_JOURNAL_CORRUPT;
}

void iso__decoded_free(iso__decoded *d) {
  free(d->names);
  free(d->values);
  free(d->stages);
  free(d->names_str);
  free(d->values_str);
  free(d->stages_str);
  memset(d, 0, sizeof *d);
}
