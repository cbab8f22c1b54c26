/*
 * examples/common/text.h -- a growable text buffer for the example programs:
 * the admin endpoint's bodies (metrics, profile) and the summaries are built
 * with it.  Appends never fail silently: after an allocation failure the
 * buffer is marked failed and every later append is a no-op.
 */
#ifndef ISOFLOW_EXAMPLES_TEXT_H
#define ISOFLOW_EXAMPLES_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct iso__text {
  char *data; /* NUL-terminated when len > 0 or after iso__text_init */
  size_t len;
  size_t cap;
  bool failed; /* an allocation failed: the contents are incomplete */
} iso__text;

/** iso__text_init -- an empty buffer (no allocation yet). */
void iso__text_init(iso__text *t);

/** iso__text_free -- releases the buffer; it may be initialised again. */
void iso__text_free(iso__text *t);

/** iso__text_printf -- appends formatted text.  0, or ISO_E_NOMEM (the
 *  buffer is then marked failed). */
int iso__text_printf(iso__text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/** iso__text_append -- appends len bytes.  0 or ISO_E_NOMEM. */
int iso__text_append(iso__text *t, const char *s, size_t len);

/** iso__text_str -- the contents, "" when empty. */
const char *iso__text_str(const iso__text *t);

#endif
