/*
 * cli/frame_io.c -- message framing for the `isoflow` command's files and
 * pipes.  The length prefixes themselves (len2, len4, ascii4, bcd2) are
 * conn/framer.c's: this file only adds `--frame none` (no prefix: the whole
 * input, or one hex line, is one message) and reads frames from a blocking
 * stream, prefix first (iso_frame_read_prefix), then the bytes it announces.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

int cli_frame_parse(const char *name, cli_frame *out) {
  memset(out, 0, sizeof *out);
  if (!strcmp(name, "none")) return 0;
  iso_frame_kind kind;
  if (iso_frame_kind_parse(name, &kind) < 0) return -1;
  out->framed = true;
  out->framing.kind = (uint8_t)kind;
  out->framing.max_frame = CLI_MAX_FRAME;
  return 0;
}

size_t cli_frame_prefix_size(const cli_frame *f) {
  return f->framed ? iso_frame_prefix_size(&f->framing) : 0;
}

const char *cli_frame_reason(int rc) {
  switch (rc) {
    case ISO_E_FRAME_TOO_LARGE: return "length header is over the frame maximum";
    case ISO_E_BAD_FRAME: return "length header is not a number";
    default: return iso_strerror(rc);
  }
}

bool cli_buf_reserve(cli_buf *b, size_t n) {
  if (n <= b->cap) return true;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap < n) cap *= 2;
  uint8_t *data = realloc(b->data, cap);
  if (!data) return false;
  b->data = data;
  b->cap = cap;
  return true;
}

/* The whole rest of the input, for --frame none. */
static int read_all(FILE *in, cli_buf *b, const char **why) {
  b->len = 0;
  for (;;) {
    if (!cli_buf_reserve(b, b->len + 4096)) {
      *why = "out of memory";
      return -1;
    }
    size_t got = fread(b->data + b->len, 1, b->cap - b->len, in);
    b->len += got;
    if (got == 0) break;
  }
  if (ferror(in)) {
    *why = "read error";
    return -1;
  }
  return b->len ? 1 : 0;
}

int cli_frame_read(FILE *in, const cli_frame *f, cli_buf *b, const char **why,
                   size_t *offset) {
  *offset = 0;
  if (!f->framed) return read_all(in, b, why);
  uint8_t prefix[4];
  size_t psize = iso_frame_prefix_size(&f->framing);
  size_t got = fread(prefix, 1, psize, in);
  if (got == 0 && !ferror(in)) return 0;
  if (got < psize) {
    *why = "input ends inside a length header";
    *offset = got;
    return -1;
  }
  uint32_t len;
  int rc = iso_frame_read_prefix(&f->framing, prefix, &len);
  if (rc < 0) {
    *why = cli_frame_reason(rc);
    return -1;
  }
  /* The maximum bounds the buffer; still grow it with the bytes that arrive,
   * so a header announcing more than the input holds costs nothing. */
  b->len = 0;
  while (b->len < len) {
    size_t want = len - b->len;
    if (want > 65536) want = 65536;
    if (!cli_buf_reserve(b, b->len + want)) {
      *why = "out of memory";
      return -1;
    }
    size_t got_now = fread(b->data + b->len, 1, want, in);
    b->len += got_now;
    if (got_now < want) {
      *why = "input ends before the end of the frame";
      *offset = psize + b->len;
      return -1;
    }
  }
  return 1;
}
