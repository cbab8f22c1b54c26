/*
 * cli/decode.c -- `isoflow decode`: wire messages to JSON, one object a line,
 * masked unless --unmasked.  Input is a binary stream of frames, or with
 * --hex one message a line as hex text (including the length header when
 * --frame is given).  Zero-length frames (keep-alives) are skipped.  Stops
 * at the first bad message with exit status 2 and
 * one line on stderr naming the message, the field and the offset.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "iso8583/encoding.h"

static const char help[] =
    "usage: isoflow decode --spec NAME|FILE [--hex] [--frame FRAME] [--unmasked] [FILE|-]\n"
    "\n"
    "Reads ISO 8583 messages and prints each as one JSON object a line, keyed by\n"
    "field number (\"0\" the MTI), binary fields as upper-case hex:\n"
    "  {\"0\":\"0800\",\"7\":\"0420090613\",\"11\":\"900001\",\"70\":\"001\"}\n"
    "\n"
    "  --spec NAME|FILE  a built-in spec (isoflow spec list) or a JSON spec file\n"
    "  --hex             input is hex text, one message a line\n"
    "  --frame FRAME     none (default), len2, len4, ascii4 or bcd2: the length\n"
    "                    header before each message; binary input with none is\n"
    "                    one message; a frame over 65535 bytes is refused\n"
    "  --unmasked        show PAN, tracks, PIN blocks, CVV and ICC data in clear\n"
    "\n"
    "Exit status 2 on bad input, with the message, field and offset on stderr.\n";

typedef struct decoder {
  const char *unit; /* "line" or "frame", for error reports */
  const iso_spec *spec;
  cli_opts opts;
  iso_msg msg;
  char *json;
  size_t json_cap;
} decoder;

/* Decodes one message and prints it; 0 or the exit status. */
static int decode_one(decoder *d, size_t n, const uint8_t *data, size_t len) {
  iso_error err = {0};
  int rc = iso_msg_unpack(&d->msg, data, len, &err);
  if (rc) {
    err.code = rc;
    return cli_bad_input("decode", d->unit, n, &err);
  }
  unsigned flags = d->opts.unmasked ? ISO_SHOW_UNMASKED : ISO_SHOW_MASKED;
  size_t need = 0;
  while ((rc = iso_msg_to_json(&d->msg, flags, d->json, d->json_cap, &need)) ==
         ISO_E_NOSPC) {
    char *bigger = realloc(d->json, need + 1);
    if (!bigger) break;
    d->json = bigger;
    d->json_cap = need + 1;
  }
  if (rc) {
    fprintf(stderr, "isoflow decode: %s %zu: %s\n", d->unit, n, iso_strerror(rc));
    return CLI_FAIL;
  }
  puts(d->json);
  return CLI_OK;
}

/* Strips and checks the length header of an in-memory frame (one hex line)
 * with conn's splitter: the frame must fill the line exactly.  *len becomes 0
 * for a keep-alive. */
static int unframe(decoder *d, size_t n, const uint8_t **data, size_t *len) {
  if (!d->opts.frame.framed) return CLI_OK;
  iso_error err = {.code = ISO_E_BAD_FRAME, .field = -1};
  iso_frame fr;
  int rc = iso_frame_split(&d->opts.frame.framing, *data, *len, &fr);
  if (rc < 0 && rc != ISO_E_NEED_MORE) { /* the prefix itself is bad */
    err.code = rc;
    err.reason = cli_frame_reason(rc);
    return cli_bad_input("decode", d->unit, n, &err);
  }
  if (rc < 0 || (size_t)rc != *len) { /* the line is shorter or longer */
    err.reason = "length header does not match the message length";
    return cli_bad_input("decode", d->unit, n, &err);
  }
  *data = fr.payload;
  *len = fr.len;
  return CLI_OK;
}

static int decode_hex_lines(decoder *d, FILE *in) {
  char *line = NULL;
  size_t line_cap = 0, n = 0;
  cli_buf bytes = {0};
  ssize_t got;
  int status = CLI_OK;
  while (status == CLI_OK && (got = getline(&line, &line_cap, in)) >= 0) {
    n++;
    size_t len = (size_t)got;
    while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
                   line[len - 1] == ' ' || line[len - 1] == '\t'))
      len--;
    if (len == 0) continue;
    size_t bad = 0;
    iso_error err = {.code = ISO_E_MALFORMED, .field = -1};
    if (!cli_buf_reserve(&bytes, len / 2 + 1)) {
      status = CLI_FAIL;
      break;
    }
    if (iso__hex_decode(line, len, bytes.data, &bad)) {
      err.offset = len % 2 ? len : bad;
      err.reason = len % 2 ? "odd number of hex digits" : "not a hex digit";
      status = cli_bad_input("decode", d->unit, n, &err);
      break;
    }
    const uint8_t *data = bytes.data;
    size_t mlen = len / 2;
    status = unframe(d, n, &data, &mlen);
    if (status == CLI_OK && mlen) status = decode_one(d, n, data, mlen);
  }
  free(line);
  free(bytes.data);
  return status;
}

static int decode_frames(decoder *d, FILE *in) {
  cli_buf frame = {0};
  int status = CLI_OK;
  for (size_t n = 1; status == CLI_OK; n++) {
    const char *why = NULL;
    size_t offset = 0;
    int rc = cli_frame_read(in, &d->opts.frame, &frame, &why, &offset);
    if (rc == 0) break;
    if (rc < 0) {
      iso_error err = {.code = ISO_E_BAD_FRAME, .field = -1, .offset = offset,
                       .reason = why};
      status = cli_bad_input("decode", d->unit, n, &err);
      break;
    }
    if (!d->opts.frame.framed) {
      status = decode_one(d, n, frame.data, frame.len);
      break;
    }
    if (frame.len == 0) continue; /* a zero-length keep-alive */
    status = decode_one(d, n, frame.data, frame.len);
  }
  free(frame.data);
  return status;
}

int cli_decode(int argc, char **argv) {
  decoder d = {0};
  int status = cli_parse_opts(argc, argv, true, help, &d.opts);
  if (status >= 0) return status;
  if ((status = cli_open_spec("decode", d.opts.spec, &d.spec))) return status;
  FILE *in = cli_open_input("decode", d.opts.input);
  if (!in) {
    iso_spec_free(d.spec);
    return CLI_FAIL;
  }
  d.unit = d.opts.hex ? "line" : "frame";
  iso_msg_init(&d.msg, d.spec);
  status = d.opts.hex ? decode_hex_lines(&d, in) : decode_frames(&d, in);
  iso_msg_cleanup(&d.msg);
  free(d.json);
  if (in != stdin) fclose(in);
  iso_spec_free(d.spec);
  if (status == CLI_OK && fflush(stdout)) status = CLI_FAIL;
  return status;
}
