/*
 * cli/frame_io.c -- message framing for the `isoflow` command's files and
 * pipes: the length headers none|len2|len4|ascii4|bcd2 and reading frames
 * from a blocking stream.  (The event-driven framer for connections is
 * conn/'s; this is the small, blocking counterpart the CLI needs.)
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "iso8583/encoding.h"

static const char *const frame_names[] = {"none", "len2", "len4", "ascii4", "bcd2"};

int cli_frame_from_name(const char *name) {
  for (int i = 0; i < (int)(sizeof frame_names / sizeof *frame_names); i++)
    if (!strcmp(name, frame_names[i])) return i;
  return -1;
}

size_t cli_frame_header_len(cli_frame f) {
  static const size_t lens[] = {0, 2, 4, 4, 2};
  return lens[f];
}

size_t cli_frame_max(cli_frame f) {
  static const size_t max[] = {SIZE_MAX, 65535, 0xFFFFFFFFu, 9999, 9999};
  return max[f];
}

void cli_frame_write_header(cli_frame f, size_t len, uint8_t *hdr) {
  char digits[5];
  switch (f) {
    case CLI_FRAME_NONE:
      break;
    case CLI_FRAME_LEN2:
      hdr[0] = (uint8_t)(len >> 8);
      hdr[1] = (uint8_t)len;
      break;
    case CLI_FRAME_LEN4:
      for (int i = 0; i < 4; i++) hdr[i] = (uint8_t)(len >> (24 - 8 * i));
      break;
    case CLI_FRAME_ASCII4:
    case CLI_FRAME_BCD2:
      snprintf(digits, sizeof digits, "%04zu", len);
      if (f == CLI_FRAME_ASCII4)
        memcpy(hdr, digits, 4);
      else
        iso__bcd_encode(digits, 4, hdr, false, false, NULL);
      break;
  }
}

long cli_frame_read_header(cli_frame f, const uint8_t *hdr) {
  char digits[4];
  switch (f) {
    case CLI_FRAME_NONE:
      return -1;
    case CLI_FRAME_LEN2:
      return (long)hdr[0] << 8 | hdr[1];
    case CLI_FRAME_LEN4:
      return (long)((uint32_t)hdr[0] << 24 | (uint32_t)hdr[1] << 16 |
                    (uint32_t)hdr[2] << 8 | hdr[3]);
    case CLI_FRAME_ASCII4:
      if (!iso__is_digits(hdr, 4, NULL)) return -1;
      memcpy(digits, hdr, 4);
      break;
    case CLI_FRAME_BCD2:
      if (iso__bcd_decode(hdr, 4, digits, false, false, NULL)) return -1;
      break;
  }
  return (digits[0] - '0') * 1000L + (digits[1] - '0') * 100L +
         (digits[2] - '0') * 10L + (digits[3] - '0');
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

int cli_frame_read(FILE *in, cli_frame f, cli_buf *b, const char **why,
                   size_t *offset) {
  *offset = 0;
  if (f == CLI_FRAME_NONE) return read_all(in, b, why);
  uint8_t hdr[4];
  size_t hlen = cli_frame_header_len(f);
  size_t got = fread(hdr, 1, hlen, in);
  if (got == 0 && !ferror(in)) return 0;
  if (got < hlen) {
    *why = "input ends inside a length header";
    *offset = got;
    return -1;
  }
  long len = cli_frame_read_header(f, hdr);
  if (len < 0) {
    *why = "length header is not a number";
    return -1;
  }
  /* Grow with the bytes that actually arrive, so that a bogus header
   * announcing gigabytes costs nothing before the input runs out. */
  b->len = 0;
  while (b->len < (size_t)len) {
    size_t want = (size_t)len - b->len;
    if (want > 65536) want = 65536;
    if (!cli_buf_reserve(b, b->len + want)) {
      *why = "out of memory";
      return -1;
    }
    size_t got_now = fread(b->data + b->len, 1, want, in);
    b->len += got_now;
    if (got_now < want) {
      *why = "input ends before the end of the frame";
      *offset = hlen + b->len;
      return -1;
    }
  }
  return 1;
}
