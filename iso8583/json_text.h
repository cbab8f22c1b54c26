/*
 * iso8583/json_text.h -- a bounded text writer shared by the JSON and describe
 * renderers (msg_json.c, spec_json.c, describe.c).
 *
 * Output goes into a caller buffer.  Once the buffer is full the writer keeps
 * counting without writing, so a single pass both renders the text and learns
 * the size it needs: that is how iso_msg_to_json and iso_msg_describe report
 * ISO_E_NOSPC with the needed size, and how iso_spec_to_json sizes its
 * allocation (a counting pass with cap 0, then a writing pass).
 */
#ifndef ISOFLOW_ISO8583_JSON_TEXT_H
#define ISOFLOW_ISO8583_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "isoflow/error.h"

typedef struct iso__out {
  char *buf;
  size_t cap; /* bytes available in buf, including room for the NUL */
  size_t len; /* bytes the text needs so far (may exceed cap) */
} iso__out;

/** iso__out_init -- a writer into buf[0..cap); buf may be NULL when cap is 0. */
void iso__out_init(iso__out *o, char *buf, size_t cap);

/* The three primitives every rendering step goes through are inline: the
 * renderers call them once or more per field. */
static inline void iso__out_bytes(iso__out *o, const void *p, size_t n) {
  /* Keep one byte for the NUL; past the end only count. */
  if (o->len < o->cap) {
    size_t room = o->cap - 1 - o->len;
    memcpy(o->buf + o->len, p, n < room ? n : room);
  }
  o->len += n;
}

static inline void iso__out_char(iso__out *o, char c) {
  if (o->len + 1 < o->cap) o->buf[o->len] = c;
  o->len++;
}

static inline void iso__out_str(iso__out *o, const char *s) {
  iso__out_bytes(o, s, strlen(s));
}

void iso__out_uint(iso__out *o, unsigned long v);
/** iso__out_repeat -- `n` copies of c (indentation, masking). */
void iso__out_repeat(iso__out *o, char c, size_t n);

/** iso__out_hex -- bytes as upper-case hex (two characters a byte). */
void iso__out_hex(iso__out *o, const uint8_t *p, size_t n);

/**
 * iso__out_json_string -- a quoted JSON string of n bytes: quote, backslash
 * and control characters escaped; bytes 0x80..0xFF written as \u0080..\u00FF
 * (so any byte string survives a round trip through iso__json_bytes).
 */
void iso__out_json_string(iso__out *o, const uint8_t *p, size_t n);

/** iso__out_json_text -- a quoted JSON string of UTF-8 text (names in specs):
 *  like iso__out_json_string but bytes from 0x80 up pass through. */
void iso__out_json_text(iso__out *o, const char *s);

/** iso__out_printable -- bytes for a human reader (describe): printable
 *  ASCII as is, anything else as \xHH. */
void iso__out_printable(iso__out *o, const uint8_t *p, size_t n);

/**
 * iso__out_finish -- NUL-terminates.  Returns 0, or ISO_E_NOSPC when the text
 * (plus its NUL) did not fit; *out_len (may be NULL) gets the text's length
 * without the NUL either way.
 */
int iso__out_finish(iso__out *o, size_t *out_len);

/**
 * iso__json_bytes -- turns a UTF-8 string (as cJSON hands out, NUL-terminated)
 * back into the bytes iso__out_json_string wrote: code points up to U+00FF
 * become one byte each.  Writes at most cap bytes into out and returns the
 * byte count, or -1 when the text holds a code point above U+00FF or invalid
 * UTF-8.  Decoding in place (out == s) is allowed.
 */
long iso__json_bytes(const char *s, uint8_t *out, size_t cap);

struct cJSON;
/**
 * iso__json_parse -- parses text[0..len) with cJSON, allowing only white
 * space after the value.  Returns the tree (the caller frees it with
 * cJSON_Delete), or NULL with err filled: ISO_E_BAD_JSON, field -1, offset
 * where parsing failed.  cJSON also cannot tell running out of memory from
 * malformed text: both come back as ISO_E_BAD_JSON.  (cJSON records its last
 * error in a global too; nothing here reads it, but two threads failing to
 * parse at once write it concurrently.)
 */
struct cJSON *iso__json_parse(const char *text, size_t len, iso_error *err);

#endif /* ISOFLOW_ISO8583_JSON_TEXT_H */
