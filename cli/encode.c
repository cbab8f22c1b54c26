/*
 * cli/encode.c -- `isoflow encode`: JSON objects, one a line (as `isoflow
 * decode` prints them), to the wire form.  Output is a binary stream of
 * frames, or with --hex one message a line as hex text; --frame puts the
 * length header before each message in either form.  Stops at the first bad
 * message with exit status 2 and one line on stderr naming the line, the
 * field and the offset.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "iso8583/encoding.h"

static const char help[] =
    "usage: isoflow encode --spec NAME|FILE [--hex] [--frame FRAME] [FILE|-]\n"
    "\n"
    "Reads JSON objects, one a line, keyed by field number (\"0\" the MTI, binary\n"
    "fields as hex), and writes each message in wire form:\n"
    "  {\"0\":\"0800\",\"7\":\"0420090613\",\"11\":\"900001\",\"70\":\"001\"}\n"
    "\n"
    "  --spec NAME|FILE  a built-in spec (isoflow spec list) or a JSON spec file\n"
    "  --hex             write hex text, one message a line\n"
    "  --frame FRAME     none (default), len2, len4, ascii4 or bcd2: a length\n"
    "                    header before each message (at most 65535 bytes;\n"
    "                    9999 with ascii4 and bcd2)\n"
    "\n"
    "Exit status 2 on bad input, with the line, field and offset on stderr.\n";

typedef struct encoder {
  const iso_spec *spec;
  cli_opts opts;
  iso_msg msg;
  cli_buf out; /* header + message */
  char *hex;
  size_t hex_cap;
} encoder;

/* Packs d->msg after the frame header into d->out; 0 or the exit status. */
static int pack(encoder *d, size_t n) {
  size_t hlen = cli_frame_prefix_size(&d->opts.frame), len = 0;
  iso_error err = {0};
  int rc;
  for (;;) {
    size_t cap = d->out.cap > hlen ? d->out.cap - hlen : 0;
    rc = iso_msg_pack(&d->msg, d->out.cap ? d->out.data + hlen : NULL, cap, &len, &err);
    if (rc != ISO_E_NOSPC || cap >= len) break;
    if (!cli_buf_reserve(&d->out, hlen + len)) return CLI_FAIL;
  }
  if (rc) {
    err.code = rc;
    return cli_bad_input("encode", "line", n, &err);
  }
  if (d->opts.frame.framed &&
      iso_frame_put_prefix(&d->opts.frame.framing, len, d->out.data) < 0) {
    iso_error big = {.code = ISO_E_FRAME_TOO_LARGE, .field = -1, .offset = len,
                     .reason = "message longer than the frame maximum"};
    return cli_bad_input("encode", "line", n, &big);
  }
  d->out.len = hlen + len;
  return CLI_OK;
}

static int write_out(encoder *d) {
  if (!d->opts.hex)
    return fwrite(d->out.data, 1, d->out.len, stdout) == d->out.len ? CLI_OK : CLI_FAIL;
  if (d->hex_cap < 2 * d->out.len + 1) {
    char *bigger = realloc(d->hex, 2 * d->out.len + 1);
    if (!bigger) return CLI_FAIL;
    d->hex = bigger;
    d->hex_cap = 2 * d->out.len + 1;
  }
  iso__hex_encode(d->out.data, d->out.len, d->hex);
  d->hex[2 * d->out.len] = '\n';
  return fwrite(d->hex, 1, 2 * d->out.len + 1, stdout) == 2 * d->out.len + 1 ? CLI_OK
                                                                               : CLI_FAIL;
}

static int encode_lines(encoder *d, FILE *in) {
  char *line = NULL;
  size_t line_cap = 0, n = 0;
  ssize_t got;
  int status = CLI_OK;
  if (!cli_buf_reserve(&d->out, 4096)) return CLI_FAIL;
  while (status == CLI_OK && (got = getline(&line, &line_cap, in)) >= 0) {
    n++;
    size_t len = (size_t)got, start = 0;
    while (start < len && strchr(" \t\r\n", line[start])) start++;
    if (start == len) continue;
    iso_error err = {0};
    int rc = iso_msg_from_json(&d->msg, line, len, &err);
    if (rc) {
      err.code = rc;
      status = cli_bad_input("encode", "line", n, &err);
      break;
    }
    status = pack(d, n);
    if (status == CLI_OK) status = write_out(d);
  }
  free(line);
  return status;
}

int cli_encode(int argc, char **argv) {
  encoder d = {0};
  int status = cli_parse_opts(argc, argv, false, help, &d.opts);
  if (status >= 0) return status;
  if ((status = cli_open_spec("encode", d.opts.spec, &d.spec))) return status;
  FILE *in = cli_open_input("encode", d.opts.input);
  if (!in) {
    iso_spec_free(d.spec);
    return CLI_FAIL;
  }
  iso_msg_init(&d.msg, d.spec);
  status = encode_lines(&d, in);
  iso_msg_cleanup(&d.msg);
  free(d.out.data);
  free(d.hex);
  if (in != stdin) fclose(in);
  iso_spec_free(d.spec);
  if (status == CLI_OK && fflush(stdout)) status = CLI_FAIL;
  return status;
}
