/*
 * iso8583/json_text.c -- the JSON text layer (see json_text.h): the bounded
 * writer behind the JSON and describe renderers, JSON string escaping and
 * its inverse, and cJSON parsing with codec-style errors.
 */
#include "iso8583/json_text.h"

#include <cjson/cJSON.h>
#include <string.h>

#include "iso8583/encoding.h"
#include "iso8583/wire.h"
#include "isoflow/error.h"

void iso__out_init(iso__out *o, char *buf, size_t cap) {
  o->buf = buf;
  o->cap = buf ? cap : 0;
  o->len = 0;
}

void iso__out_uint(iso__out *o, unsigned long v) {
  char tmp[24];
  size_t i = sizeof tmp;
  do {
    tmp[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  iso__out_bytes(o, tmp + i, sizeof tmp - i);
}

void iso__out_repeat(iso__out *o, char c, size_t n) {
  while (n--) iso__out_char(o, c);
}

void iso__out_hex(iso__out *o, const uint8_t *p, size_t n) {
  char chunk[128];
  while (n) {
    size_t take = n < sizeof chunk / 2 ? n : sizeof chunk / 2;
    iso__hex_encode(p, take, chunk);
    iso__out_bytes(o, chunk, take * 2);
    p += take;
    n -= take;
  }
}

/* Escapes what JSON requires; bytes 0x80..0xFF are escaped as \u00XX when
 * `latin1` (byte strings) and passed through otherwise (UTF-8 text). */
static void out_quoted(iso__out *o, const uint8_t *p, size_t n, int latin1) {
  static const char digits[] = "0123456789abcdef";
  iso__out_char(o, '"');
  size_t run = 0; /* bytes that need no escaping, written in one go */
  for (size_t i = 0; i < n; i++) {
    uint8_t c = p[i];
    if (c >= 0x20 && c != 0x7F && c != '"' && c != '\\' && (c < 0x80 || !latin1))
      continue;
    iso__out_bytes(o, p + run, i - run);
    run = i + 1;
    char esc[6] = {'\\', 'u', '0', '0', digits[c >> 4], digits[c & 15]};
    if (c == '"' || c == '\\') {
      esc[1] = (char)c;
      iso__out_bytes(o, esc, 2);
    } else if (c == '\n') {
      iso__out_bytes(o, "\\n", 2);
    } else {
      iso__out_bytes(o, esc, 6);
    }
  }
  iso__out_bytes(o, p + run, n - run);
  iso__out_char(o, '"');
}

void iso__out_json_string(iso__out *o, const uint8_t *p, size_t n) {
  out_quoted(o, p, n, 1);
}

void iso__out_json_text(iso__out *o, const char *s) {
  out_quoted(o, (const uint8_t *)s, strlen(s), 0);
}

void iso__out_printable(iso__out *o, const uint8_t *p, size_t n) {
  size_t run = 0;
  for (size_t i = 0; i < n; i++) {
    if (p[i] >= 0x20 && p[i] < 0x7F && p[i] != '\\') continue;
    iso__out_bytes(o, p + run, i - run);
    run = i + 1;
    char esc[4] = {'\\', 'x', iso__hex_digits[p[i] >> 4], iso__hex_digits[p[i] & 15]};
    iso__out_bytes(o, esc, 4);
  }
  iso__out_bytes(o, p + run, n - run);
}

int iso__out_finish(iso__out *o, size_t *out_len) {
  if (out_len) *out_len = o->len;
  if (o->len < o->cap) {
    o->buf[o->len] = '\0';
    return 0;
  }
  if (o->cap) o->buf[o->cap - 1] = '\0';
  return ISO_E_NOSPC;
}

long iso__json_bytes(const char *s, uint8_t *out, size_t cap) {
  const uint8_t *in = (const uint8_t *)s;
  size_t n = 0;
  while (*in) {
    unsigned cp = *in++;
    if (cp >= 0x80) {
      /* Only two-byte sequences for U+0080..U+00FF: lead byte 0xC2 or 0xC3. */
      if ((cp != 0xC2 && cp != 0xC3) || (*in & 0xC0) != 0x80) return -1;
      cp = ((cp & 0x1F) << 6) | (*in++ & 0x3F);
    }
    if (n >= cap) return -1;
    out[n++] = (uint8_t)cp;
  }
  return (long)n;
}

cJSON *iso__json_parse(const char *text, size_t len, iso_error *err) {
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(text, len, &end, false);
  if (!root) {
    size_t at = end && end >= text ? (size_t)(end - text) : 0;
    iso__fail(err, ISO_E_BAD_JSON, -1, at, "malformed JSON");
    return NULL;
  }
  for (const char *p = end; p < text + len; p++) {
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      cJSON_Delete(root);
      iso__fail(err, ISO_E_BAD_JSON, -1, (size_t)(p - text), "text after the JSON value");
      return NULL;
    }
  }
  return root;
}
