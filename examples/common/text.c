/*
 * examples/common/text.c -- the growable text buffer (see text.h).
 */
#include "examples/common/text.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

void iso__text_init(iso__text *t) { memset(t, 0, sizeof *t); }

void iso__text_free(iso__text *t) {
  free(t->data);
  iso__text_init(t);
}

static int reserve(iso__text *t, size_t extra) {
  if (t->failed) return ISO_E_NOMEM;
  if (t->len + extra + 1 <= t->cap) return 0;
  size_t cap = t->cap ? t->cap : 256;
  while (cap < t->len + extra + 1) cap *= 2;
  char *p = realloc(t->data, cap);
  if (!p) {
    t->failed = true;
    return ISO_E_NOMEM;
  }
  t->data = p;
  t->cap = cap;
  return 0;
}

int iso__text_append(iso__text *t, const char *s, size_t len) {
  int rc = reserve(t, len);
  if (rc < 0) return rc;
  memcpy(t->data + t->len, s, len);
  t->len += len;
  t->data[t->len] = '\0';
  return 0;
}

int iso__text_printf(iso__text *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0) return ISO_E_INVAL;
  int rc = reserve(t, (size_t)n);
  if (rc < 0) return rc;
  va_start(ap, fmt);
  vsnprintf(t->data + t->len, (size_t)n + 1, fmt, ap);
  va_end(ap);
  t->len += (size_t)n;
  return 0;
}

const char *iso__text_str(const iso__text *t) { return t->data ? t->data : ""; }
